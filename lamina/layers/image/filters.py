"""Neighbourhood filters: RandomSharpness, RandomGaussianBlur, AutoContrast and Equalization."""

import torch
import torch.nn.functional as F

from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.layers.image.color import BaseColorLayer
from lamina.layers.image.colorspace import transform_value_range
from lamina.layers.image.geometry import from_nchw, gaussian_blur, to_nchw
from lamina.ops.arguments import check_positive_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class RandomSharpness(BaseColorLayer):
    """Blends each image with a 3x3 smoothed copy: ``x + (1 - 2 f) (smooth(x) - x)``, ``f`` drawn per image
    from ``factor`` (in [0, 1]; ``f`` means ``[0, f]``): 0 blurs, 0.5 keeps, 1 sharpens; clipped to
    ``value_range``."""

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(factor, value_range, seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        return {"factor": self._uniform(seed, (images.shape[0],), self.factor[0], self.factor[1], images)}

    def _transform(self, images, transformation):
        sharpness = (transformation["factor"] * 2).to(images.dtype).reshape(-1, 1, 1, 1)
        planes = to_nchw(images, self.data_format)
        channels = planes.shape[1]
        kernel = torch.full((3, 3), 1.0 / 13.0, dtype=images.dtype, device=images.device)
        kernel[1, 1] = 5.0 / 13.0
        smoothed = from_nchw(F.conv2d(planes, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels),
                             self.data_format)
        return torch.clip(images + (1.0 - sharpness) * (smoothed - images), *self.value_range)


@register_builtin("keras.layers")
class RandomGaussianBlur(BaseColorLayer):
    """Blurs the images drawn (probability drawn per image from ``factor`` in [0, 1]) with a Gaussian of
    ``kernel_size`` (odd) and a standard deviation per axis drawn once per batch from ``sigma`` (in [0, 1];
    ``s`` means ``[0, s]``), zero-padded at the borders; clipped to ``value_range``."""

    _FACTOR_BOUNDS = (0, 1)
    _SORTS_VALUE_RANGE = False

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(factor, value_range, seed, data_format=data_format, **kwargs)
        sizes = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        if len(sizes) != 2 or not all(check_positive_int(s, "kernel_size", "RandomGaussianBlur") % 2 for s in sizes):
            raise ValueError(f"RandomGaussianBlur: the `kernel_size` argument must be an odd int or a pair of odd "
                             f"ints. Received: kernel_size={kernel_size!r}")
        self.kernel_size = sizes
        self.sigma = self._factor_range(sigma, "sigma")

    def get_random_transformation(self, images, training=True, seed=None):
        batch = (images.shape[0],)
        probability = self._uniform(seed, batch, self.factor[0], self.factor[1], images)
        threshold = self._uniform(seed, batch, 0.0, 1.0, images)
        sigma = self._uniform(seed, (2,), self.sigma[0], self.sigma[1], images, self._compute_torch_dtype) + 1e-6
        return {"should_apply_blur": threshold < probability, "blur_factor": sigma}

    def _transform(self, images, transformation):
        blurred = from_nchw(gaussian_blur(to_nchw(images, self.data_format), self.kernel_size,
                                          transformation["blur_factor"].to(images.dtype)), self.data_format)
        images = torch.where(transformation["should_apply_blur"][:, None, None, None], blurred, images)
        return torch.clip(images, *self.value_range)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "sigma": self.sigma}


class BaseToneLayer(BaseImagePreprocessingLayer):
    """A deterministic tone mapping in ``value_range``, applied at inference too."""

    _USE_BASE_FACTOR = False
    active_in_inference = True

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = self._check_value_range(value_range)

    def transform_images(self, images, transformation=None, training=True):
        return self._transform(images.to(self._compute_torch_dtype), transformation)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


@register_builtin("keras.layers")
class AutoContrast(BaseToneLayer):
    """Stretches each channel of each image linearly so its minimum and maximum become the ends of
    ``value_range`` (a constant channel is left as is). Active at inference too."""

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(value_range, **kwargs)

    def _transform(self, images, transformation):
        levels = transform_value_range(images, self.value_range, (0, 255))
        spatial = (self.height_axis, self.width_axis)
        low, high = levels.amin(dim=spatial, keepdim=True), levels.amax(dim=spatial, keepdim=True)
        scale = 255.0 / (high - low)
        stretched = transform_value_range(torch.clip(levels * scale + -low * scale, 0.0, 255.0), (0, 255),
                                          self.value_range)
        return torch.where(torch.isnan(stretched), images, stretched)


@register_builtin("keras.layers")
class Equalization(BaseToneLayer):
    """Histogram equalization of each channel, with ``bins`` bins over ``value_range``; the histogram of a
    channel is taken over the whole batch (as Keras 3). Applied at inference too, as Keras documents."""

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(value_range, data_format=data_format, **kwargs)
        self.bins = check_positive_int(bins, "bins", "Equalization")

    def _transform(self, images, transformation):
        bins = self.bins
        levels = transform_value_range(images, self.value_range, (0, 255))
        channels_first = levels.movedim(self.channel_axis, 0).reshape(levels.shape[self.channel_axis], -1)
        channel_count = channels_first.shape[0]
        bin_index = ((channels_first - 0.0) * (bins - 1) / 255.0).to(torch.int32).clamp(0, bins - 1)
        offsets = torch.arange(channel_count, device=images.device)[:, None] * bins
        histogram = torch.bincount((bin_index + offsets).flatten(), minlength=channel_count * bins)
        cdf = histogram.reshape(channel_count, bins).cumsum(dim=1)
        first = torch.where(cdf > 0, cdf, cdf[:, -1:]).amin(dim=1, keepdim=True)
        denominator = cdf[:, -1:] - first
        lookup = ((cdf - first) * 255) / torch.where(denominator == 0, 1, denominator)
        lookup = torch.clip(torch.round(lookup), 0, 255).to(images.dtype)
        positions = torch.clip(channels_first / 255.0 * (bins - 1), 0, bins - 1).to(torch.int64)
        equalized = lookup.gather(1, positions)
        equalized = torch.where((histogram.reshape(channel_count, bins) > 0).sum(1, keepdim=True) <= 1,
                                channels_first, equalized)
        moved_shape = levels.movedim(self.channel_axis, 0).shape
        equalized = equalized.reshape(moved_shape).movedim(0, self.channel_axis)
        return transform_value_range(equalized, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins}
