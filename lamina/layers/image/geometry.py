"""Image geometry on torch tensors in NCHW layout: Keras's affine and perspective transforms, resizing, blur.

The numbers follow Keras 3's image ops (``keras.ops.image.affine_transform``, ``perspective_transform``,
``resize``, ``gaussian_blur``): a transform maps each *output* pixel ``(x, y)`` (integer pixel indices) to
the input point it samples. Sampling runs on ``F.grid_sample`` (one fused kernel for the whole batch)
with the fill modes expressed as its padding modes, which gives the same values as Keras's per-image
``map_coordinates`` (see docs/preprocessing.md).
"""

import math

import torch
import torch.nn.functional as F

from lamina.ops.image import (aspect_ratio_crop_box, aspect_ratio_padding, compute_homography_matrix,
                               gaussian_kernel_1d, lanczos_kernel)

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
_GRID_PADDING = {"constant": "zeros", "nearest": "border", "reflect": "reflection", "wrap": "zeros"}
_TORCH_RESIZE_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def to_nchw(images, data_format):
    """A view of ``images`` in (N, C, H, W) order (no copy)."""
    return images.permute(0, 3, 1, 2) if data_format == "channels_last" else images


def from_nchw(images, data_format):
    return images.permute(0, 2, 3, 1) if data_format == "channels_last" else images


def sample(images, source_x, source_y, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Samples ``images`` (N, C, H, W) at input pixel coordinates ``source_x``/``source_y`` (N, H', W').

    Out-of-image points follow ``fill_mode`` as Keras defines it: "constant" (``fill_value``), "nearest"
    (edge pixel), "reflect" (d c b a | a b c d | d c b a), "wrap" (a b c d | a b c d | a b c d).
    """
    height, width = images.shape[-2:]
    if fill_mode == "wrap":
        # One circular pixel each side lets bilinear sampling cross the seam between the last and first pixel.
        images = F.pad(images, (1, 1, 1, 1), mode="circular")
        source_x = torch.remainder(source_x, width) + 1
        source_y = torch.remainder(source_y, height) + 1
        height, width = height + 2, width + 2
    grid = torch.stack([source_x * (2.0 / width) + (1.0 / width - 1.0),
                        source_y * (2.0 / height) + (1.0 / height - 1.0)], dim=-1)
    shifted = fill_mode == "constant" and fill_value != 0
    if shifted:  # grid_sample pads with zeros: sample (images - fill) and add the fill back
        images = images - fill_value
    output = F.grid_sample(images, grid.to(images.dtype), mode=interpolation, padding_mode=_GRID_PADDING[fill_mode],
                           align_corners=False)
    return output + fill_value if shifted else output


def _pixel_grid(height, width, dtype, device):
    return (torch.arange(width, dtype=dtype, device=device).view(1, 1, width),
            torch.arange(height, dtype=dtype, device=device).view(1, height, 1))


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """``images`` (N, C, H, W) through Keras's 8-parameter transforms (N, 8) or (8,): output pixel (x, y)
    samples input point ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``; the projective terms c0, c1 are unused,
    as in Keras's ``affine_transform``."""
    batch, _, height, width = images.shape
    transform = transform.to(dtype=images.dtype, device=images.device).reshape(-1, 8)
    x, y = _pixel_grid(height, width, images.dtype, images.device)
    a0, a1, a2, b0, b1, b2 = (transform[:, i].view(-1, 1, 1) for i in range(6))
    source_x = (a0 * x + a1 * y + a2).expand(batch, height, width)
    source_y = (b0 * x + b1 * y + b2).expand(batch, height, width)
    return sample(images, source_x, source_y, interpolation, fill_mode, fill_value)


def compute_affine_matrix(center_x, center_y, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                          width):
    """Keras's rotation/shear/scale about a centre (fractions of the size) plus a translation, as (N, 8)
    transforms; angles in degrees, one value per image in each tensor argument."""
    radians = math.pi / 180.0
    angle, shear_x, shear_y = angle * radians, torch.tan(shear_x * radians), torch.tan(shear_y * radians)
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    a0 = scale * (cos + shear_x * sin)
    a1 = scale * (-sin + shear_x * cos)
    b0 = scale * (shear_y * cos + sin)
    b1 = scale * (shear_y * -sin + cos)
    zeros = torch.zeros_like(a0)
    return torch.stack([a0, a1, translate_x + cx - cx * a0 - cy * a1,
                        b0, b1, translate_y + cy - cx * b0 - cy * b1, zeros, zeros], dim=1)


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0.0):
    """Warps ``images`` (N, C, H, W) so that ``start_points`` corners land on ``end_points`` (N, 4, 2, as
    (x, y)); points outside the input take ``fill_value``."""
    _, _, height, width = images.shape
    a0, a1, a2, a3, a4, a5, a6, a7 = (c.view(-1, 1, 1) for c in
                                      compute_homography_matrix(start_points, end_points).to(images.dtype).unbind(1))
    x, y = _pixel_grid(height, width, images.dtype, images.device)
    denominator = a6 * x + a7 * y + 1.0
    source_x = (a0 * x + a1 * y + a2) / denominator
    source_y = (a3 * x + a4 * y + a5) / denominator
    return sample(images, source_x, source_y, interpolation, "constant", fill_value)


