"""What the drawing and plotting functions share: inputs as NumPy arrays, their checks, Keras's value range rule."""

import numbers

import numpy as np
import torch

_CHANNEL_COUNTS = (1, 3, 4)


def to_numpy(value, owner, name):
    """A tensor (any device; bfloat16 read as float32), an array or a nested list as a NumPy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{owner}: `{name}` must be a tensor, a NumPy array or a nested list of numbers. "
                        f"Received: {name} of type {type(value).__name__} ({error})") from error
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: `{name}` must hold numbers. Received: {name} of type {type(value).__name__} "
                        f"(NumPy dtype {array.dtype})")
    return array


def batched_images(images, owner, data_format):
    """``images`` as a 4-D NumPy array, checked against ``data_format``.

    A channels axis of a size no image has (not 1, 3 or 4) while the other end has one is the usual
    channels_first/channels_last mix-up: it raises with the fix instead of drawing across channels.
    """
    array = to_numpy(images, owner, "images")
    if array.ndim != 4:
        raise ValueError(f"{owner}: `images` must be a batched 4D tensor, (batch, height, width, channels) for "
                         f"channels_last or (batch, channels, height, width) for channels_first. "
                         f"Received: images.shape={array.shape}")
    channels, other = (array.shape[-1], array.shape[1]) if data_format == "channels_last" else \
        (array.shape[1], array.shape[-1])
    if channels not in _CHANNEL_COUNTS and other in _CHANNEL_COUNTS:
        flipped = "channels_first" if data_format == "channels_last" else "channels_last"
        raise ValueError(f"{owner}: with data_format={data_format!r} the images would have {channels} channels; "
                         f"they look like {flipped} images: pass data_format={flipped!r}. "
                         f"Received: images.shape={array.shape}")
    return array


def channels_last(images, data_format):
    return images.transpose(0, 2, 3, 1) if data_format == "channels_first" else images


def masks_as_bhw(masks, image_shape, owner, name, data_format):
    """Segmentation masks (batch, height, width), (batch, height, width, 1) or, for channels_first,
    (batch, 1, height, width), as (batch, height, width) matching ``image_shape`` (channels_last)."""
    array = to_numpy(masks, owner, name)
    received = array.shape
    expected = tuple(image_shape[:3])
    channel_axis = 1 if data_format == "channels_first" else 3
    if array.ndim == 4 and array.shape[channel_axis] == 1:
        array = array.squeeze(channel_axis)
    if array.shape != expected:
        one = "(batch, 1, height, width)" if data_format == "channels_first" else "(batch, height, width, 1)"
        raise ValueError(f"{owner}: `{name}` must have the images' batch, height and width: {expected} or "
                         f"{one} with data_format={data_format!r}. Received: {name}.shape={received}")
    return array


def check_value_range(value_range, owner):
    try:
        low, high = value_range
    except (TypeError, ValueError):
        low = high = None
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (low, high)) or not low < high:
        raise ValueError(f"{owner}: `value_range` must be a pair (low, high) of numbers with low < high, e.g. "
                         f"(0, 255) or (0, 1). Received: value_range={value_range!r}")
    return low, high


def to_0_255(images, value_range):
    """Keras's ``_transform_value_range(images, value_range, (0, 255))``: unchanged when the range is
    already (0, 255), else in float32 as (x - low) / (high - low) * 255 + 0."""
    low, high = value_range
    if low == 0 and high == 255:
        return images
    low, high = np.float32(low), np.float32(high)
    return (images.astype(np.float32) - low) / (high - low) * np.float32(255) + np.float32(0)
