"""Random geometric warps: RandomRotation, RandomZoom, RandomTranslation, RandomShear, RandomPerspective.

Each draws its per-image parameters once per batch and warps the whole batch with one ``grid_sample``
(``geometry.affine_transform`` / ``perspective_transform``), with Keras's transforms and fill modes.
"""

import torch

from lamina.layers.image import bounding_boxes as boxes_lib
from lamina.layers.image.base import BaseImagePreprocessingLayer, symmetric_range
from lamina.layers.image.geometry import (FILL_MODES, INTERPOLATIONS, affine_transform, compute_affine_matrix,
                                          from_nchw, perspective_transform, to_nchw)
from lamina.ops.image import compute_homography_matrix
from lamina.registry import register_builtin


class BaseWarpLayer(BaseImagePreprocessingLayer):
    """A random warp: ``interpolation``, ``fill_value``, ``seed`` (and ``fill_mode`` where the layer has one).

    Subclasses draw parameters in ``get_random_transformation`` and give ``_warp(images_nchw, transformation,
    interpolation)``; segmentation masks take the same warp with nearest sampling.
    """

    _HAS_FILL_MODE = True

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.fill_mode = self._choice(fill_mode, "fill_mode", FILL_MODES)
        self.interpolation = self._choice(interpolation, "interpolation", INTERPOLATIONS)
        self.fill_value = fill_value
        self._set_seed(seed)

    def _warp_images(self, images, transformation, interpolation):
        warped = self._warp(to_nchw(images, self.data_format), transformation, interpolation)
        return from_nchw(warped, self.data_format)

    def _transform(self, images, transformation):
        return self._warp_images(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training or transformation is None:
            return segmentation_masks
        return self._warp_images(segmentation_masks, transformation, "nearest")

    def _affine(self, images, matrix, interpolation):
        return affine_transform(images, matrix, interpolation, self.fill_mode, self.fill_value)

    def _to_xyxy(self, bounding_boxes, transformation, target="xyxy"):
        height, width = self._shape_size(transformation["input_shape"])
        return boxes_lib.convert_format(bounding_boxes, self.bounding_box_format, target, height, width), height, width

    def _shape_size(self, shape):
        return shape[self.height_axis], shape[self.width_axis]

    def _finish_boxes(self, bounding_boxes, height, width, source="xyxy"):
        bounding_boxes = boxes_lib.clip_to_image_size(bounding_boxes, height, width, source)
        return boxes_lib.convert_format(bounding_boxes, source, self.bounding_box_format, height, width)

    def get_config(self):
        config = {**super().get_config(), "interpolation": self.interpolation, "seed": self.seed,
                  "fill_value": self.fill_value}
        if self._HAS_FILL_MODE:
            config["fill_mode"] = self.fill_mode
        return config


def _map_points(transform, x, y):
    """The input point that output point (x, y) samples under (N, 8) transforms, per image."""
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, None] for t in transform.unbind(-1))
    denominator = c0 * x + c1 * y + 1
    return (a0 * x + a1 * y + a2) / denominator, (b0 * x + b1 * y + b2) / denominator