def _pad_to_aspect_ratio(images, target_height, target_width, fill_value):
    """Pads the short side with ``fill_value`` as Keras does: the same amount on both sides, half the
    difference rounded down (so an odd difference pads one row less)."""
    top, left = aspect_ratio_padding(*images.shape[-2:], target_height, target_width)
    if top == 0 and left == 0:
        return images
    return F.pad(images, (left, left, top, top), value=float(fill_value))


def lanczos_weights(input_size, output_size, radius, antialias, dtype, device):
    """The (input_size, output_size) resampling matrix of a Lanczos resize, as ``jax.image.resize``
    (``scale_and_translate`` with scale output/input, no translation)."""
    inverse_scale = input_size / output_size
    kernel_scale = max(inverse_scale, 1.0) if antialias else 1.0
    sample_points = (torch.arange(output_size, dtype=torch.float64, device=device) + 0.5) * inverse_scale - 0.5
    distance = (sample_points[None, :] - torch.arange(input_size, dtype=torch.float64, device=device)[:, None]).abs()
    weights = lanczos_kernel(radius)(distance / kernel_scale)
    total = weights.sum(dim=0, keepdim=True)
    weights = torch.where(total.abs() > 1000.0 * torch.finfo(torch.float32).eps,
                          weights / torch.where(total != 0, total, 1.0), 0.0)
    inside = (sample_points >= -0.5) & (sample_points <= input_size - 0.5)
    return torch.where(inside[None, :], weights, 0.0).to(dtype)


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_value=0.0, lanczos_matrices=None):
    """Resizes float ``images`` (N, C, H, W) to ``size`` (height, width) as ``keras.ops.image.resize``.

    bilinear/nearest/bicubic are PyTorch's ``F.interpolate`` (half-pixel centres, as Keras-torch uses);
    lanczos3/lanczos5 use separable Lanczos matrices (``lanczos_matrices(height, width)`` may supply
    cached ones).
    """
    target_height, target_width = size
    if crop_to_aspect_ratio:
        top, left, crop_height, crop_width = aspect_ratio_crop_box(*images.shape[-2:], target_height, target_width)
        images = images[..., top:top + crop_height, left:left + crop_width]
    elif pad_to_aspect_ratio:
        images = _pad_to_aspect_ratio(images, target_height, target_width, fill_value)
    if interpolation.startswith("lanczos"):
        height, width = images.shape[-2:]
        if lanczos_matrices is None:
            radius = int(interpolation[-1])
            rows = lanczos_weights(height, target_height, radius, antialias, images.dtype, images.device)
            columns = lanczos_weights(width, target_width, radius, antialias, images.dtype, images.device)
        else:
            rows, columns = lanczos_matrices(height, width)
        return torch.einsum("nchw,hy,wx->ncyx", images, rows, columns)
    antialias = antialias and interpolation in ("bilinear", "bicubic")
    align_corners = False if interpolation in ("bilinear", "bicubic") else None
    return F.interpolate(images, size=(target_height, target_width), mode=_TORCH_RESIZE_MODES[interpolation],
                         align_corners=align_corners, antialias=antialias)


def gaussian_blur(images, kernel_size, sigma):
    """Blurs ``images`` (N, C, H, W) with a Gaussian of ``kernel_size`` (along width, along height) and
    ``sigma`` (a (2,) tensor, same order), zero-padded to keep the size ("same"), as Keras's
    ``gaussian_blur``."""
    channels = images.shape[1]
    along_width = gaussian_kernel_1d(kernel_size[0], sigma[0], images.dtype, sigma.device)
    along_height = gaussian_kernel_1d(kernel_size[1], sigma[1], images.dtype, sigma.device)
    kernel = torch.outer(along_height, along_width).expand(channels, 1, kernel_size[1], kernel_size[0])
    return F.conv2d(images, kernel, padding=(kernel_size[1] // 2, kernel_size[0] // 2), groups=channels)
