"""Resizing and CenterCrop: deterministic size changes, active at inference too."""

import torch

from lamina.layers.image import bounding_boxes as boxes_lib
from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.layers.image.geometry import RESIZE_INTERPOLATIONS, from_nchw, lanczos_weights, resize, to_nchw
from lamina.ops.arguments import check_positive_int
from lamina.ops.image import aspect_ratio_crop_box
from lamina.registry import register_builtin


class BaseSizeLayer(BaseImagePreprocessingLayer):
    """A layer with a target ``height`` and ``width`` that replace the input's spatial size."""

    _USE_BASE_FACTOR = False
    active_in_inference = True

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        self.height = check_positive_int(height, "height", type(self).__name__)
        self.width = check_positive_int(width, "width", type(self).__name__)

    def compute_image_shape(self, input_shape):
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected an input shape of rank 3 or 4. "
                             f"Received: input_shape={tuple(input_shape)}")
        shape[self.height_axis], shape[self.width_axis] = self.height, self.width
        return tuple(shape)

    def _resize(self, images, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
                pad_to_aspect_ratio=False, fill_value=0.0, lanczos_matrices=None):
        """``images`` (batch, ...) resized to (height, width) in their own layout; float work, integer images
        rounded and saturated back to their dtype."""
        dtype = images.dtype
        work = images if dtype in (torch.float32, torch.float64) else images.to(torch.float32)
        resized = resize(to_nchw(work, self.data_format), (self.height, self.width), interpolation, antialias,
                         crop_to_aspect_ratio, pad_to_aspect_ratio, fill_value, lanczos_matrices)
        resized = from_nchw(resized, self.data_format)
        if dtype.is_floating_point:
            return resized.to(dtype)
        limits = torch.iinfo(dtype)
        return resized.round().clamp(limits.min, limits.max).to(dtype)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


