"""Preprocessing layers: numerical features, hashing, lookups and text (Keras's ``keras.layers`` names).

Layers with state learned from data share ``PreprocessingLayer``'s ``adapt`` protocol; text travels
as NumPy string arrays (torch has no string tensors) and every output is a torch tensor, except the
strings an inverted ``StringLookup`` returns.
"""

from lamina.layers.preprocessing.base import DataLayer, PreprocessingLayer
from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.normalization import Normalization
from lamina.layers.preprocessing.rescaling import Rescaling

__all__ = ["CategoryEncoding", "DataLayer", "Discretization", "Normalization", "PreprocessingLayer", "Rescaling"]
