"""Image ops (``keras.ops.image``): resizing, color conversions, geometric transforms, filters, patches,
SSIM. Images are ``(height, width, channels)`` or batches ``(batch, height, width, channels)``
(channels first with ``data_format="channels_first"``)."""

import functools
import itertools
import math
import operator

import torch
import torch.nn.functional as F

from lamina.dtypes import result_type
from lamina.ops.arguments import normalize_data_format
from lamina.ops.keras_op import keras_op
from lamina.ops.nn import conv
from lamina.ops.rng import torch_generator
from lamina.ops.tensors import dtype_name, to_tensor, torch_dtype


def _check_rank(images, name, what="images"):
    if images.ndim not in (3, 4):
        raise ValueError(f"{name}: expected rank 3 (one image) or rank 4 (a batch). Received: "
                         f"{what}.shape={tuple(images.shape)}")


def _batched_nchw(images, data_format):
    """(NCHW tensor, whether the input was unbatched)."""
    unbatched = images.ndim == 3
    if unbatched:
        images = images.unsqueeze(0)
    return (images.permute(0, 3, 1, 2) if data_format == "channels_last" else images), unbatched


def _restore(images, data_format, unbatched):
    if data_format == "channels_last":
        images = images.permute(0, 2, 3, 1)
    return images.squeeze(0) if unbatched else images


# --------------------------------------------------------------------------------- colors
@keras_op("RGBToGrayscale", "image", config=("data_format",))
def rgb_to_grayscale(images, data_format=None):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (one channel; one-channel images pass through)."""
    images = to_tensor(images)
    _check_rank(images, "rgb_to_grayscale")
    axis = -1 if normalize_data_format(data_format) == "channels_last" else -3
    if images.shape[axis] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: expected 1 or 3 channels. Received: images.shape={tuple(images.shape)}")
    if images.shape[axis] == 1:
        return images.clone()
    r, g, b = images.unbind(axis)
    return (0.2989 * r + 0.587 * g + 0.114 * b).to(images.dtype).unsqueeze(axis)


def _float_images(images, name):
    images = to_tensor(images)
    _check_rank(images, name)
    if not images.is_floating_point():
        raise ValueError(f"{name}: expected float images. Received: images.dtype={dtype_name(images)}")
    return images


@keras_op("RGBToHSV", "image", config=("data_format",))
def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to (hue, saturation, value) in [0, 1]."""
    images = _float_images(images, "rgb_to_hsv")
    return hsv_from_rgb(images, -1 if normalize_data_format(data_format) == "channels_last" else -3)


def hsv_from_rgb(images, axis):
    """``rgb_to_hsv`` of float ``images`` whose colour channels are on ``axis`` (dm_pix's formulas, as
    Keras); the image layers call it directly."""
    images = torch.where(images.abs() < torch.finfo(images.dtype).eps, 0.0, images)
    r, g, b = images.unbind(axis)
    value = torch.maximum(torch.maximum(r, g), b)
    spread = value - torch.minimum(torch.minimum(r, g), b)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * torch.where(spread > 0, spread, 1.0))
    hue = torch.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = torch.where(value == r, norm * (g - b), hue)
    hue = torch.where(spread > 0, hue, 0.0) + (hue < 0.0).to(hue.dtype)
    return torch.stack((hue, saturation, value), dim=axis)


@keras_op("HSVToRGB", "image", config=("data_format",))
def hsv_to_rgb(images, data_format=None):
    """(hue, saturation, value) in [0, 1] to RGB."""
    images = _float_images(images, "hsv_to_rgb")
    return rgb_from_hsv(images, -1 if normalize_data_format(data_format) == "channels_last" else -3)


