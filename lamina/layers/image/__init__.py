"""Image preprocessing and augmentation layers (Keras 3's image family of ``keras.layers``).

Every layer follows ``base.BaseImagePreprocessingLayer``: per-image parameters drawn once per batch by
``get_random_transformation``, applied by ``transform_images`` (and the labels, bounding boxes and
segmentation masks of dict inputs); see docs/preprocessing.md.
"""

from lamina.layers.image.affine import (RandomPerspective, RandomRotation, RandomShear, RandomTranslation,  # noqa: F401
                                        RandomZoom)
from lamina.layers.image.base import BaseImagePreprocessingLayer  # noqa: F401
from lamina.layers.image.color import (RandomBrightness, RandomColorDegeneration, RandomContrast,  # noqa: F401
                                       RandomGrayscale, RandomHue, RandomInvert, RandomPosterization,
                                       RandomSaturation, Solarization)
from lamina.layers.image.composite import AugMix, RandAugment, RandomColorJitter  # noqa: F401
from lamina.layers.image.filters import AutoContrast, Equalization, RandomGaussianBlur, RandomSharpness  # noqa: F401
from lamina.layers.image.flip_crop import RandomCrop, RandomFlip  # noqa: F401
from lamina.layers.image.pipeline import Pipeline  # noqa: F401
from lamina.layers.image.regions import CutMix, MixUp, RandomErasing  # noqa: F401
from lamina.layers.image.resizing import CenterCrop, Resizing  # noqa: F401
