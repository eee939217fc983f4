"""The base of every image preprocessing layer: Keras 3's ``BaseImagePreprocessingLayer`` contract on torch.

A call draws the batch's random transformation once (``get_random_transformation``: per-image parameters
as tensors, in a dict shaped like Keras's), then applies it (``transform_images``, and for dict inputs
``transform_labels``, ``transform_bounding_boxes``, ``transform_segmentation_masks``). The two halves are
public so a transform can be applied, and tested, at fixed parameters.

Images are ``(batch, height, width, channels)`` (or channels first), or one image without the batch axis;
the hooks always see a batch. Augmentation layers are identity unless called in training (``training=True``,
``model.train()``, ``fit``); layers with ``active_in_inference`` (Resizing, CenterCrop, AutoContrast,
Equalization, and RandomCrop's centre crop) transform at inference too. Outputs are in the layer's compute
dtype (uint8 images come out float32), except where a layer says otherwise (Resizing keeps the dtype).
"""

import numbers

import torch

from lamina.dtypes import TORCH_DTYPES
from lamina.engine.layer import Layer
from lamina.layers.image import bounding_boxes as boxes_lib
from lamina.layers.image import randomness
from lamina.layers.image.randomness import SeedStream
from lamina.ops.arguments import check_seed, normalize_data_format


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def symmetric_range(factor, name, owner, low, high, open_low=False, pair_low=None):
    """The factor rule of Keras's geometric layers: ``f`` -> ``(-|f|, |f|)``, a pair -> sorted, every value
    in [low, high] ((low, high] with ``open_low``; a pair's values from ``pair_low`` when given)."""
    pair = isinstance(factor, (tuple, list))
    values = tuple(factor) if pair else (factor,)
    floor = pair_low if pair and pair_low is not None else low
    if len(values) not in (1, 2) or not all(_is_number(v) and (floor < v if open_low else floor <= v) and v <= high
                                            for v in values):
        raise ValueError(f"{owner}: the `{name}` argument must be a number or a pair of numbers in "
                         f"{'(' if open_low else '['}{floor}, {high}]. Received: {name}={factor!r}")
    return tuple(sorted(values)) if len(values) == 2 else (-abs(values[0]), abs(values[0]))


