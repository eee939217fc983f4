"""MaxNumBoundingBoxes: a fixed number of boxes per image, for batching detection data."""

import torch.nn.functional as F

from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.ops.arguments import check_int, check_positive_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class MaxNumBoundingBoxes(BaseImagePreprocessingLayer):
    """Pads or truncates the boxes of dict inputs to ``max_number`` per image: boxes ``(batch, max_number, 4)``,
    labels ``(batch, max_number)``; padding boxes are ``[fill_value] * 4`` with label ``fill_value``, and boxes
    past ``max_number`` are dropped (the first ones are kept). Images, labels and segmentation masks pass
    unchanged (uint8 images stay uint8), at inference too.

    Args:
        max_number: the number of boxes per image (a positive int).
        fill_value: the int value of padding boxes and labels (default -1).
        bounding_box_format: the boxes' format, required for inputs with boxes (the layer does not read it).

    >>> layer = MaxNumBoundingBoxes(max_number=10, bounding_box_format="xyxy")
    >>> out = layer({"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}})
    """

    _USE_BASE_FACTOR = False
    active_in_inference = True
    keeps_input_dtype = True

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        self.max_number = check_positive_int(max_number, "max_number", "MaxNumBoundingBoxes")
        self.fill_value = check_int(fill_value, "fill_value", "MaxNumBoundingBoxes")

    def transform_images(self, images, transformation=None, training=True):
        return images

    def transform_bounding_boxes(self, bounding_boxes, transformation=None, training=True):
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        pad = max(self.max_number - boxes.shape[1], 0)
        boxes = F.pad(boxes[:, :self.max_number], (0, 0, 0, pad), value=self.fill_value)
        labels = F.pad(labels[:, :self.max_number], (0, pad), value=self.fill_value)
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, dict) or "bounding_boxes" not in input_shape:
            return super().compute_output_shape(input_shape)
        shapes = input_shape["bounding_boxes"]
        extra = sorted(set(shapes) - {"boxes", "labels"})
        if extra:
            raise ValueError(f"MaxNumBoundingBoxes: `bounding_boxes` may hold only 'boxes' and 'labels'. "
                             f"Received extra keys: {extra}")
        boxes, labels = tuple(shapes["boxes"]), tuple(shapes["labels"])
        return {**super().compute_output_shape(input_shape),
                "bounding_boxes": {"boxes": boxes[:-2] + (self.max_number,) + boxes[-1:],
                                   "labels": labels[:-1] + (self.max_number,)}}

    def get_config(self):
        # Keras 3.15's config omits `fill_value` (a reloaded layer pads with -1); lamina keeps it, and Keras's
        # from_config accepts it (docs/preprocessing.md).
        return {**super().get_config(), "max_number": self.max_number, "fill_value": self.fill_value}