def rgb_from_hsv(images, axis):
    """``hsv_to_rgb`` of float ``images`` whose channels are on ``axis``; the image layers call it directly."""
    hue, saturation, value = images.unbind(axis)
    sector = torch.remainder(hue, 1.0) * 6.0
    red = torch.clamp(torch.abs(sector - 3.0) - 1.0, 0.0, 1.0)
    green = torch.clamp(2.0 - torch.abs(sector - 2.0), 0.0, 1.0)
    blue = torch.clamp(2.0 - torch.abs(sector - 4.0), 0.0, 1.0)
    grey = 1.0 - saturation
    return torch.stack([value * (grey + saturation * c) for c in (red, green, blue)], dim=axis)


# --------------------------------------------------------------------------------- resizing
_INTERPOLATIONS = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def _resize_prepare(values):
    values["size"] = tuple(values["size"])


def aspect_ratio_crop_box(height, width, target_height, target_width):
    """(top, left, crop_height, crop_width): the largest centred window with the target aspect ratio,
    in Keras's arithmetic (``smart_resize``, ``crop_to_aspect_ratio``)."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int(float(height - crop_height) / 2), int(float(width - crop_width) / 2), crop_height, crop_width


def aspect_ratio_padding(height, width, target_height, target_width):
    """(top, left): the rows and columns padded on each side to reach the target aspect ratio, as Keras
    pads (half the difference rounded down, so an odd difference pads one less)."""
    top = int(float(max(height, int(float(width * target_height) / target_width)) - height) / 2)
    left = int(float(max(width, int(float(height * target_width) / target_height)) - width) / 2)
    return top, left


@keras_op("Resize", "image", config=("size", "interpolation", "antialias", "crop_to_aspect_ratio",
                                     "pad_to_aspect_ratio", "fill_mode", "fill_value", "data_format"),
          prepare=_resize_prepare)
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Images resized to ``size`` = (height, width) ("bilinear", "nearest" or "bicubic"; half-pixel
    centers), optionally center-cropped or padded to the target aspect ratio first."""
    if len(size) != 2 or size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"resize: `size` must be (height, width) of positive ints. Received: size={size!r}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"resize: interpolation must be one of {sorted(_INTERPOLATIONS)} on torch. "
                         f"Received: interpolation={interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported. Received: fill_mode={fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
    images = to_tensor(images)
    _check_rank(images, "resize")
    data_format = normalize_data_format(data_format, "resize")
    x, unbatched = _batched_nchw(images, data_format)
    original = x.dtype
    if original not in (torch.float32, torch.float64):
        x = x.to(torch.float32)
    height, width = x.shape[-2:]
    target_height, target_width = size
    if crop_to_aspect_ratio:
        top, left, crop_height, crop_width = aspect_ratio_crop_box(height, width, target_height, target_width)
        x = x[:, :, top:top + crop_height, left:left + crop_width]
    elif pad_to_aspect_ratio:
        top, left = aspect_ratio_padding(height, width, target_height, target_width)
        x = F.pad(x, (left, left, top, top), value=fill_value)
    mode = _INTERPOLATIONS[interpolation]
    out = F.interpolate(x, size=tuple(size), mode=mode, align_corners=False if mode != "nearest-exact" else None,
                        antialias=antialias and mode in ("bilinear", "bicubic"))
    if original is not out.dtype:
        if not original.is_floating_point:
            out = torch.round(out.clamp(0, 255) if original is torch.uint8 else out)
        out = out.to(original)
    return _restore(out, data_format, unbatched)


# ------------------------------------------------------------------------------ resampling
def _mirror(index, size):
    period = size - 1
    return torch.abs((index + period) % (2 * period) - period) if period else torch.zeros_like(index)


