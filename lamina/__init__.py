"""lamina: the Keras layers-and-models API, implemented natively on PyTorch."""

__version__ = "0.1.0"

from lamina import config  # noqa: E402,F401
