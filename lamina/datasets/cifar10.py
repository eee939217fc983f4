"""CIFAR-10, 32x32 colour images in ten classes: ``(x_train, y_train), (x_test, y_test)``.

``x_train`` uint8 ``(50000, 32, 32, 3)``, ``x_test`` uint8 ``(10000, 32, 32, 3)`` (``(n, 3, 32, 32)`` when
``image_data_format()`` is "channels_first"), pixels 0-255; ``y_train`` uint8 ``(50000, 1)``, ``y_test``
uint8 ``(10000, 1)``, labels 0-9 (airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck).
Read from Keras's copy of ``cifar-10-python.tar.gz``, ``$KERAS_HOME/datasets/cifar-10-batches-py-target_archive``,
extracted beside it; its pickled batches are read by the numpy-only unpickler.
"""

import os

import numpy as np

from lamina.datasets._loading import read_cifar_batch, to_image_data_format
from lamina.utils.file_utils import get_file

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def load_data():
    """The CIFAR-10 arrays, as ``keras.datasets.cifar10.load_data``."""
    path = get_file(fname="cifar-10-batches-py-target", origin=_ORIGIN, extract=True,
                    file_hash="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")
    path = os.path.join(path, "cifar-10-batches-py")
    x_train = np.empty((50000, 3, 32, 32), dtype="uint8")
    y_train = np.empty((50000,), dtype="uint8")
    for i in range(5):
        x_train[i * 10000:(i + 1) * 10000], y_train[i * 10000:(i + 1) * 10000] = read_cifar_batch(
            os.path.join(path, f"data_batch_{i + 1}"), _ORIGIN)
    x_test, y_test = read_cifar_batch(os.path.join(path, "test_batch"), _ORIGIN)
    y_train, y_test = np.reshape(y_train, (len(y_train), 1)), np.reshape(y_test, (len(y_test), 1))
    x_train, x_test = to_image_data_format(x_train), to_image_data_format(x_test)
    return (x_train, y_train), (x_test.astype(x_train.dtype), y_test.astype(y_train.dtype))