_INDEX_FIXERS = {
    "constant": lambda index, size: index.clamp(0, size - 1),
    "nearest": lambda index, size: index.clamp(0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror,
    "reflect": lambda index, size: torch.div(_mirror(2 * index + 1, 2 * size + 1) - 1, 2, rounding_mode="floor"),
}


def _interpolation_nodes(coordinate, order):
    if order == 0:
        rounded = coordinate if not coordinate.is_floating_point() else torch.round(coordinate)
        return [(rounded.to(torch.int64), 1)]
    lower = torch.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.to(torch.int64)
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


@keras_op("MapCoordinates", "image", config=("order", "fill_mode", "fill_value"))
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """``inputs`` sampled at ``coordinates`` (one array of positions per input axis), by nearest
    (``order=0``) or linear (``order=1``) interpolation; ``fill_mode`` handles points outside."""
    inputs = to_tensor(inputs)
    coordinates = [to_tensor(c, device=inputs.device) for c in coordinates]
    if len(coordinates) != inputs.ndim:
        raise ValueError(f"map_coordinates: give one coordinate array per input axis ({inputs.ndim}). "
                         f"Received: {len(coordinates)}")
    if fill_mode not in _INDEX_FIXERS:
        raise ValueError(f"map_coordinates: fill_mode must be one of {sorted(_INDEX_FIXERS)}. "
                         f"Received: fill_mode={fill_mode!r}")
    if order not in (0, 1):
        raise NotImplementedError("map_coordinates supports order 0 (nearest) and 1 (linear).")
    fixer = _INDEX_FIXERS[fill_mode]
    per_axis = []
    for coordinate, size in zip(coordinates, inputs.shape):
        per_axis.append([(fixer(index, size), (index >= 0) & (index < size), weight)
                         for index, weight in _interpolation_nodes(coordinate, order)])
    fill = fill_value if inputs.is_floating_point() else int(fill_value)
    total = 0
    for combination in itertools.product(*per_axis):
        indices, valid, weights = zip(*combination)
        value = inputs[indices]
        if fill_mode == "constant":
            value = torch.where(functools.reduce(operator.and_, valid), value, fill)
        total = total + functools.reduce(operator.mul, weights) * value
    if not inputs.is_floating_point():
        total = torch.round(total) if isinstance(total, torch.Tensor) and total.is_floating_point() else total
    return total.to(inputs.dtype)


def _sample_batch(images, rows, cols, order, fill_mode, fill_value):
    """Samples ``(batch, h, w, c)`` images at per-image ``(batch, h, w)`` row/col positions."""
    channels = torch.arange(images.shape[-1], device=images.device)
    outputs = []
    for image, row, col in zip(images, rows, cols):
        coordinates = [row[..., None].expand(*row.shape, images.shape[-1]),
                       col[..., None].expand(*col.shape, images.shape[-1]),
                       channels.expand(*row.shape, images.shape[-1]).to(row.dtype)]
        outputs.append(map_coordinates(image, coordinates, order, fill_mode, fill_value))
    return torch.stack(outputs)


_ORDERS = {"nearest": 0, "bilinear": 1}


def _check_interpolation(interpolation, name):
    if interpolation not in _ORDERS:
        raise ValueError(f"{name}: interpolation must be 'nearest' or 'bilinear'. "
                         f"Received: interpolation={interpolation!r}")


@keras_op("AffineTransform", "image", config=("interpolation", "fill_mode", "fill_value", "data_format"))
def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """Images resampled by projective transforms ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (one per image, or one
    for all): output pixel (x, y) reads input ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1."""
    _check_interpolation(interpolation, "affine_transform")
    images, transform = to_tensor(images), to_tensor(transform)
    _check_rank(images, "affine_transform")
    data_format = normalize_data_format(data_format, "affine_transform")
    unbatched = images.ndim == 3
    if unbatched:
        images = images.unsqueeze(0)
    if transform.ndim == 1:
        transform = transform.unsqueeze(0)
    if data_format == "channels_first":
        images = images.permute(0, 2, 3, 1)
    batch, height, width, _ = images.shape
    transform = transform.to(torch.promote_types(transform.dtype, torch.float32)).expand(batch, 8)
    y, x = torch.meshgrid(torch.arange(height, dtype=transform.dtype, device=images.device),
                          torch.arange(width, dtype=transform.dtype, device=images.device), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = (transform[:, i, None, None] for i in range(8))
    k = c0 * x + c1 * y + 1.0
    cols, rows = (a0 * x + a1 * y + a2) / k, (b0 * x + b1 * y + b2) / k
    out = _sample_batch(images, rows, cols, _ORDERS[interpolation], fill_mode, fill_value)
    if data_format == "channels_first":
        out = out.permute(0, 3, 1, 2)
    return out.squeeze(0) if unbatched else out


def compute_homography_matrix(start_points, end_points):
    """The 8 homography coefficients (N, 8) mapping each ``end_points`` corner (N, 4, 2) to its
    ``start_points`` corner, as Keras's ``compute_homography_matrix`` (keras.src.ops.image); the image
    layers call it too."""
    sx, sy = start_points[..., 0], start_points[..., 1]
    ex, ey = end_points[..., 0], end_points[..., 1]
    zeros, ones = torch.zeros_like(ex), torch.ones_like(ex)
    rows_x = torch.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], dim=-1)
    rows_y = torch.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], dim=-1)
    coefficients = torch.stack([rows_x, rows_y], dim=2).reshape(-1, 8, 8)  # rows x1, y1, x2, y2, ...
    targets = torch.stack([sx, sy], dim=-1).reshape(-1, 8, 1)
    compute = torch.promote_types(coefficients.dtype, torch.float32)
    solution = torch.linalg.solve(coefficients.to(compute), targets.to(compute))
    return solution.reshape(-1, 8).to(coefficients.dtype)


