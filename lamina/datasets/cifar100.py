"""CIFAR-100, 32x32 colour images in 100 classes grouped in 20 superclasses:
``(x_train, y_train), (x_test, y_test)``.

``x_train`` uint8 ``(50000, 32, 32, 3)``, ``x_test`` uint8 ``(10000, 32, 32, 3)`` (``(n, 3, 32, 32)`` when
``image_data_format()`` is "channels_first"), pixels 0-255; ``y_train`` int64 ``(50000, 1)``, ``y_test``
int64 ``(10000, 1)``: the fine labels 0-99 or, with ``label_mode="coarse"``, the superclasses 0-19. Read
from Keras's copy of ``cifar-100-python.tar.gz``, ``$KERAS_HOME/datasets/cifar-100-python-target_archive``,
extracted beside it; its pickled batches are read by the numpy-only unpickler.
"""

import os

import numpy as np

from lamina.datasets._loading import read_cifar_batch, to_image_data_format
from lamina.utils.file_utils import get_file

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"


def load_data(label_mode="fine"):
    """The CIFAR-100 arrays, as ``keras.datasets.cifar100.load_data``."""
    if label_mode not in ["fine", "coarse"]:
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.')
    path = get_file(fname="cifar-100-python-target", origin=_ORIGIN, extract=True,
                    file_hash="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7")
    path = os.path.join(path, "cifar-100-python")
    x_train, y_train = read_cifar_batch(os.path.join(path, "train"), _ORIGIN, label_key=f"{label_mode}_labels")
    x_test, y_test = read_cifar_batch(os.path.join(path, "test"), _ORIGIN, label_key=f"{label_mode}_labels")
    y_train, y_test = np.reshape(y_train, (len(y_train), 1)), np.reshape(y_test, (len(y_test), 1))
    return (to_image_data_format(x_train), y_train), (to_image_data_format(x_test), y_test)
