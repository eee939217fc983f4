"""Core layers: Dense, EinsumDense, Embedding, Activation, Identity, Masking, Lambda."""

from lamina.layers.core.dense import Dense
from lamina.layers.core.einsum_dense import EinsumDense
from lamina.layers.core.embedding import Embedding
from lamina.layers.core.lambda_layer import Lambda
from lamina.layers.core.simple import Activation, Identity, Masking

__all__ = ["Activation", "Dense", "EinsumDense", "Embedding", "Identity", "Lambda", "Masking"]
