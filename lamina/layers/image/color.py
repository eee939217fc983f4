"""Per-pixel colour augmentations: brightness, contrast, colour degeneration, grayscale, inversion, hue,
saturation, posterization, solarization.

Each draws one parameter per image (shape (batch,) or (batch, 1, 1, 1), as Keras) and works in the
images' ``value_range`` (default (0, 255)). Bounding boxes, labels and masks pass through unchanged.
"""

import torch

from lamina.layers.image import randomness
from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.layers.image.colorspace import rgb_to_grayscale, transform_value_range
from lamina.ops.image import hsv_from_rgb, rgb_from_hsv
from lamina.registry import register_builtin


class BaseColorLayer(BaseImagePreprocessingLayer):
    """A colour augmentation with a ``factor``, a ``value_range`` and a ``seed``."""

    _SORTS_VALUE_RANGE = True  # the Keras layers that sort value_range store it as a sorted list

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor=factor, **kwargs)
        self.value_range = self._check_value_range(value_range, sort=self._SORTS_VALUE_RANGE)
        self._set_seed(seed)

    def _per_image(self, images):
        return (images.shape[0], 1, 1, 1)

    def get_config(self):
        config = {**super().get_config(), "value_range": self.value_range, "seed": self.seed}
        if self._USE_BASE_FACTOR:
            config["factor"] = self.factor
        return config


@register_builtin("keras.layers")
class RandomBrightness(BaseColorLayer):
    """Adds ``delta * (high - low)`` to every pixel, ``delta`` drawn per image from ``factor`` (in [-1, 1];
    ``f`` means ``[-f, f]``), then clips to ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        delta = self._uniform(seed, self._per_image(images), self.factor[0], self.factor[1], images)
        return {"rgb_delta": delta * (self.value_range[1] - self.value_range[0])}

    def _transform(self, images, transformation):
        return torch.clip(images + transformation["rgb_delta"].to(images.dtype), *self.value_range)


@register_builtin("keras.layers")
class RandomContrast(BaseColorLayer):
    """Scales each channel's deviation from its mean by a factor drawn per image from
    ``[1 - low, 1 + high]`` (``factor`` ``f``: low = high = f, as Keras documents), then clips to
    ``value_range``."""

    _FACTOR_BOUNDS = (0, 1)
    _SORTS_VALUE_RANGE = False

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed, **kwargs)

    def _set_factor(self, factor):
        # Keras 3.15's code draws from [1, 1 + f] for a number f; its documented rule (and Keras 2) is
        # [1 - f, 1 + f] (docs/keras_torch_departures.md).
        super()._set_factor(factor)
        if not isinstance(factor, (tuple, list)):
            self.factor = (self.factor[1], self.factor[1])

    def get_random_transformation(self, images, training=True, seed=None):
        return {"contrast_factor": self._uniform(seed, self._per_image(images), 1.0 - self.factor[0],
                                                 1.0 + self.factor[1], images, self._compute_torch_dtype)}

    def _transform(self, images, transformation):
        mean = images.mean(dim=(self.height_axis, self.width_axis), keepdim=True)
        return torch.clip((images - mean) * transformation["contrast_factor"] + mean, *self.value_range)


@register_builtin("keras.layers")
class RandomColorDegeneration(BaseColorLayer):
    """Blends each image towards its grayscale version by a factor drawn per image (``f``: ``[-f, f]``;
    negative values saturate), clipped to ``value_range``. Input: 3-channel images."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(factor, value_range, seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        return {"factor": self._uniform(seed, self._per_image(images), self.factor[0], self.factor[1], images)}

    def _transform(self, images, transformation):
        factor = transformation["factor"].to(images.dtype)
        gray = rgb_to_grayscale(images, self.channel_axis)
        return torch.clip(images + factor * (gray - images), *self.value_range)

    def compute_image_shape(self, input_shape):
        channels = input_shape[self.channel_axis]
        if channels is not None and channels != 3:
            raise ValueError(f"RandomColorDegeneration: images must have 3 channels. Received: input_shape="
                             f"{tuple(input_shape)}")
        return tuple(input_shape)


