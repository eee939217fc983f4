"""RandomFlip and RandomCrop."""

import random

import torch

from lamina.layers.image import bounding_boxes as boxes_lib
from lamina.layers.image import randomness
from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.layers.image.resizing import BaseSizeLayer
from lamina.ops.image import aspect_ratio_crop_box
from lamina.registry import register_builtin

HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL = "horizontal", "vertical", "horizontal_and_vertical"


@register_builtin("keras.layers")
class RandomFlip(BaseImagePreprocessingLayer):
    """Flips each image with probability 1/2 in training.

    Args:
        mode: "horizontal" (left-right), "vertical" (top-bottom) or "horizontal_and_vertical" (default: as
            in Keras 3, one draw per image flips both axes together).
        seed: int for a reproducible sequence (Keras's seed semantics).
        data_format: "channels_last" or "channels_first".

    Input and output: (batch, height, width, channels) or one image; compute dtype.
    """

    _USE_BASE_FACTOR = False

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.mode = self._choice(mode, "mode", (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL))
        self._set_seed(seed)
        self._flip_axes = {HORIZONTAL: (self.width_axis,), VERTICAL: (self.height_axis,),
                           HORIZONTAL_AND_VERTICAL: (self.height_axis, self.width_axis)}[self.mode]

    def get_random_transformation(self, images, training=True, seed=None):
        draws = self._uniform(seed, (images.shape[0], 1, 1, 1), 0.0, 1.0, images)
        return {"flips": draws <= 0.5, "input_shape": tuple(images.shape)}

    def _transform(self, images, transformation):
        return torch.where(transformation["flips"], images.flip(self._flip_axes), images)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        shape = transformation["input_shape"]
        height, width = shape[self.height_axis], shape[self.width_axis]
        bounding_boxes = boxes_lib.convert_format(bounding_boxes, self.bounding_box_format, "rel_xyxy", height,
                                                  width)
        flips = transformation["flips"].reshape(-1, 1, 1)
        x1, y1, x2, y2 = bounding_boxes["boxes"].unbind(-1)
        if self.mode != VERTICAL:
            x1, x2 = 1 - x2, 1 - x1
        if self.mode != HORIZONTAL:
            y1, y2 = 1 - y2, 1 - y1
        bounding_boxes["boxes"] = torch.where(flips, torch.stack([x1, y1, x2, y2], dim=-1), bounding_boxes["boxes"])
        bounding_boxes = boxes_lib.clip_to_image_size(bounding_boxes, height, width)
        return boxes_lib.convert_format(bounding_boxes, "rel_xyxy", self.bounding_box_format, height, width)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


@register_builtin("keras.layers")
class RandomCrop(BaseSizeLayer):
    """Crops a random (``height``, ``width``) window in training, at one location for the whole batch (as
    Keras); at inference, and for images not larger than the target, crops the largest centred window of
    the target aspect ratio and resizes it (bilinear), as Keras documents.

    Args:
        height, width: the output size.
        seed: int for a reproducible sequence; when None a random int is recorded in the config (as Keras)
            while the draws use torch's global RNG.
        data_format: "channels_last" or "channels_first".

    Input: (batch, height, width, channels) or one image. Output: the target size, compute dtype.
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(height, width, data_format=data_format, name=name, **kwargs)
        self._set_seed(seed)
        if seed is None:
            self.seed = random.randint(1, int(1e9))

    def get_random_transformation(self, images, training=True, seed=None):
        """The window: {"top", "left", "crop_height", "crop_width"} and the input's (height, width)."""
        height, width = self._image_size(images)
        if training and height > self.height and width > self.width:
            # The window is a slice, so its offsets are needed on the host: drawn on the CPU (no device sync).
            stream = seed or self._stream
            top = int(randomness.uniform(stream, (), 0, float(height - self.height + 1), device="cpu"))
            left = int(randomness.uniform(stream, (), 0, float(width - self.width + 1), device="cpu"))
            window = (top, left, self.height, self.width)
        else:
            window = aspect_ratio_crop_box(height, width, self.height, self.width)
        return {**dict(zip(("top", "left", "crop_height", "crop_width"), window)), "image_size": (height, width)}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._compute_torch_dtype)
        top, left = transformation["top"], transformation["left"]
        bottom, right = top + transformation["crop_height"], left + transformation["crop_width"]
        if self.data_format == "channels_first":
            images = images[..., top:bottom, left:right]
        else:
            images = images[..., top:bottom, left:right, :]
        if images.shape[self.height_axis] != self.height or images.shape[self.width_axis] != self.width:
            images = self._resize(images)
        return images

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        # Keras 3.15 subtracts the vertical offset from x and the horizontal one from y; boxes here move with
        # the window (docs/keras_torch_departures.md).
        height, width = transformation["image_size"]
        crop_height, crop_width = transformation["crop_height"], transformation["crop_width"]
        bounding_boxes = boxes_lib.convert_format(bounding_boxes, self.bounding_box_format, "xyxy", height, width)
        boxes = boxes_lib.crop(bounding_boxes["boxes"], transformation["top"], transformation["left"], crop_height,
                               crop_width)
        boxes = boxes * boxes.new_tensor([self.width / crop_width, self.height / crop_height] * 2)
        bounding_boxes = boxes_lib.clip_to_image_size({**bounding_boxes, "boxes": boxes}, self.height, self.width)
        return boxes_lib.convert_format(bounding_boxes, "xyxy", self.bounding_box_format, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
