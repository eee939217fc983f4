"""Keras's built-in datasets, as ``keras.datasets``, read from Keras's cache (``$KERAS_HOME/datasets``).

lamina never downloads: a dataset missing from the cache raises ``FileNotFoundError`` naming its URL and
the path to put it at, so a cache that Keras filled serves lamina unchanged. Files are checked against
Keras's hashes, and no file's pickle can run code (``_loading``; docs/utils.md).
"""

from lamina.datasets import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist,  # noqa: F401
                             imdb, mnist, reuters)