@keras_op("PerspectiveTransform", "image", config=("interpolation", "fill_value", "data_format"))
def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Images warped so that the four ``start_points`` (x, y) move to ``end_points``."""
    _check_interpolation(interpolation, "perspective_transform")
    images = to_tensor(images)
    _check_rank(images, "perspective_transform")
    start_points = to_tensor(start_points, dtype=images.dtype if images.is_floating_point() else torch.float32)
    end_points = to_tensor(end_points, dtype=start_points.dtype)
    if start_points.shape[-2:] != (4, 2) or start_points.shape != end_points.shape:
        raise ValueError("perspective_transform: start_points and end_points must both have shape (4, 2) or "
                         f"(batch, 4, 2). Received: {tuple(start_points.shape)} and {tuple(end_points.shape)}")
    if start_points.ndim == 2:
        start_points, end_points = start_points.unsqueeze(0), end_points.unsqueeze(0)
    transform = compute_homography_matrix(start_points, end_points)
    return affine_transform(images, transform, interpolation, "constant", fill_value, data_format)


def gaussian_kernel_1d(size, sigma, dtype, device):
    """A normalised Gaussian of ``size`` taps and standard deviation ``sigma``."""
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def _depthwise_nchw(x, kernel_2d, padding):
    """Each channel convolved with ``kernel_2d``; ``padding`` "same" (the odd cell after) or an int."""
    channels = x.shape[1]
    weight = kernel_2d.to(x.dtype).expand(channels, 1, *kernel_2d.shape)
    if padding == "same":
        x = F.pad(x, [v for k in reversed(kernel_2d.shape) for v in ((k - 1) // 2, k // 2)])
        padding = 0
    return F.conv2d(x, weight, padding=padding, groups=channels)


@keras_op("GaussianBlur", "image", config=("kernel_size", "sigma", "data_format"))
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Images convolved with a Gaussian (zero "same" padding: the shape is kept). As Keras's JAX backend,
    the kernel is ``outer(g(kernel_size[1], sigma[1]), g(kernel_size[0], sigma[0]))``."""
    images = to_tensor(images)
    _check_rank(images, "gaussian_blur")
    data_format = normalize_data_format(data_format, "gaussian_blur")
    x, unbatched = _batched_nchw(images, data_format)
    sigma = to_tensor(sigma, dtype=x.dtype)
    kernel = torch.outer(gaussian_kernel_1d(kernel_size[1], sigma[1], x.dtype, x.device),
                         gaussian_kernel_1d(kernel_size[0], sigma[0], x.dtype, x.device))
    return _restore(_depthwise_nchw(x, kernel, "same"), data_format, unbatched)


