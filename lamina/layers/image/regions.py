"""Augmentations on image regions and across the batch: RandomErasing, CutMix, MixUp."""

import torch

from lamina.layers.image import randomness
from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.registry import register_builtin


class BaseRegionLayer(BaseImagePreprocessingLayer):
    """Draws one random rectangle per image, as Keras: side ``ratio * size`` starting at ``uniform * (size -
    side)`` along each axis."""

    _FACTOR_BOUNDS = (0, 1)

    def _span(self, seed, batch, size, ratio, images):
        length = (ratio * size).to(self._compute_torch_dtype)
        start = self._uniform(seed, (batch,), 0, 1, images, self._compute_torch_dtype) * (size - length)
        return start, start + length

    def _rectangles(self, seed, images, ratio_x, ratio_y):
        """(x0, x1, y0, y1) per image and the (batch, ...) mask of the pixels inside, shaped like ``images``."""
        batch = images.shape[0]
        height, width = self._image_size(images)
        x0, x1 = self._span(seed, batch, width, ratio_x, images)
        y0, y1 = self._span(seed, batch, height, ratio_y, images)
        grid_y = torch.arange(height, dtype=self._compute_torch_dtype, device=images.device)[:, None]
        grid_x = torch.arange(width, dtype=self._compute_torch_dtype, device=images.device)[None, :]
        x0, x1, y0, y1 = (v[:, None, None] for v in (x0, x1, y0, y1))
        inside = (grid_x >= x0) & (grid_x < x1) & (grid_y >= y0) & (grid_y < y1)  # (batch, height, width)
        return (x0, x1, y0, y1), inside.unsqueeze(self.channel_axis).expand(images.shape)


@register_builtin("keras.layers")
class RandomErasing(BaseRegionLayer):
    """Fills a random rectangle of the images drawn (probability per image drawn from ``factor``) with
    ``fill_value`` (a number, 3 per-channel numbers, or None: Gaussian noise times ``value_range`` high),
    clipped to ``value_range``; each side is ``sqrt(s)`` of the image's, ``s`` drawn from ``scale``."""

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.scale = self._factor_range(scale, "scale")
        if fill_value is not None and not (isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool)
                                           or isinstance(fill_value, (tuple, list)) and len(fill_value) == 3):
            raise ValueError(f"RandomErasing: the `fill_value` argument must be None, a number or 3 numbers. "
                             f"Received: fill_value={fill_value!r}")
        self.fill_value = tuple(fill_value) if isinstance(fill_value, list) else fill_value
        self.value_range = self._check_value_range(value_range, sort=False)
        self._set_seed(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        batch, dtype = images.shape[0], self._compute_torch_dtype
        sides = torch.sqrt(self._uniform(seed, (batch, 2), self.scale[0], self.scale[1], images, dtype))
        _, masks = self._rectangles(seed, images, sides[:, 0], sides[:, 1])
        probability = self._uniform(seed, (batch,), self.factor[0], self.factor[1], images)
        threshold = self._uniform(seed, (batch,), 0.0, 1.0, images)
        return {"apply_erasing": threshold < probability, "batch_masks": masks,
                "fill_value": self._fill(seed, images)}

    def _fill(self, seed, images):
        dtype = self._compute_torch_dtype
        if self.fill_value is None:
            noise = randomness.normal(seed or self._stream, images.shape, dtype=dtype, device=images.device)
            fill = noise * self.value_range[1]
        else:
            fill = torch.as_tensor(self.fill_value, dtype=dtype, device=images.device)
            if fill.dim():
                shape = [1] * images.dim()
                shape[self.channel_axis] = 3
                fill = fill.reshape(shape)
            fill = fill.expand(images.shape)
        return torch.clip(fill, *self.value_range)

    def _transform(self, images, transformation):
        erased = torch.where(transformation["batch_masks"], transformation["fill_value"], images)
        return torch.where(transformation["apply_erasing"][:, None, None, None], erased, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}


@register_builtin("keras.layers")
class CutMix(BaseRegionLayer):
    """Pastes a random rectangle of another image of the batch into each image and mixes the labels by the
    pasted area (Yun et al., 2019). The rectangle's area fraction is ``1 - w``, ``w ~ Beta(a, a)`` with
    ``a`` drawn from ``factor`` (in [0, 1]). Unbatched images pass through. Bounding boxes: not
    supported (as Keras)."""

    batch_only = True

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self._set_seed(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        batch, dtype = images.shape[0], self._compute_torch_dtype
        height, width = self._image_size(images)
        alpha = self._uniform(seed, (), self.factor[0], self.factor[1], images, dtype) + 1e-6
        weight = randomness.beta(seed or self._stream, (batch,), alpha, alpha, dtype, images.device)
        ratio = torch.sqrt(1.0 - weight)
        (x0, x1, y0, y1), masks = self._rectangles(seed, images, ratio, ratio)
        order = randomness.permutation(seed or self._stream, batch, torch.int32, images.device)
        return {"permutation_order": order, "batch_masks": masks,
                "mix_weight": (1.0 - (x1 - x0) * (y1 - y0) / (width * height)).reshape(-1, 1)}

    def _transform(self, images, transformation):
        return torch.where(transformation["batch_masks"], images[transformation["permutation_order"]], images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        weight = transformation["mix_weight"]
        return weight * labels + (1.0 - weight) * labels[transformation["permutation_order"]]

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        raise NotImplementedError("CutMix does not transform bounding boxes (as in Keras 3).")

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


@register_builtin("keras.layers")
class MixUp(BaseImagePreprocessingLayer):
    """Blends each image (and its label) with another of the batch: ``w x + (1 - w) x'``, ``w ~ Beta(alpha,
    alpha)`` per image (Zhang et al., 2018). Bounding boxes of both images are kept (concatenated)."""

    _USE_BASE_FACTOR = False

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"MixUp: the `alpha` argument must be a positive number. Received: alpha={alpha!r}")
        self.alpha = alpha
        self._set_seed(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        batch = images.shape[0]
        order = randomness.permutation(seed or self._stream, batch, torch.int64, images.device)
        weight = randomness.beta(seed or self._stream, (batch,), self.alpha, self.alpha, device=images.device)
        return {"mix_weight": weight, "permutation_order": order}

    def _mix(self, values, transformation):
        weight = transformation["mix_weight"].to(values.dtype if values.is_floating_point() else torch.float32)
        weight = weight.reshape((-1,) + (1,) * (values.dim() - 1))
        return weight * values + (1.0 - weight) * values[transformation["permutation_order"]]

    def _transform(self, images, transformation):
        return self._mix(images, transformation)

    def transform_labels(self, labels, transformation, training=True):
        return self._mix(labels, transformation) if training and transformation is not None else labels

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_labels(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        order = transformation["permutation_order"]
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        # Keras 3.15 concatenates the labels along the batch axis; they follow their boxes here.
        return {**bounding_boxes, "boxes": torch.cat([boxes, boxes[order]], dim=1),
                "labels": torch.cat([labels, labels[order]], dim=1)}

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}