@register_builtin("keras.layers")
class Resizing(BaseSizeLayer):
    """Resizes images to (``height``, ``width``).

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default), "nearest", "bicubic" (PyTorch's kernels, as Keras on torch),
            "lanczos3", "lanczos5" (as Keras on JAX; Keras on torch refuses them).
        crop_to_aspect_ratio: crop the largest centred window of the target aspect ratio first.
        pad_to_aspect_ratio: pad the short side with ``fill_value`` to the target aspect ratio first.
        fill_mode: "constant" (the only mode, as in Keras). fill_value: the padding value.
        antialias: low-pass filter when downsampling (bilinear, bicubic, Lanczos).
        data_format: "channels_last" or "channels_first".

    Input: (batch, height, width, channels) or one image (height, width, channels) (channels first:
    (batch, channels, height, width)), any dtype. Output: the same with the new size and the input's dtype
    (integers rounded and saturated). Active at inference too.
    """

    keeps_input_dtype = True

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False, data_format=None,
                 **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        self.interpolation = self._choice(interpolation, "interpolation", RESIZE_INTERPOLATIONS)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = self._choice(fill_mode, "fill_mode", ("constant",))
        self.fill_value = fill_value
        self.antialias = bool(antialias)
        self._lanczos_cache = {}

    def _lanczos_matrices(self, dtype, device):
        radius = int(self.interpolation[-1])

        def matrices(height, width):
            key = (height, width, dtype, device)
            if key not in self._lanczos_cache:  # one pair per input size, made at the first call
                self._lanczos_cache[key] = (lanczos_weights(height, self.height, radius, self.antialias, dtype, device),
                                            lanczos_weights(width, self.width, radius, self.antialias, dtype, device))
            return self._lanczos_cache[key]
        return matrices

    def get_random_transformation(self, images, training=True, seed=None):
        return self._image_size(images)

    def transform_images(self, images, transformation=None, training=True):
        lanczos = self._lanczos_matrices(torch.promote_types(images.dtype, torch.float32), images.device) \
            if self.interpolation.startswith("lanczos") else None
        return self._resize(images, self.interpolation, self.antialias, self.crop_to_aspect_ratio,
                            self.pad_to_aspect_ratio, self.fill_value, lanczos)

    def transform_segmentation_masks(self, segmentation_masks, transformation=None, training=True):
        return self._resize(segmentation_masks, "nearest", False, self.crop_to_aspect_ratio,
                            self.pad_to_aspect_ratio, self.fill_value)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        input_height, input_width = transformation
        boxes = bounding_boxes["boxes"]
        padding_slots = (boxes == -1).all(dim=-1) | (boxes == 0).all(dim=-1)
        bounding_boxes = boxes_lib.convert_format(bounding_boxes, self.bounding_box_format, "xyxy", input_height,
                                                  input_width)
        scale_x, scale_y, offset_x, offset_y = self._box_mapping(input_height, input_width)
        x1, y1, x2, y2 = bounding_boxes["boxes"].unbind(-1)
        bounding_boxes["boxes"] = torch.stack([x1 * scale_x + offset_x, y1 * scale_y + offset_y,
                                               x2 * scale_x + offset_x, y2 * scale_y + offset_y], dim=-1)
        bounding_boxes = boxes_lib.clip_to_image_size(bounding_boxes, self.height, self.width)
        bounding_boxes["boxes"] = torch.where(padding_slots[..., None], 0.0, bounding_boxes["boxes"])
        return boxes_lib.convert_format(bounding_boxes, "xyxy", self.bounding_box_format, self.height, self.width)

    def _box_mapping(self, input_height, input_width):
        """(scale_x, scale_y, offset_x, offset_y) taking input pixel coordinates to output ones, as Keras."""
        if self.pad_to_aspect_ratio:
            scale = min(self.height / input_height, self.width / input_width)
            return (scale, scale, (self.width - input_width * scale) // 2, (self.height - input_height * scale) // 2)
        if self.crop_to_aspect_ratio:
            source, target = input_width / input_height, self.width / self.height
            new_width = self.height * source if source > target else self.width
            new_height = self.height if source > target else self.width / source
            return (new_width / input_width, new_height / input_height, -((new_width - self.width) // 2),
                    -((new_height - self.height) // 2))
        return self.width / input_width, self.height / input_height, 0.0, 0.0

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio, "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
                "fill_mode": self.fill_mode, "fill_value": self.fill_value, "antialias": self.antialias}


@register_builtin("keras.layers")
class CenterCrop(BaseSizeLayer):
    """Crops the central (``height``, ``width``) window; an image smaller than that on either side is first
    cropped to the target aspect ratio and resized (bilinear), as Keras's ``smart_resize``.

    Input: (batch, height, width, channels) or one image, any dtype (channels first likewise). Output: the
    target size in the compute dtype. Active at inference too.
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)

    def get_random_transformation(self, images, training=True, seed=None):
        return {"input_shape": tuple(images.shape)}

    def _window(self, height, width):
        """(top, left, crop height, crop width, resized): the window taken from a (height, width) image."""
        if height >= self.height and width >= self.width:
            return (height - self.height) // 2, (width - self.width) // 2, self.height, self.width, False
        return (*aspect_ratio_crop_box(height, width, self.height, self.width), True)

    def transform_images(self, images, transformation=None, training=True):
        images = images.to(self._compute_torch_dtype)
        height, width = self._image_size(images)
        top, left, crop_height, crop_width, resized = self._window(height, width)
        if resized:
            return self._resize(images, crop_to_aspect_ratio=True)
        if self.data_format == "channels_first":
            return images[..., top:top + crop_height, left:left + crop_width]
        return images[..., top:top + crop_height, left:left + crop_width, :]

    def transform_segmentation_masks(self, segmentation_masks, transformation=None, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        shape = transformation["input_shape"]
        height, width = shape[self.height_axis], shape[self.width_axis]
        bounding_boxes = boxes_lib.convert_format(bounding_boxes, self.bounding_box_format, "xyxy", height, width)
        top, left, crop_height, crop_width, resized = self._window(height, width)
        boxes = boxes_lib.crop(bounding_boxes["boxes"], top, left, crop_height, crop_width)
        if resized:
            boxes = boxes * boxes.new_tensor([self.width / crop_width, self.height / crop_height] * 2)
        bounding_boxes = boxes_lib.clip_to_image_size({**bounding_boxes, "boxes": boxes}, self.height, self.width)
        return boxes_lib.convert_format(bounding_boxes, "xyxy", self.bounding_box_format, self.height, self.width)
