"""Augmentations built from the others: RandomColorJitter, RandAugment, AugMix.

Their sublayers draw from the composite's own seed stream (as Keras passes its seed generator down), so a
seeded composite is reproducible as a whole; the transformation is a dict of the sublayers' ones.
"""

import torch

from lamina.layers.image import randomness
from lamina.layers.image.affine import RandomRotation, RandomShear, RandomTranslation
from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.layers.image.color import (RandomBrightness, RandomColorDegeneration, RandomContrast, RandomHue,
                                       RandomPosterization, RandomSaturation, Solarization)
from lamina.layers.image.filters import AutoContrast, Equalization, RandomSharpness
from lamina.layers.image.geometry import INTERPOLATIONS
from lamina.ops.arguments import check_positive_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class RandomColorJitter(BaseImagePreprocessingLayer):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue in that order, each present when
    its factor is given (see those layers for the factors' meaning)."""

    _USE_BASE_FACTOR = False
    _PARTS = (("brightness", RandomBrightness), ("contrast", RandomContrast), ("saturation", RandomSaturation),
              ("hue", RandomHue))

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = self._check_value_range(value_range, sort=False)
        factors = [tuple(f) if isinstance(f, list) else f
                   for f in (brightness_factor, contrast_factor, saturation_factor, hue_factor)]
        self.brightness_factor, self.contrast_factor, self.saturation_factor, self.hue_factor = factors
        self._set_seed(seed)
        self._parts = {}
        for name, cls in self._PARTS:
            factor = getattr(self, f"{name}_factor")
            if factor is not None:
                try:
                    layer = cls(factor, value_range=value_range, seed=seed, data_format=self.data_format)
                except (ValueError, TypeError) as error:
                    raise type(error)(f"RandomColorJitter '{self.name}': invalid `{name}_factor` ({error}).") from None
                setattr(self, f"random_{name}", layer)
                self._parts[name] = layer

    def get_random_transformation(self, images, training=True, seed=None):
        stream = seed or self._stream
        return {name: layer.get_random_transformation(images, training, seed=stream)
                for name, layer in self._parts.items()}

    def _transform(self, images, transformation):
        for name, layer in self._parts.items():
            images = layer.transform_images(images, transformation[name])
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor, "saturation_factor": self.saturation_factor,
                "hue_factor": self.hue_factor, "seed": self.seed}


class BaseOperationPool(BaseImagePreprocessingLayer):
    """Holds the pool of operations RandAugment and AugMix choose from, all built from one ``factor``."""

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, value_range, factor, interpolation, seed, data_format, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.value_range = self._check_value_range(value_range, sort=False)
        self.interpolation = self._choice(interpolation, "interpolation", INTERPOLATIONS)
        self._set_seed(seed)
        geometry = dict(interpolation=interpolation, seed=seed, data_format=self.data_format,
                        bounding_box_format=self.bounding_box_format)
        tone = dict(value_range=value_range, data_format=self.data_format)
        color = dict(tone, seed=seed)
        factor = self.factor
        self.random_shear = RandomShear(x_factor=factor, y_factor=factor, **geometry)
        self.random_translation = RandomTranslation(height_factor=factor, width_factor=factor, **geometry)
        self.random_rotation = RandomRotation(factor=factor, **geometry)
        self.random_brightness = RandomBrightness(factor=factor, **color)
        self.random_color_degeneration = RandomColorDegeneration(factor=factor, **color)
        self.random_contrast = RandomContrast(factor=factor, **color)
        self.random_sharpness = RandomSharpness(factor=factor, **color)
        self.random_posterization = RandomPosterization(factor=max(1, int(8 * factor[1])), **color)
        self.solarization = Solarization(addition_factor=factor, threshold_factor=factor, **color)
        self.auto_contrast = AutoContrast(**tone)
        self.equalization = Equalization(**tone)

    def _operations(self):
        return [getattr(self, name) for name in self._operation_names]

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        for layer, layer_transformation in self._applied(transformation):
            bounding_boxes = layer.transform_bounding_boxes(bounding_boxes, layer_transformation, training)
        return bounding_boxes


