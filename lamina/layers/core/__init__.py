"""Core layers: Dense, EinsumDense, Embedding, ReversibleEmbedding, Activation, Identity, Masking, Lambda, Wrapper,
TorchModuleWrapper, and Keras 2's RandomFourierFeatures."""

from lamina.layers.core.dense import Dense
from lamina.layers.core.einsum_dense import EinsumDense
from lamina.layers.core.embedding import Embedding
from lamina.layers.core.lambda_layer import Lambda
from lamina.layers.core.random_fourier_features import RandomFourierFeatures
from lamina.layers.core.reversible_embedding import ReversibleEmbedding
from lamina.layers.core.simple import Activation, Identity, Masking
from lamina.layers.core.torch_module_wrapper import TorchModuleWrapper
from lamina.layers.core.wrapper import Wrapper

__all__ = ["Activation", "Dense", "EinsumDense", "Embedding", "ReversibleEmbedding", "Identity", "Lambda", "Masking",
           "Wrapper", "TorchModuleWrapper", "RandomFourierFeatures"]
