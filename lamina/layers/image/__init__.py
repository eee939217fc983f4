"""Image preprocessing and augmentation layers (Keras 3's image family of ``keras.layers``).

Every layer follows ``base.BaseImagePreprocessingLayer``: per-image parameters drawn once per batch by
``get_random_transformation``, applied by ``transform_images`` (and the labels, bounding boxes and
segmentation masks of dict inputs); see docs/preprocessing.md.
"""

from lamina.layers.image.affine import RandomPerspective, RandomRotation, RandomShear, RandomTranslation, RandomZoom
from lamina.layers.image.color import (RandomBrightness, RandomColorDegeneration, RandomContrast, RandomGrayscale,
                                       RandomHue, RandomInvert, RandomPosterization, RandomSaturation, Solarization)
from lamina.layers.image.composite import AugMix, RandAugment, RandomColorJitter
from lamina.layers.image.elastic import RandomElasticTransform
from lamina.layers.image.filters import AutoContrast, Equalization, RandomGaussianBlur, RandomSharpness
from lamina.layers.image.flip_crop import RandomCrop, RandomFlip
from lamina.layers.image.histogram_equalization import ContrastLimitedAdaptiveHistogramEqualization
from lamina.layers.image.max_num_bounding_boxes import MaxNumBoundingBoxes
from lamina.layers.image.pipeline import Pipeline
from lamina.layers.image.regions import CutMix, MixUp, RandomErasing
from lamina.layers.image.resizing import CenterCrop, Resizing

__all__ = ["Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
           "RandomShear", "RandomPerspective", "RandomBrightness", "RandomContrast", "RandomColorDegeneration",
           "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomInvert", "RandomPosterization", "Solarization",
           "RandomSharpness", "RandomGaussianBlur", "AutoContrast", "Equalization", "RandomErasing", "CutMix",
           "MixUp", "RandomColorJitter", "RandAugment", "AugMix", "Pipeline",
           "ContrastLimitedAdaptiveHistogramEqualization", "MaxNumBoundingBoxes", "RandomElasticTransform"]
