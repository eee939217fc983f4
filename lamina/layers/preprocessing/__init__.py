"""Preprocessing layers: numerical features, hashing, lookups and text (Keras's ``keras.layers`` names).

Layers with state learned from data share ``PreprocessingLayer``'s ``adapt`` protocol; text travels
as NumPy string arrays (torch has no string tensors) and every output is a torch tensor, except the
strings an inverted ``StringLookup`` returns.
"""

from lamina.layers.preprocessing.base import DataLayer, PreprocessingLayer
from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.hashing import HashedCrossing, Hashing
from lamina.layers.preprocessing.integer_lookup import IntegerLookup
from lamina.layers.preprocessing.normalization import Normalization
from lamina.layers.preprocessing.rescaling import Rescaling
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.layers.preprocessing.text_vectorization import TextVectorization

__all__ = ["CategoryEncoding", "DataLayer", "Discretization", "HashedCrossing", "Hashing", "IntegerLookup",
           "Normalization", "PreprocessingLayer", "Rescaling", "StringLookup", "TextVectorization"]
