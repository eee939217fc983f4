"""Fashion-MNIST, ten kinds of clothing: ``(x_train, y_train), (x_test, y_test)``.

``x_train`` uint8 ``(60000, 28, 28)``, ``x_test`` uint8 ``(10000, 28, 28)``; ``y_train`` uint8 ``(60000,)``,
``y_test`` uint8 ``(10000,)``, labels 0-9 (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt,
Sneaker, Bag, Ankle boot). Read from the four gzipped idx files in ``$KERAS_HOME/datasets/fashion-mnist/``.
"""

import os

from lamina.datasets._loading import KERAS_ORIGIN, read_idx
from lamina.utils.file_utils import get_file

_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz")


def load_data():
    """The Fashion-MNIST arrays, as ``keras.datasets.fashion_mnist.load_data``."""
    origins = [KERAS_ORIGIN + name for name in _FILES]
    paths = [get_file(name, origin=origin, cache_subdir=os.path.join("datasets", "fashion-mnist"))
             for name, origin in zip(_FILES, origins)]
    y_train = read_idx(paths[0], origins[0], offset=8)
    x_train = read_idx(paths[1], origins[1], offset=16, shape=(len(y_train), 28, 28))
    y_test = read_idx(paths[2], origins[2], offset=8)
    x_test = read_idx(paths[3], origins[3], offset=16, shape=(len(y_test), 28, 28))
    return (x_train, y_train), (x_test, y_test)
