"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector."""

from lamina.layers.reshaping.flatten import Flatten
from lamina.layers.reshaping.reshape import Permute, RepeatVector, Reshape

__all__ = ["Flatten", "Permute", "RepeatVector", "Reshape"]
