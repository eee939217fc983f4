"""Merge layers (a list of tensors in, one out) and their functional forms."""

from lamina.layers.merging.concatenate import Concatenate, concatenate
from lamina.layers.merging.dot import Dot, dot
from lamina.layers.merging.elementwise import (Add, Average, Maximum, Minimum, Multiply, Subtract, add, average,
                                               maximum, minimum, multiply, subtract)

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]
