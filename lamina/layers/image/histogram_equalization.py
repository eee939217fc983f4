"""ContrastLimitedAdaptiveHistogramEqualization (CLAHE): histogram equalization per tile, with clipped
histograms, blended bilinearly between neighbouring tiles (Keras 3.15's algorithm)."""

import numbers

import torch

from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.layers.image.colorspace import transform_value_range
from lamina.ops.arguments import normalize_tuple
from lamina.registry import register_builtin

_LEVELS = 256


def _symmetric_indices(size, padded_size, device):
    """Source indices of NumPy's "symmetric" padding of ``size`` entries to ``padded_size`` at the end
    (a b c | c b a | a b c ...), also when the padding is longer than the axis."""
    index = torch.arange(padded_size, device=device) % (2 * size)
    return torch.where(index < size, index, 2 * size - 1 - index)


@register_builtin("keras.layers")
class ContrastLimitedAdaptiveHistogramEqualization(BaseImagePreprocessingLayer):
    """Contrast-limited adaptive histogram equalization of each channel of each image.

    The image (values mapped from ``value_range`` to [0, 255] and truncated to 256 integer levels) is cut
    into ``tile_grid_size`` tiles of ``ceil(height / rows)`` by ``ceil(width / cols)`` pixels (the bottom and
    right edges padded symmetrically to fill them). Each tile's histogram is clipped at
    ``clip_limit * tile_pixels / 256`` per level (the excess spread evenly over all levels; no clipping when
    ``clip_limit`` is 0) and turned into a lookup table from its cumulative sum; each pixel takes the
    bilinear blend of the tables of the four nearest tile centres. Applied at inference too; the output
    has the input's dtype (uint8 images stay uint8, float results are truncated).

    Args:
        value_range: (low, high) of the input values (default (0, 255)).
        clip_limit: a non-negative number (default 4.0).
        tile_grid_size: (rows, cols) of tiles (default (8, 8)); an int means the same for both.
        data_format: "channels_last" (default from keras.json) or "channels_first".

    Input and output: (batch, height, width, channels) or one image (channels first with
    "channels_first").
    """

    _USE_BASE_FACTOR = False
    active_in_inference = True
    keeps_input_dtype = True

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = self._check_value_range(value_range, sort=False)
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, numbers.Real) or not clip_limit >= 0:
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: the `clip_limit` argument must be a "
                             f"non-negative number. Received: clip_limit={clip_limit!r}")
        self.clip_limit = clip_limit
        self.tile_grid_size = normalize_tuple(tile_grid_size, 2, "tile_grid_size",
                                              "ContrastLimitedAdaptiveHistogramEqualization")

    def transform_images(self, images, transformation=None, training=True):
        levels = transform_value_range(images.to(torch.float32), self.value_range, (0, 255))
        if self.data_format == "channels_first":
            levels = levels.permute(0, 2, 3, 1)
        equalized = self._equalize(levels)
        if self.data_format == "channels_first":
            equalized = equalized.permute(0, 3, 1, 2)
        return transform_value_range(equalized, (0, 255), self.value_range).to(images.dtype)

    def _equalize(self, images):
        """CLAHE of channels_last float images in [0, 255]."""
        batch, height, width, channels = images.shape
        grid_h, grid_w = self.tile_grid_size
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        padded_h, padded_w = tile_h * grid_h, tile_w * grid_w
        device = images.device
        if padded_h != height or padded_w != width:
            images = images[:, _symmetric_indices(height, padded_h, device)][:, :, _symmetric_indices(width, padded_w,
                                                                                                        device)]
        pixels = images.to(torch.int32).clamp(0, _LEVELS - 1)
        # Histograms (batch, grid_h, grid_w, channels, 256), counted in one bincount.
        tiles = pixels.reshape(batch, grid_h, tile_h, grid_w, tile_w, channels).permute(0, 1, 3, 5, 2, 4)
        offsets = torch.arange(batch * grid_h * grid_w * channels, device=device).reshape(
            batch, grid_h, grid_w, channels, 1, 1) * _LEVELS
        histograms = torch.bincount((tiles + offsets).flatten(), minlength=offsets.numel() * _LEVELS)
        histograms = histograms.reshape(batch, grid_h, grid_w, channels, _LEVELS).to(torch.float32)
        tile_pixels = tile_h * tile_w
        if self.clip_limit > 0:
            clipped = histograms.clamp(0, self.clip_limit * tile_pixels / float(_LEVELS))
            excess = (histograms - clipped).sum(dim=-1, keepdim=True)
            histograms = clipped + excess / float(_LEVELS)
        cdf = histograms.cumsum(dim=-1)
        cdf_min = cdf.amin(dim=-1, keepdim=True)
        denominator = tile_pixels - cdf_min
        tables = ((cdf - cdf_min) * 255.0 / torch.where(denominator == 0, 1.0, denominator)).clamp(0, 255)
        # One ring of edge tiles around the grid, so every pixel blends four tables.
        tables = torch.cat([tables[:, :1], tables, tables[:, -1:]], dim=1)
        tables = torch.cat([tables[:, :, :1], tables, tables[:, :, -1:]], dim=2)
        rows, row_weight = self._tile_coordinates(padded_h, tile_h, grid_h, device)
        cols, col_weight = self._tile_coordinates(padded_w, tile_w, grid_w, device)
        row_weight, col_weight = row_weight[None, :, None, None], col_weight[None, None, :, None]
        b = torch.arange(batch, device=device)[:, None, None, None]
        c = torch.arange(channels, device=device)[None, None, None, :]

        def lookup(row, col):
            return tables[b, row[None, :, None, None], col[None, None, :, None], c, pixels]

        top = lookup(rows[0], cols[0]) * (1.0 - col_weight) + lookup(rows[0], cols[1]) * col_weight
        bottom = lookup(rows[1], cols[0]) * (1.0 - col_weight) + lookup(rows[1], cols[1]) * col_weight
        return (top * (1.0 - row_weight) + bottom * row_weight)[:, :height, :width]

    @staticmethod
    def _tile_coordinates(size, tile, grid, device):
        """For each pixel along an axis: the (lower, upper) tile indices in the ringed grid, and the upper
        tile's weight."""
        position = (torch.arange(size, dtype=torch.float32, device=device) - tile / 2.0) / tile + 1.0
        lower = torch.floor(position)
        weight = position - lower
        return (lower.clamp(0, grid + 1).long(), (lower + 1.0).clamp(0, grid + 1).long()), weight

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size}