@register_builtin("keras.layers")
class RandomRotation(BaseWarpLayer):
    """Rotates each image by a random angle about its centre in training.

    Args:
        factor: a fraction of a full turn: ``f`` draws angles in ``[-f * 360, f * 360]`` degrees, a pair
            ``(low, high)`` in ``[low * 360, high * 360]`` (positive: counter-clockwise).
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest"; fill_value for "constant".
        interpolation: "bilinear" (default) or "nearest". seed, data_format: as every image layer.

    Input and output: (batch, height, width, channels) or one image; compute dtype.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, factor=factor, data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = images.shape[0]
        height, width = self._image_size(images)
        angle = self._uniform(seed, (batch,), self.factor[0] * 360.0, self.factor[1] * 360.0, images)
        zeros, ones = torch.zeros_like(angle), torch.ones_like(angle)
        matrix = compute_affine_matrix(0.5, 0.5, angle, zeros, zeros, ones, zeros, zeros, height, width)
        return {"angle": angle, "rotation_matrix": matrix, "image_height": height, "image_width": width,
                "batch_size": batch}

    def _warp(self, images, transformation, interpolation):
        return self._affine(images, transformation["rotation_matrix"], interpolation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        height, width = transformation["image_height"], transformation["image_width"]
        bounding_boxes = boxes_lib.convert_format(bounding_boxes, self.bounding_box_format, "xyxy", height, width)
        angle = transformation["angle"]
        zeros, ones = torch.zeros_like(angle), torch.ones_like(angle)
        bounding_boxes["boxes"] = boxes_lib.affine_transform(bounding_boxes["boxes"], angle, zeros, zeros, ones,
                                                             zeros, zeros, height, width)
        return self._finish_boxes(bounding_boxes, height, width)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class BaseTwoFactorWarp(BaseWarpLayer):
    """A warp with a ``height_factor`` and a ``width_factor`` (fractions of the size)."""

    _USE_BASE_FACTOR = False
    _FACTOR_LIMITS = (-1.0, 1.0)
    _OPEN_LOW = False  # RandomZoom: a zoom factor of -1 would shrink the image to nothing

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = (tuple(f) if isinstance(f, list) else f
                                                 for f in (height_factor, width_factor))
        name, limits = type(self).__name__, self._FACTOR_LIMITS
        self.height_lower, self.height_upper = symmetric_range(height_factor, "height_factor", name, *limits,
                                                               open_low=self._OPEN_LOW)
        if width_factor is not None:
            self.width_lower, self.width_upper = symmetric_range(width_factor, "width_factor", name, *limits,
                                                                 open_low=self._OPEN_LOW)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


@register_builtin("keras.layers")
class RandomZoom(BaseTwoFactorWarp):
    """Zooms each image in or out about its centre in training.

    Args:
        height_factor: fractions in (-1, 1]: ``f`` draws vertical zooms in ``[1 - f, 1 + f]``, a pair
            ``(low, high)`` in ``[1 + low, 1 + high]``; positive values zoom out, negative ones zoom in.
        width_factor: the same horizontally; None (default) keeps the aspect ratio (one zoom for both).
        fill_mode, interpolation, seed, fill_value, data_format: as RandomRotation.
    """

    _OPEN_LOW = True

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(height_factor, width_factor, fill_mode, interpolation, seed, fill_value,
                         data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        shape = (images.shape[0], 1)
        height_zoom = self._uniform(seed, shape, 1.0 + self.height_lower, 1.0 + self.height_upper, images)
        width_zoom = height_zoom if self.width_factor is None else \
            self._uniform(seed, shape, 1.0 + self.width_lower, 1.0 + self.width_upper, images)
        return {"height_zoom": height_zoom, "width_zoom": width_zoom, "input_shape": tuple(images.shape)}

    @staticmethod
    def zoom_matrix(transformation, height, width):
        zoom_x, zoom_y = transformation["width_zoom"].float(), transformation["height_zoom"].float()
        zeros = torch.zeros_like(zoom_x)
        return torch.cat([zoom_x, zeros, (width - 1.0) / 2.0 * (1.0 - zoom_x), zeros, zoom_y,
                          (height - 1.0) / 2.0 * (1.0 - zoom_y), zeros, zeros], dim=1)

    def _warp(self, images, transformation, interpolation):
        return self._affine(images, self.zoom_matrix(transformation, *images.shape[-2:]), interpolation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        bounding_boxes, height, width = self._to_xyxy(bounding_boxes, transformation)
        transform = self.zoom_matrix(transformation, height, width)
        left, top = _map_points(transform, 0, 0)
        right, bottom = _map_points(transform, width, height)
        x1, y1, x2, y2 = bounding_boxes["boxes"].unbind(-1)
        x1, x2 = (torch.minimum(torch.maximum(v, left), right) - left for v in (x1, x2))
        y1, y2 = (torch.minimum(torch.maximum(v, top), bottom) - top for v in (y1, y2))
        boxes = torch.stack([x1 / (right - left), y1 / (bottom - top), x2 / (right - left), y2 / (bottom - top)], -1)
        bounding_boxes = boxes_lib.clip_to_image_size({**bounding_boxes, "boxes": boxes},
                                                      bounding_box_format="rel_xyxy")
        return boxes_lib.convert_format(bounding_boxes, "rel_xyxy", self.bounding_box_format, height, width)


@register_builtin("keras.layers")
class RandomTranslation(BaseTwoFactorWarp):
    """Shifts each image by a random offset in training.

    Args:
        height_factor, width_factor: fractions of the height/width in [-1, 1]: ``f`` draws shifts in
            ``[-f, f]`` times the size, a pair ``(low, high)`` in ``[low, high]`` times the size (positive:
            down / right).
        fill_mode, interpolation, seed, fill_value, data_format: as RandomRotation.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(height_factor, width_factor, fill_mode, interpolation, seed, fill_value,
                         data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        height, width = self._image_size(images)
        shape = (images.shape[0], 1)
        shift_y = self._uniform(seed, shape, self.height_lower, self.height_upper, images) * height
        shift_x = self._uniform(seed, shape, self.width_lower, self.width_upper, images) * width
        return {"translations": torch.cat([shift_x, shift_y], dim=1).float(), "input_shape": tuple(images.shape)}

    @staticmethod
    def translation_matrix(translations):
        ones, zeros = torch.ones_like(translations[:, :1]), torch.zeros_like(translations[:, :1])
        return torch.cat([ones, zeros, -translations[:, :1], zeros, ones, -translations[:, 1:], zeros, zeros], dim=1)

    def _warp(self, images, transformation, interpolation):
        return self._affine(images, self.translation_matrix(transformation["translations"]), interpolation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        bounding_boxes, height, width = self._to_xyxy(bounding_boxes, transformation)
        shift = transformation["translations"].to(bounding_boxes["boxes"].dtype)
        bounding_boxes["boxes"] = bounding_boxes["boxes"] + shift.repeat(1, 2)[:, None, :]
        return self._finish_boxes(bounding_boxes, height, width)


@register_builtin("keras.layers")
class RandomShear(BaseWarpLayer):
    """Shears each image along x and/or y (about the top-left corner, as Keras) in training.

    Args:
        x_factor, y_factor: shear amounts in [0, 1]: ``f`` draws magnitudes in ``[-f, f]``, a pair in
            ``[low, high]``; each image's shear takes a random sign.
        interpolation, fill_mode, fill_value, data_format, seed: as RandomRotation.
    """

    _USE_BASE_FACTOR = False

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format=data_format, **kwargs)
        # A number is a magnitude in [0, 1]; a pair may reach -1, so the stored (-f, f) loads back (Keras 3.15
        # refuses its own saved config there).
        self.x_factor = symmetric_range(x_factor, "x_factor", "RandomShear", 0, 1, pair_low=-1)
        self.y_factor = symmetric_range(y_factor, "y_factor", "RandomShear", 0, 1, pair_low=-1)

    def get_random_transformation(self, images, training=True, seed=None):
        shape, dtype = (images.shape[0], 1), self._compute_torch_dtype
        invert = self._uniform(seed, shape, 0, 1, images, dtype)
        invert = torch.where(invert > 0.5, -torch.ones_like(invert), torch.ones_like(invert))
        shear_y = self._uniform(seed, shape, self.y_factor[0], self.y_factor[1], images, dtype)
        shear_x = self._uniform(seed, shape, self.x_factor[0], self.x_factor[1], images, dtype)
        return {"shear_factor": torch.cat([shear_x, shear_y], dim=1) * invert, "input_shape": tuple(images.shape)}

    @staticmethod
    def shear_matrix(shear_factor):
        ones, zeros = torch.ones_like(shear_factor[:, 0]), torch.zeros_like(shear_factor[:, 0])
        return torch.stack([ones, shear_factor[:, 0], zeros, shear_factor[:, 1], ones, zeros, zeros, zeros], dim=1)

    def _warp(self, images, transformation, interpolation):
        return self._affine(images, self.shear_matrix(transformation["shear_factor"]), interpolation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        bounding_boxes, height, width = self._to_xyxy(bounding_boxes, transformation, "rel_xyxy")
        shear = transformation["shear_factor"].to(bounding_boxes["boxes"].dtype)
        shear_x, shear_y = shear[:, :1], shear[:, 1:]
        x1, y1, x2, y2 = bounding_boxes["boxes"].unbind(-1)
        x1 = torch.where(shear_x < 0, x1 - shear_x * y1, x1 - shear_x * y2)
        x2 = torch.where(shear_x < 0, x2 - shear_x * y2, x2 - shear_x * y1)
        y1 = torch.where(shear_y > 0, y1 - shear_y * x2, y1 - shear_y * x1)
        y2 = torch.where(shear_y > 0, y2 - shear_y * x1, y2 - shear_y * x2)
        bounding_boxes["boxes"] = torch.stack([x1, y1, x2, y2], dim=-1)
        return self._finish_boxes(bounding_boxes, height, width, "rel_xyxy")

    def get_config(self):
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor}


@register_builtin("keras.layers")
class RandomPerspective(BaseWarpLayer):
    """Moves each image's corners by random offsets (a perspective warp) with probability drawn from
    ``factor``, in training.

    Args:
        factor: the probability range of applying the warp, in [0, 1] (default 1.0: always).
        scale: in [0, 1], the largest corner offset as a fraction of the image size (times 1/2).
        interpolation: "bilinear" or "nearest"; fill_value: for points outside the image.
        seed, data_format: as every image layer.
    """

    _FACTOR_BOUNDS = (0, 1)
    _HAS_FILL_MODE = False  # always "constant"

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0, seed=None, data_format=None,
                 **kwargs):
        super().__init__("constant", interpolation, seed, fill_value, factor=factor, data_format=data_format,
                         **kwargs)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0.0 <= scale <= 1.0:
            raise ValueError(f"RandomPerspective: the `scale` argument must be a number in [0, 1]. "
                             f"Received: scale={scale!r}")
        self.scale = scale

    def get_random_transformation(self, images, training=True, seed=None):
        batch = images.shape[0]
        height, width = self._image_size(images)
        probability = self._uniform(seed, (batch,), self.factor[0], self.factor[1], images)
        threshold = self._uniform(seed, (batch,), 0.0, 1.0, images)
        offsets = self._uniform(seed, (batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale, images,
                             self._compute_torch_dtype)
        corners = torch.tensor([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]],
                               dtype=self._compute_torch_dtype, device=images.device)
        start_points = corners.expand(batch, 4, 2)
        return {"apply_perspective": threshold < probability, "start_points": start_points,
                "end_points": start_points + start_points * offsets, "input_shape": tuple(images.shape)}

    def _warp(self, images, transformation, interpolation):
        warped = perspective_transform(images, transformation["start_points"], transformation["end_points"],
                                       interpolation, self.fill_value)
        return torch.where(transformation["apply_perspective"][:, None, None, None], warped, images)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        bounding_boxes, height, width = self._to_xyxy(bounding_boxes, transformation)
        boxes = bounding_boxes["boxes"]
        homography = compute_homography_matrix(transformation["start_points"], transformation["end_points"])
        inverse = torch.linalg.inv(torch.cat([homography, torch.ones_like(homography[:, :1])], 1).reshape(-1, 3, 3))
        x1, y1, x2, y2 = boxes.unbind(-1)
        corners = torch.stack([torch.stack([x, y, torch.ones_like(x)], -1)
                               for x, y in ((x1, y1), (x2, y2), (x1, y2), (x2, y1))], dim=-2)  # (b, n, 4, 3)
        moved = torch.einsum("bij,bnkj->bnki", inverse.to(boxes.dtype), corners)
        xs, ys = moved[..., 0] / moved[..., 2], moved[..., 1] / moved[..., 2]
        warped = torch.stack([xs.amin(-1), ys.amin(-1), xs.amax(-1), ys.amax(-1)], dim=-1)
        boxes = torch.where(transformation["apply_perspective"][:, None, None], warped, boxes)
        return self._finish_boxes({**bounding_boxes, "boxes": boxes}, height, width)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale}
