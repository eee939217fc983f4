"""MNIST handwritten digits: ``(x_train, y_train), (x_test, y_test)``.

``x_train`` uint8 ``(60000, 28, 28)`` and ``x_test`` uint8 ``(10000, 28, 28)``, pixels 0-255; ``y_train``
uint8 ``(60000,)`` and ``y_test`` uint8 ``(10000,)``, digits 0-9. Read from ``$KERAS_HOME/datasets/mnist.npz``.
"""

from lamina.datasets._loading import KERAS_ORIGIN, read_npz
from lamina.utils.file_utils import get_file


def load_data(path="mnist.npz"):
    """The MNIST arrays, as ``keras.datasets.mnist.load_data``; ``path`` is the file's name in the cache."""
    origin = f"{KERAS_ORIGIN}mnist.npz"
    path = get_file(fname=path, origin=origin,
                    file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")
    x_train, y_train, x_test, y_test = read_npz(path, origin, ("x_train", "y_train", "x_test", "y_test"))
    return (x_train, y_train), (x_test, y_test)
