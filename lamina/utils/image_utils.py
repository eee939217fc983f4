"""Images to arrays and back, with Pillow (imported where used, so ``import lamina`` does not need it):
``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``, and the resize the image datasets use."""

import io
import pathlib
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from lamina import config
from lamina.ops.arguments import normalize_data_format
from lamina.ops.image import aspect_ratio_crop_box, aspect_ratio_padding, resize

_COLOR_MODES = {"grayscale": ("L", ("L", "I;16", "I")), "rgb": ("RGB", ("RGB",)), "rgba": ("RGBA", ("RGBA",))}
# PyTorch's modes for Keras's names, as Keras's torch backend resizes.
_RESIZE_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic", "area": "area"}


def _pil():
    try:  # optional dependency: Pillow is needed only by the image utilities
        from PIL import Image
    except ImportError as error:
        raise ImportError("Could not import PIL.Image: lamina's image utilities need Pillow "
                          "(`pip install pillow`).") from error
    return Image


def _data_format(data_format):
    return normalize_data_format(data_format, "image utilities")


def to_color_mode(image, color_mode):
    """``image`` (a PIL image) converted to ``color_mode`` ("grayscale", "rgb" or "rgba") when needed."""
    if color_mode not in _COLOR_MODES:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    target, accepted = _COLOR_MODES[color_mode]
    return image if image.mode in accepted else image.convert(target)


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """A PIL image from a file path or ``io.BytesIO``, converted to ``color_mode`` and, with
    ``target_size=(height, width)``, resized with Pillow's ``interpolation`` ("nearest", "bilinear",
    "bicubic", "hamming", "box", "lanczos"); ``keep_aspect_ratio`` crops the centre to the target's
    aspect ratio first."""
    image_module = _pil()
    if isinstance(path, io.BytesIO):
        image = image_module.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        with open(path, "rb") as f:
            image = image_module.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    image = to_color_mode(image, color_mode)
    if target_size is None:
        return image
    size = (target_size[1], target_size[0])
    if image.size == size:
        return image
    methods = {name: getattr(image_module.Resampling, name.upper())
               for name in ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")}
    if interpolation not in methods:
        raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported methods are "
                         f"{', '.join(methods)}")
    box = None
    if keep_aspect_ratio:
        width, height = image.size
        crop_height = min(height, (width * size[1]) // size[0])
        crop_width = min(width, (height * size[0]) // size[1])
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        box = [left, top, left + crop_width, top + crop_height]
    return image.resize(size, methods[interpolation], box=box)


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image (or array-like) as a 3-D NumPy array ``(h, w, c)`` (``(c, h, w)`` channels_first)."""
    array = np.asarray(img, dtype=dtype or config.floatx())
    if array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim != 3:
        raise ValueError(f"Unsupported image shape: {array.shape}")
    return array.transpose(2, 0, 1) if _data_format(data_format) == "channels_first" else array


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A PIL image from a 3-D array: 1 channel gives "L" (or "I" above 255), 3 "RGB", 4 "RGBA".
    ``scale`` maps the values to [0, 255] (min to 0, max to 255) first."""
    image_module = _pil()
    x = np.array(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if _data_format(data_format) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        if np.max(x) != 0:
            x /= np.max(x)
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image_module.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Writes the array ``x`` as an image file (format from the suffix unless ``file_format`` is given;
    RGBA is converted to RGB for JPEG, with a warning). ``kwargs`` go to Pillow's ``save``."""
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    image = array_to_img(x, data_format=data_format, scale=scale)
    if image.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2)
        image = image.convert("RGB")
    image.save(path, format=file_format, **kwargs)


def resize_image(image, size, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_value=0.0):
    """A ``(channels, h, w)`` float tensor resized to ``size`` as Keras's torch backend resizes: the centre
    cropped (or the image padded with ``fill_value`` on both sides) to the target aspect ratio first,
    then ``F.interpolate`` (half-pixel centres, no antialiasing)."""
    if interpolation not in _RESIZE_MODES:
        raise ValueError(f"Resizing with interpolation={interpolation!r} is not available on PyTorch; expected "
                         f"one of {tuple(_RESIZE_MODES)}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`.")
    height, width = image.shape[-2:]
    target_height, target_width = size
    if crop_to_aspect_ratio:
        top, left, crop_height, crop_width = aspect_ratio_crop_box(height, width, target_height, target_width)
        image = image[:, top:top + crop_height, left:left + crop_width]
    elif pad_to_aspect_ratio:
        pad_top, pad_left = aspect_ratio_padding(height, width, target_height, target_width)
        image = F.pad(image, (pad_left, pad_left, pad_top, pad_top), value=fill_value)
    align = False if interpolation in ("bilinear", "bicubic") else None
    return F.interpolate(image[None], size=tuple(size), mode=_RESIZE_MODES[interpolation], align_corners=align)[0]


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last", **kwargs):
    """Keras's ``smart_resize``: an image ``(height, width, channels)`` or a batch ``(batch, height, width,
    channels)`` (channels first likewise) resized to ``size`` without distorting it: the largest centred
    crop with the target aspect ratio, resized. A NumPy input gives a NumPy array, a tensor a tensor."""
    if kwargs:
        raise TypeError(f"smart_resize() got unexpected keyword arguments: {list(kwargs)}")
    if len(size) != 2:
        raise ValueError(f"smart_resize: `size` must be a tuple of 2 integers (height, width). Received: size={size}")
    image = torch.as_tensor(x)
    if image.ndim not in (3, 4):
        raise ValueError("smart_resize: expected an image array with shape `(height, width, channels)`, or "
                         f"`(batch_size, height, width, channels)`. Received: shape={tuple(image.shape)}")
    resized = resize(image, size, interpolation=interpolation, crop_to_aspect_ratio=True, data_format=data_format)
    return resized.numpy() if isinstance(x, np.ndarray) else resized