@register_builtin("keras.layers")
class RandomGrayscale(BaseImagePreprocessingLayer):
    """Turns each image to grayscale (kept with its channel count) with probability ``factor``."""

    _USE_BASE_FACTOR = False

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor <= 1:
            raise ValueError(f"RandomGrayscale: the `factor` argument must be a number in [0, 1]. "
                             f"Received: factor={factor!r}")
        self.factor = factor
        self._set_seed(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        draws = self._uniform(seed, (images.shape[0],), 0.0, 1.0, images)
        return (draws < self.factor)[:, None, None, None]

    def _transform(self, images, transformation):
        return torch.where(transformation, rgb_to_grayscale(images, self.channel_axis), images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}  # no seed: Keras 3.15 does not save it


class BaseProbabilityColorLayer(BaseColorLayer):
    """Applies its change to each image with a probability drawn per image from ``factor`` (in [0, 1])."""

    _FACTOR_BOUNDS = (0, 1)
    _SORTS_VALUE_RANGE = False

    def _apply_mask(self, images, seed):
        batch = (images.shape[0],)
        probability = self._uniform(seed, batch, self.factor[0], self.factor[1], images)
        return self._uniform(seed, batch, 0.0, 1.0, images) < probability


@register_builtin("keras.layers")
class RandomInvert(BaseProbabilityColorLayer):
    """Replaces ``x`` by ``high - x`` (``value_range`` high) in the images drawn."""

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor, value_range, seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        return {"apply_inversion": self._apply_mask(images, seed)}

    def _transform(self, images, transformation):
        return torch.where(transformation["apply_inversion"][:, None, None, None], self.value_range[1] - images,
                           images)


class BaseHSVLayer(BaseColorLayer):
    """A change made in HSV space on 3-channel RGB images."""

    def _hsv(self, images):
        return hsv_from_rgb(images, self.channel_axis)

    def _rgb(self, images):
        return rgb_from_hsv(images, self.channel_axis)

    def _replace_channel(self, images, index, channel):
        parts = list(images.unbind(self.channel_axis))
        parts[index] = channel
        return torch.stack(parts, dim=self.channel_axis)


@register_builtin("keras.layers")
class RandomHue(BaseHSVLayer):
    """Rotates each image's hue by ``±factor / 2`` of a turn, ``factor`` drawn per image from the range
    (in [0, 1]; ``f`` means ``[0, f]``) with a random sign."""

    _FACTOR_BOUNDS = (0, 1)
    _SORTS_VALUE_RANGE = False

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(factor, value_range, seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = (images.shape[0],)
        invert = self._uniform(seed, batch, 0.0, 1.0, images)
        invert = torch.where(invert > 0.5, -torch.ones_like(invert), torch.ones_like(invert))
        factor = self._uniform(seed, batch, self.factor[0], self.factor[1], images)
        return {"factor": invert * factor * 0.5}

    def _transform(self, images, transformation):
        images = self._hsv(transform_value_range(images, self.value_range, (0, 1)))
        hue = images.select(self.channel_axis, 0) + transformation["factor"].to(images.dtype)[:, None, None]
        hue = torch.where(hue > 1.0, hue - 1.0, hue)
        hue = torch.where(hue < 0.0, hue + 1.0, hue)
        images = torch.clip(self._rgb(self._replace_channel(images, 0, hue)), 0, 1)
        return transform_value_range(images, (0, 1), self.value_range)


@register_builtin("keras.layers")
class RandomSaturation(BaseHSVLayer):
    """Scales each image's saturation by ``f / (1 - f)``, ``f`` drawn per image from ``factor`` (in [0, 1];
    ``f`` means ``[0, f]``): 0 gives grayscale, 0.5 no change, 1 full saturation."""

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        # Keras 3.15 draws a number f from [-f, f] and clips the saturation to value_range; its documented rule
        # is [0, f], with saturation in [0, 1] (docs/keras_torch_departures.md).
        super().__init__(factor, value_range, seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        factor = self._uniform(seed, (images.shape[0],), self.factor[0], self.factor[1], images)
        return {"factor": factor / (1 - factor + 1e-7)}

    def _transform(self, images, transformation):
        images = self._hsv(images)
        factor = transformation["factor"].to(images.dtype)[:, None, None]
        saturation = torch.clip(images.select(self.channel_axis, 1) * factor, 0.0, 1.0)
        return self._rgb(self._replace_channel(images, 1, saturation))


@register_builtin("keras.layers")
class RandomPosterization(BaseColorLayer):
    """Keeps the top ``bits`` bits of each 8-bit channel value, ``bits`` drawn per image from
    ``[low, high)`` of ``factor`` (in [1, 8]; ``f`` means ``[1, f)``; a fixed number when low == high)."""

    _FACTOR_BOUNDS = (1, 8)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(factor, value_range, seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = (images.shape[0],)
        low, high = int(self.factor[0]), int(self.factor[1])
        if low != high:
            bits = randomness.randint(seed or self._stream, batch, low, high, torch.uint8, images.device)
        else:
            bits = torch.full(batch, low, dtype=torch.uint8, device=images.device)
        return {"shift_factor": 8 - bits}

    def _transform(self, images, transformation):
        shift = transformation["shift_factor"].reshape(-1, 1, 1, 1)
        levels = transform_value_range(images, self.value_range, (0, 255)).clamp(0, 255).to(torch.uint8)
        levels = torch.bitwise_left_shift(torch.bitwise_right_shift(levels, shift), shift)
        return transform_value_range(levels.to(images.dtype), (0, 255), self.value_range)


@register_builtin("keras.layers")
class Solarization(BaseColorLayer):
    """Adds a per-image amount (``addition_factor`` times 255) to the pixels, clips to [0, 255], and replaces
    each value ``x`` at or above a per-image threshold (``threshold_factor`` times 255) by ``255 - x``, in
    ``value_range`` terms. Each factor is a number ``f`` in [0, 1] (the range ``[0, f]``) or a pair."""

    _USE_BASE_FACTOR = False

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(None, value_range, seed, **kwargs)
        self.addition_factor = self._unit_range(addition_factor, "addition_factor")
        self.threshold_factor = self._unit_range(threshold_factor, "threshold_factor")

    def _unit_range(self, factor, name):
        values = factor if isinstance(factor, (tuple, list)) else (0, factor)
        if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
                                       for v in values):
            raise ValueError(f"Solarization: the `{name}` argument must be a number or a pair of numbers in "
                             f"[0, 1]. Received: {name}={factor!r}")
        return tuple(sorted(values))

    def get_random_transformation(self, images, training=True, seed=None):
        # Both ends of each range scale by 255, as documented (Keras 3.15 scales only the upper end; the same
        # for a single number): docs/keras_torch_departures.md.
        shape, dtype = self._per_image(images), self._compute_torch_dtype
        return {name: self._uniform(seed, shape, factor[0] * 255, factor[1] * 255, images, dtype)
                for name, factor in (("additions", self.addition_factor), ("thresholds", self.threshold_factor))}

    def _transform(self, images, transformation):
        images = transform_value_range(images, self.value_range, (0, 255))
        images = torch.clip(images + transformation["additions"], 0, 255)
        images = torch.where(images < transformation["thresholds"], images, 255 - images)
        return transform_value_range(images, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor}
