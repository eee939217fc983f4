"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax and Keras 2's ThresholdedReLU."""

from lamina.layers.activations.prelu import PReLU
from lamina.layers.activations.relu import ELU, LeakyReLU, ReLU, ThresholdedReLU
from lamina.layers.activations.softmax import Softmax

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU"]
