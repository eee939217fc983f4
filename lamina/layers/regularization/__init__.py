"""Regularization layers: dropout variants, noise, activity regularization."""

from lamina.layers.regularization.dropout import Dropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from lamina.layers.regularization.noise import ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise

__all__ = ["ActivityRegularization", "AlphaDropout", "Dropout", "GaussianDropout", "GaussianNoise",
           "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]