@register_builtin("keras.layers")
class RandAugment(BaseOperationPool):
    """Applies ``num_ops`` operations chosen at random (once per batch) from 11 (shear, translation, rotation,
    brightness, colour degeneration, contrast, sharpness, posterization, solarization, auto-contrast,
    equalization), each with magnitudes from ``factor`` (Cubuk et al., 2019)."""

    _operation_names = ("random_shear", "random_translation", "random_rotation", "random_brightness",
                   "random_color_degeneration", "random_contrast", "random_sharpness", "random_posterization",
                   "solarization", "auto_contrast", "equalization")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(value_range, factor, interpolation, seed, data_format, **kwargs)
        self.num_ops = check_positive_int(num_ops, "num_ops", "RandAugment")

    def get_random_transformation(self, images, training=True, seed=None):
        stream = seed or self._stream
        # The choice picks Python-side layers, so it is drawn on the CPU (no device sync to read it).
        choices = randomness.randint(stream, (self.num_ops,), 0, len(self._operation_names), device="cpu")
        return {"transforms": {name: layer.get_random_transformation(images, training, seed=stream)
                               for name, layer in zip(self._operation_names, self._operations())},
                "layer_idxes": choices}

    def _applied(self, transformation):
        for index in transformation["layer_idxes"].tolist():
            name = self._operation_names[index]
            yield getattr(self, name), transformation["transforms"][name]

    def _transform(self, images, transformation):
        for layer, layer_transformation in self._applied(transformation):
            images = layer.transform_images(images, layer_transformation)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "num_ops": self.num_ops,
                "factor": self.factor, "interpolation": self.interpolation, "seed": self.seed}


@register_builtin("keras.layers")
class AugMix(BaseOperationPool):
    """AugMix (Hendrycks et al., 2020): ``num_chains`` chains of up to ``chain_depth`` random operations,
    mixed with Dirichlet(``alpha``) weights, then blended with the original by a Beta(``alpha``, ``alpha``)
    weight; clipped to ``value_range``. ``all_ops`` adds brightness, colour degeneration, contrast and
    sharpness to the 7 base operations. The chains are drawn once per batch, from the layer's seed."""

    _BASE_OPERATIONS = ("random_shear", "random_translation", "random_rotation", "random_posterization",
                        "solarization", "auto_contrast", "equalization")
    _EXTRA_OPERATIONS = ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(value_range, factor, interpolation, seed, data_format, **kwargs)
        self.num_chains = check_positive_int(num_chains, "num_chains", "AugMix")
        self.chain_depth = check_positive_int(chain_depth, "chain_depth", "AugMix")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"AugMix: the `alpha` argument must be a positive number. Received: alpha={alpha!r}")
        self.alpha = alpha
        self.all_ops = bool(all_ops)
        self._operation_names = self._BASE_OPERATIONS + (self._EXTRA_OPERATIONS if self.all_ops else ())

    def get_random_transformation(self, images, training=True, seed=None):
        stream = seed or self._stream
        gammas = randomness.gamma(stream, (self.num_chains,), self.alpha, device=images.device)
        weight = randomness.beta(stream, (), self.alpha, self.alpha, device=images.device)
        # Keras picks the operations with Python's unseeded `random`; here they come from the layer's seed:
        # each step is one of the operations or nothing (the last index).
        picks = randomness.randint(stream, (self.num_chains, self.chain_depth), 0, len(self._operation_names) + 1,
                                   device="cpu").tolist()
        chains = [[{"layer_name": self._operation_names[pick],
                    "transformation": getattr(self, self._operation_names[pick]).get_random_transformation(
                        images, training, seed=stream)}
                   for pick in chain if pick < len(self._operation_names)] for chain in picks]
        return {"chain_mixing_weights": gammas / gammas.sum(dim=-1, keepdim=True), "weight_sample": weight,
                "chain_transforms": chains}

    def _applied(self, transformation):
        for chain in transformation["chain_transforms"]:
            for step in chain:
                yield getattr(self, step["layer_name"]), step["transformation"]

    def _transform(self, images, transformation):
        weights = transformation["chain_mixing_weights"].to(images.dtype)
        blend = transformation["weight_sample"].to(images.dtype)
        mixed = torch.zeros_like(images)
        for index, chain in enumerate(transformation["chain_transforms"]):
            augmented = images
            for step in chain:
                augmented = getattr(self, step["layer_name"]).transform_images(augmented, step["transformation"])
            mixed = mixed + augmented * weights[index]
        return torch.clip(blend * images + (1 - blend) * mixed, *self.value_range)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes  # the mixed chains move boxes differently: returned unchanged, as Keras does

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": self.factor, "alpha": self.alpha,
                "all_ops": self.all_ops, "interpolation": self.interpolation, "seed": self.seed}
