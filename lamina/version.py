"""lamina's version (``lamina.__version__``, ``lamina.version()``)."""

__version__ = "0.1.0"


def version():
    """The installed lamina version, as ``keras.version()``."""
    return __version__