@keras_op("ElasticTransform", "image", config=("alpha", "sigma", "interpolation", "fill_mode", "fill_value",
                                               "seed", "data_format"))
def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                      seed=None, data_format=None):
    """Images displaced by a random field: Gaussian noise smoothed with ``sigma``, scaled by ``alpha``
    (``seed``: an int or a ``lamina.random.SeedGenerator``; None draws from torch's global RNG)."""
    _check_interpolation(interpolation, "elastic_transform")
    images = to_tensor(images)
    _check_rank(images, "elastic_transform")
    data_format = normalize_data_format(data_format, "elastic_transform")
    x, unbatched = _batched_nchw(images, data_format)
    batch, _, height, width = x.shape
    dtype = x.dtype if x.is_floating_point() else torch.float32
    generator = torch_generator(seed, x.device)
    # two draws, dx's then dy's, as Keras's two torch.normal calls (one draw of both differs in its tail)
    noise = torch.cat([torch.randn((batch, 1, height, width), generator=generator, dtype=dtype, device=x.device)
                       for _ in range(2)]) * sigma
    size = int(6 * sigma) | 1
    kernel = torch.outer(*(2 * [gaussian_kernel_1d(size, torch.tensor(sigma, dtype=dtype), dtype, x.device)]))
    dx, dy = _depthwise_nchw(noise, kernel, "same")[:, 0].split(batch)
    rows = torch.arange(height, dtype=dtype, device=x.device)[:, None] + alpha * dy
    cols = torch.arange(width, dtype=dtype, device=x.device)[None, :] + alpha * dx
    out = _sample_batch(x.permute(0, 2, 3, 1), rows, cols, _ORDERS[interpolation], fill_mode, fill_value)
    return _restore(out.permute(0, 3, 1, 2), data_format, unbatched).to(images.dtype)


def _triangle(x):
    return torch.clamp(1 - torch.abs(x), min=0)


def _keys_cubic(x):
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = torch.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return torch.where(x >= 2.0, 0.0, out)


def lanczos_kernel(radius):
    """The Lanczos window of ``radius`` as ``jax.image``'s resize weighs distances."""
    def kernel(x):
        y = radius * torch.sin(torch.pi * x) * torch.sin(torch.pi * x / radius)
        out = torch.where(x > 1e-3, y / torch.where(x != 0, torch.pi ** 2 * x ** 2, 1), 1)
        return torch.where(x > radius, 0.0, out)
    return kernel


_KERNELS = {"linear": _triangle, "bilinear": _triangle, "trilinear": _triangle, "triangle": _triangle,
            "cubic": _keys_cubic, "bicubic": _keys_cubic, "tricubic": _keys_cubic,
            "lanczos3": lanczos_kernel(3.0), "lanczos5": lanczos_kernel(5.0)}


def _resampling_weights(input_size, output_size, scale, translation, kernel, antialias):
    inverse = 1.0 / scale
    kernel_scale = torch.clamp(inverse, min=1.0) if antialias else 1.0
    sample = (torch.arange(output_size, dtype=scale.dtype, device=scale.device) + 0.5) * inverse \
        - translation * inverse - 0.5
    distance = torch.abs(sample[None, :] - torch.arange(input_size, dtype=scale.dtype, device=scale.device)[:, None])
    weights = kernel(distance / kernel_scale)
    total = weights.sum(dim=0, keepdim=True)
    weights = torch.where(torch.abs(total) > 1000.0 * torch.finfo(torch.float32).eps,
                          weights / torch.where(total != 0, total, 1), 0)
    inside = (sample >= -0.5) & (sample <= input_size - 0.5)
    return torch.where(inside[None, :], weights, 0)


