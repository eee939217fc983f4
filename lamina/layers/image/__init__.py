"""Image preprocessing and augmentation layers (Keras 3's ``keras.layers`` image family)."""

from lamina.layers.image.affine import (RandomPerspective, RandomRotation, RandomShear, RandomTranslation,  # noqa: F401
                                        RandomZoom)
from lamina.layers.image.base import BaseImagePreprocessingLayer  # noqa: F401
from lamina.layers.image.flip_crop import RandomCrop, RandomFlip  # noqa: F401
from lamina.layers.image.resizing import CenterCrop, Resizing  # noqa: F401
