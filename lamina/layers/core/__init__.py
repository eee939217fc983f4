"""Core layers: Dense, Embedding, Activation, Identity, Masking, Lambda."""

from lamina.layers.core.dense import Dense
from lamina.layers.core.embedding import Embedding

__all__ = ["Dense", "Embedding"]
