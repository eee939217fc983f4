"""``keras.preprocessing.sequence``: ``pad_sequences`` of ``lamina.utils``."""

from lamina.utils import pad_sequences  # noqa: F401