@keras_op("ScaleAndTranslate", "image", config=("spatial_dims", "method", "antialias"))
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """JAX's ``scale_and_translate``: resamples ``spatial_dims`` to ``output_shape`` with the given
    ``scale`` and ``translation`` per dimension, by a separable ``method`` kernel."""
    if method not in _KERNELS:
        raise ValueError(f"scale_and_translate: unknown method {method!r}. Expected one of {sorted(_KERNELS)}.")
    images = to_tensor(images)
    dtype = torch_dtype(result_type(dtype_name(to_tensor(scale)), dtype_name(to_tensor(translation))))
    scale, translation = to_tensor(scale, dtype=dtype, device=images.device), \
        to_tensor(translation, dtype=dtype, device=images.device)
    integer = not images.is_floating_point()
    out = images.to(torch.float32) if integer else images.clone()
    for i, dim in enumerate(spatial_dims):
        dim %= images.ndim
        weights = _resampling_weights(images.shape[dim], output_shape[dim], scale[i], translation[i],
                                      _KERNELS[method], antialias).to(out.dtype)
        out = torch.moveaxis(torch.tensordot(out, weights, dims=([dim], [0])), -1, dim)
    if integer:
        out = torch.clamp(torch.round(out), images.min(), images.max()).to(images.dtype)
    return out


@keras_op("SobelEdges", "image", config=("data_format",))
def sobel_edges(images, data_format=None):
    """Sobel gradients ``(..., 2)``: (vertical dy, horizontal dx) per channel, zero padding."""
    images = to_tensor(images)
    data_format = normalize_data_format(data_format, "sobel_edges")
    x = images.permute(0, 3, 1, 2) if data_format == "channels_last" else images
    sobel_x = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=x.dtype, device=x.device)
    edges = torch.stack([_depthwise_nchw(x, sobel_x.T, 1), _depthwise_nchw(x, sobel_x, 1)], dim=-1)
    return edges.permute(0, 2, 3, 1, 4) if data_format == "channels_last" else edges


def _patches(images, size, strides, dilation_rate, padding, data_format, rank, name):
    images = to_tensor(images)
    size = (size,) * rank if isinstance(size, int) else tuple(size)
    if len(size) != rank:
        raise TypeError(f"{name}: `size` must be an int or a tuple of {rank} ints. Received: size={size!r}")
    strides = size if not strides else strides
    data_format = normalize_data_format(data_format, name)
    channels = images.shape[-1] if data_format == "channels_last" else images.shape[-rank - 1]
    depth = channels * math.prod(size)
    # An identity kernel: each output channel copies one (offset, channel) cell of the patch.
    kernel = torch.eye(depth, dtype=images.dtype, device=images.device).reshape(*size, channels, depth)
    unbatched = images.ndim == rank + 1
    patches = conv(images.unsqueeze(0) if unbatched else images, kernel, strides, padding, data_format, dilation_rate)
    return patches.squeeze(0) if unbatched else patches


def _patches_prepare(values):
    if isinstance(values["size"], int):
        values["size"] = (values["size"],) * 2
    if not values.get("strides"):
        values["strides"] = values["size"]
    values["data_format"] = normalize_data_format(values.get("data_format"))