class BaseImagePreprocessingLayer(Layer):
    """Shared call flow, factor and value-range checks, seeding and data format of the image layers.

    Args:
        factor: for layers that take one, a number ``f`` (the range ``(-f, f)``, clipped to the layer's
            bounds) or a pair ``(low, high)``; stored as the ``(low, high)`` tuple, as Keras.
        bounding_box_format: the format of ``"bounding_boxes"`` in dict inputs (see ``bounding_boxes.py``).
        data_format: "channels_last" (default from keras.json) or "channels_first".
    """

    casts_integer_inputs = False  # images: each layer converts uint8/int inputs itself

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (-1, 1)
    active_in_inference = False
    keeps_input_dtype = False
    batch_only = False  # mixes images of a batch (CutMix): one image passes through

    def __init__(self, factor=None, bounding_box_format=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.bounding_box_format = boxes_lib.check_format(bounding_box_format, type(self).__name__)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        if self._USE_BASE_FACTOR:
            self._set_factor(factor or 0.0)
        elif factor is not None:
            raise ValueError(f"{type(self).__name__} does not take a `factor` argument. Received: factor={factor}")
        first = self.data_format == "channels_first"
        self.height_axis, self.width_axis, self.channel_axis = (-2, -1, -3) if first else (-3, -2, -1)
        self._compute_torch_dtype = TORCH_DTYPES[self.dtype_policy.compute_dtype]

    # ------------------------------------------------------------------ argument checks
    def _factor_range(self, factor, name="factor", bounds=None):
        """Keras's factor rule: a number ``f`` -> ``(max(-|f|, low), |f|)``; a pair -> sorted, where the pair
        must overlap the bounds."""
        low, high = bounds or self._FACTOR_BOUNDS
        message = (f"{type(self).__name__}: the `{name}` argument must be a number or a pair of numbers in "
                   f"[{low}, {high}]. Received: {name}={factor!r}")
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or not all(_is_number(f) for f in factor) or factor[0] > high or factor[1] < low:
                raise ValueError(message)
            return tuple(sorted(factor))
        if not _is_number(factor) or not low <= factor <= high:
            raise ValueError(message)
        return max(-abs(factor), low), abs(factor)

    def _set_factor(self, factor):
        self.factor = self._factor_range(factor)

    def _check_value_range(self, value_range, sort=True):
        """A (low, high) pair: sorted into a list when ``sort`` (as the Keras layers that sort it store it)."""
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 or \
                not all(_is_number(v) for v in value_range):
            raise ValueError(f"{type(self).__name__}: the `value_range` argument must be a pair of numbers (low, "
                             f"high). Received: value_range={value_range!r}")
        return sorted(value_range) if sort else tuple(value_range)

    def _choice(self, value, name, allowed):
        if value not in allowed:
            raise ValueError(f"{type(self).__name__}: the `{name}` argument must be one of {allowed}. "
                             f"Received: {name}={value!r}")
        return value

    def _set_seed(self, seed):
        self.seed = check_seed(seed, type(self).__name__)
        self._stream = SeedStream(self.seed)

    def _uniform(self, seed, shape, minval, maxval, images, dtype=torch.float32):
        """A uniform draw on ``images``' device from ``seed`` (a SeedStream) or the layer's own stream."""
        return randomness.uniform(seed or self._stream, shape, minval, maxval, dtype=dtype, device=images.device)

    # ------------------------------------------------------------------ hooks
    def get_random_transformation(self, images, training=True, seed=None):
        """The batch's transformation parameters for ``images`` (batch, ...), drawn from ``seed`` (a
        ``SeedStream``; default: the layer's own); None when the layer draws nothing."""
        return None

    def transform_images(self, images, transformation, training=True):
        """``images`` (batch, ...) under ``transformation`` (``_transform``) in training, else unchanged;
        always in the compute dtype."""
        images = images.to(self._compute_torch_dtype)
        if not training or transformation is None:
            return images
        return self._transform(images, transformation)

    def _transform(self, images, transformation):
        raise NotImplementedError

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return segmentation_masks

    # ------------------------------------------------------------------ calling
    def _image_size(self, images):
        return images.shape[self.height_axis], images.shape[self.width_axis]

    def _batched(self, images, key="images"):
        if not isinstance(images, torch.Tensor):
            images = torch.as_tensor(images)
        if images.dim() in (3, 4):
            self.compute_image_shape(tuple(images.shape))  # the shape contract, checked once for call and shapes
            return (images, True) if images.dim() == 4 else (images.unsqueeze(0), False)
        raise ValueError(f"{type(self).__name__}: expected {key} of rank 3 (one image) or 4 (a batch of images). "
                         f"Received: shape={tuple(images.shape)}")

    def _convert_input(self, value):
        if isinstance(value, dict) and "bounding_boxes" in value:  # boxes may be ragged lists: padded here
            return {**super()._convert_input({k: v for k, v in value.items() if k != "bounding_boxes"}),
                    "bounding_boxes": boxes_lib.densify_bounding_boxes(value["bounding_boxes"])}
        return super()._convert_input(value)

    def _active(self, training, batched):
        return (training or self.active_in_inference) and (batched or not self.batch_only)

    def _prepare(self, images):
        return images if self.keeps_input_dtype else images.to(self._compute_torch_dtype)

    def call(self, data, training=None):
        if isinstance(data, dict):
            return self._call_on_dict(data, bool(training))
        images, batched = self._batched(data)
        images = self._prepare(images)
        if self._active(training, batched):
            transformation = self.get_random_transformation(images, training=bool(training))
            images = self.transform_images(images, transformation, training=bool(training))
        return images if batched else images.squeeze(0)

    def _call_on_dict(self, data, training):
        if "images" not in data:
            raise ValueError(f"{type(self).__name__}: a dict input needs an 'images' entry. Received keys: "
                             f"{sorted(data)}")
        images, batched = self._batched(data["images"])
        images = self._prepare(images)
        active = self._active(training, batched)
        transformation = self.get_random_transformation(images, training=training) if active else None
        outputs = dict(data)
        outputs["images"] = self.transform_images(images, transformation, training) if active else images
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise ValueError(f"{type(self).__name__}: the input has 'bounding_boxes' but the layer has no "
                                 "`bounding_box_format`; pass one, e.g. bounding_box_format='xyxy'.")
            boxes = boxes_lib.densify_bounding_boxes(data["bounding_boxes"], device=images.device)
            if not batched:
                boxes = {**boxes, "boxes": boxes["boxes"].unsqueeze(0), "labels": boxes["labels"].unsqueeze(0)}
            if active:
                boxes = self.transform_bounding_boxes(boxes, transformation, training)
            if not batched:
                boxes = {**boxes, "boxes": boxes["boxes"].squeeze(0), "labels": boxes["labels"].squeeze(0)}
            outputs["bounding_boxes"] = boxes
        for key, hook in (("labels", self.transform_labels),
                          ("segmentation_masks", self.transform_segmentation_masks)):
            if key in data:
                value = torch.as_tensor(data[key], device=images.device)
                value = value if batched else value.unsqueeze(0)
                if active:
                    value = hook(value, transformation, training)
                outputs[key] = value if batched else value.squeeze(0)
        if not batched:
            outputs["images"] = outputs["images"].squeeze(0)
        return outputs

    # ------------------------------------------------------------------ shapes and config
    def compute_image_shape(self, input_shape):
        """The output shape of images of ``input_shape`` (rank 3 or 4)."""
        return tuple(input_shape)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            return {**input_shape, "images": self.compute_image_shape(input_shape["images"])}
        return self.compute_image_shape(input_shape)

    def get_config(self):
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config
