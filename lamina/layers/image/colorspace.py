"""Colour conversions on float image tensors, with Keras 3's formulas (``keras.ops.image``).

``channel_axis`` is the axis holding the 3 colour channels (-1 for channels_last, -3 for channels_first).
"""

import torch


def rgb_to_grayscale(images, channel_axis):
    """Luma 0.2989 R + 0.587 G + 0.114 B with one channel (a 1-channel input is returned as is)."""
    if images.shape[channel_axis] == 1:
        return images
    red, green, blue = images.unbind(dim=channel_axis)
    return (0.2989 * red + 0.587 * green + 0.114 * blue).unsqueeze(channel_axis)


def rgb_to_hsv(images, channel_axis):
    """RGB in [0, 1] to hue, saturation, value in [0, 1] (dm_pix's formulas, as Keras)."""
    eps = torch.finfo(images.dtype).eps
    images = torch.where(images.abs() < eps, 0.0, images)
    red, green, blue = images.unbind(dim=channel_axis)
    value = torch.maximum(torch.maximum(red, green), blue)
    spread = value - torch.minimum(torch.minimum(red, green), blue)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * torch.where(spread > 0, spread, 1.0))
    hue = torch.where(value == green, norm * (blue - red) + 2.0 / 6.0, norm * (red - green) + 4.0 / 6.0)
    hue = torch.where(value == red, norm * (green - blue), hue)
    hue = torch.where(spread > 0, hue, 0.0) + (hue < 0.0).to(hue.dtype)
    return torch.stack([hue, saturation, value], dim=channel_axis)


def hsv_to_rgb(images, channel_axis):
    hue, saturation, value = images.unbind(dim=channel_axis)
    sextant = torch.remainder(hue, 1.0) * 6.0
    red = torch.clip((sextant - 3.0).abs() - 1.0, 0.0, 1.0)
    green = torch.clip(2.0 - (sextant - 2.0).abs(), 0.0, 1.0)
    blue = torch.clip(2.0 - (sextant - 4.0).abs(), 0.0, 1.0)
    desaturated = 1.0 - saturation
    return torch.stack([value * (desaturated + saturation * channel) for channel in (red, green, blue)],
                       dim=channel_axis)


def transform_value_range(images, source, target):
    """Maps values linearly from the ``source`` (low, high) range to ``target``."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    images = (images - source[0]) / (source[1] - source[0])
    return images * (target[1] - target[0]) + target[0]