@keras_op("ExtractPatches", "image", config=("size", "strides", "dilation_rate", "padding", "data_format"),
          prepare=_patches_prepare)
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of ``size`` (height, width) as channels: ``(..., rows, cols, ph * pw * channels)``
    (a 3-tuple ``size`` extracts 3-D patches from volumes)."""
    rank = 3 if not isinstance(size, int) and len(size) == 3 else 2
    return _patches(images, size, strides, dilation_rate, padding, data_format, rank, "extract_patches")


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """3-D patches of ``size`` (depth, height, width) of volumes, as channels (Keras records it as an
    ``ExtractPatches`` op with a 3-tuple size)."""
    size = (size,) * 3 if isinstance(size, int) else tuple(size)
    return extract_patches(volumes, size, strides, dilation_rate, padding, data_format)


def _image_box(images, data_format):
    data_format = normalize_data_format(data_format)
    _check_rank(images, "pad_images/crop_images")
    if data_format == "channels_last":
        return images.shape[-3], images.shape[-2], data_format
    return images.shape[-2], images.shape[-1], data_format


@keras_op("PadImages", "image", config=("top_padding", "left_padding", "bottom_padding", "right_padding",
                                        "target_height", "target_width", "data_format"))
def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Images zero-padded to ``target_height``/``target_width`` (or by the given paddings)."""
    images = to_tensor(images)
    height, width, data_format = _image_box(images, data_format)
    for given, (first, second, target) in ((("top", "bottom", "target_height"),
                                            (top_padding, bottom_padding, target_height)),
                                           (("left", "right", "target_width"),
                                            (left_padding, right_padding, target_width))):
        if sum(v is not None for v in (first, second, target)) != 2:
            raise ValueError(f"pad_images: give exactly two of {given[0]}_padding, {given[1]}_padding and "
                             f"{given[2]}. Received: {first}, {second}, {target}")
    top = target_height - bottom_padding - height if top_padding is None else top_padding
    bottom = target_height - top - height if bottom_padding is None else bottom_padding
    left = target_width - right_padding - width if left_padding is None else left_padding
    right = target_width - left - width if right_padding is None else right_padding
    if min(top, bottom, left, right) < 0:
        raise ValueError(f"pad_images: the paddings must be non-negative. Received: top={top}, bottom={bottom}, "
                         f"left={left}, right={right}")
    widths = (0, 0, left, right, top, bottom) if data_format == "channels_last" else (left, right, top, bottom)
    return F.pad(images, widths)


@keras_op("CropImages", "image", config=("top_cropping", "left_cropping", "bottom_cropping", "right_cropping",
                                         "target_height", "target_width", "data_format"))
def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """Images cropped to ``target_height``/``target_width`` (or by the given croppings)."""
    images = to_tensor(images)
    height, width, data_format = _image_box(images, data_format)
    top = height - target_height - bottom_cropping if top_cropping is None else top_cropping
    target_height = height - bottom_cropping - top if target_height is None else target_height
    left = width - target_width - right_cropping if left_cropping is None else left_cropping
    target_width = width - right_cropping - left if target_width is None else target_width
    if min(top, left, target_height, target_width) < 0:
        raise ValueError("crop_images: the croppings and target sizes must be non-negative. Received: "
                         f"top={top}, left={left}, target_height={target_height}, target_width={target_width}")
    if data_format == "channels_last":
        return images[..., top:top + target_height, left:left + target_width, :]
    return images[..., top:top + target_height, left:left + target_width]


@keras_op("SSIM", "image", config=("max_val", "filter_size", "filter_sigma", "k1", "k2", "data_format"))
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """The structural similarity of two images (or batches), averaged over pixels and channels
    (a Gaussian window, valid padding)."""
    image1, image2 = to_tensor(image1), to_tensor(image2)
    _check_rank(image1, "ssim", "image1")
    data_format = normalize_data_format(data_format, "ssim")
    original = image1.dtype
    compute = torch_dtype(result_type(dtype_name(image1), float))
    x, unbatched = _batched_nchw(image1.to(compute), data_format)
    y, _ = _batched_nchw(image2.to(compute), data_format)
    gauss = gaussian_kernel_1d(filter_size, filter_sigma, compute, x.device)
    kernel = torch.outer(gauss, gauss)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu_x, mu_y = _depthwise_nchw(x, kernel, 0), _depthwise_nchw(y, kernel, 0)
    sigma_x = _depthwise_nchw(x * x, kernel, 0) - mu_x * mu_x
    sigma_y = _depthwise_nchw(y * y, kernel, 0) - mu_y * mu_y
    sigma_xy = _depthwise_nchw(x * y, kernel, 0) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sigma_x + sigma_y + c2))
    result = index.mean(dim=(1, 2, 3))
    return (result.squeeze(0) if unbatched else result).to(original)
