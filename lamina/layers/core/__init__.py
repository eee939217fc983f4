"""Core layers: Dense, Embedding, Activation, Identity, Masking, Lambda."""

from lamina.layers.core.dense import Dense
from lamina.layers.core.embedding import Embedding
from lamina.layers.core.lambda_layer import Lambda
from lamina.layers.core.simple import Activation, Identity, Masking

__all__ = ["Activation", "Dense", "Embedding", "Identity", "Lambda", "Masking"]
