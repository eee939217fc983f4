"""RandomElasticTransform: images displaced by a smoothed random field (``lamina.ops.image.elastic_transform``)."""

import torch

from lamina.layers.image.base import BaseImagePreprocessingLayer
from lamina.layers.image.geometry import INTERPOLATIONS
from lamina.ops.image import elastic_transform
from lamina.registry import register_builtin

FILL_MODES = ("reflect", "wrap", "constant", "nearest", "mirror")


@register_builtin("keras.layers")
class RandomElasticTransform(BaseImagePreprocessingLayer):
    """Elastic deformation in training: each image drawn (probability drawn per image from ``factor``) is
    resampled at its pixel grid plus ``alpha`` times Gaussian noise smoothed with ``sigma``, where a
    distortion ``d`` drawn once per batch from ``scale`` gives ``alpha = 0.1 d max(height, width)`` and
    ``sigma = 0.05 d min(height, width)``; the result is clipped to ``value_range``.

    Args:
        factor: the probability of transforming an image, in [0, 1]: ``f`` draws it from ``[0, f]``, a pair
            ``(low, high)`` from that range (default 1.0).
        scale: the distortion, in [0, 1]: ``s`` draws it from ``[0, s]``, a pair from that range (default 1.0).
        interpolation: "bilinear" (default) or "nearest".
        fill_mode: "reflect" (default; d c b a | a b c d), "mirror" (c b | a b c | b a), "wrap", "nearest" or
            "constant" (``fill_value``).
        value_range: (low, high) of the input values (default (0, 255)).
        seed, data_format: as every image layer.

    The noise is drawn as Keras's rule draws it: one generator for the field (its seed the stream's draw
    after ``factor`` and ``scale``'s three), held as the transformation's ``"seed"``; segmentation masks take
    the images' field with nearest sampling. Bounding boxes are not supported (as Keras).

    Input and output: (batch, height, width, channels) or one image; compute dtype.
    """

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.scale = self._factor_range(scale, "scale")
        self.interpolation = self._choice(interpolation, "interpolation", INTERPOLATIONS)
        self.fill_mode = self._choice(fill_mode, "fill_mode", FILL_MODES)
        self.fill_value = fill_value
        self.value_range = self._check_value_range(value_range, sort=False)
        self._set_seed(seed)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        stream = seed or self._stream
        batch = (images.shape[0],)
        probability = self._uniform(stream, batch, self.factor[0], self.factor[1], images)
        threshold = self._uniform(stream, batch, 0.0, 1.0, images)
        distortion = self._uniform(stream, (), self.scale[0], self.scale[1], images, self._compute_torch_dtype)
        generator = stream.generator("cpu")
        # An unseeded layer draws the field's seed from torch's global RNG, so masks can share the field.
        noise_seed = generator.initial_seed() if generator is not None else int(torch.randint(2 ** 31 - 1, ()))
        return {"apply_transform": threshold < probability, "distortion_factor": distortion, "seed": noise_seed}

    @staticmethod
    def get_elastic_transform_params(height, width, factor):
        """(alpha, sigma) for a distortion ``factor``, as Keras computes them."""
        return max(height, width) * (0.1 * factor), min(height, width) * (0.05 * factor)

    def _transform(self, images, transformation):
        return self._deform(images, transformation, self.interpolation)

    def _deform(self, images, transformation, interpolation):
        height, width = self._image_size(images)
        # Python numbers: the smoothing kernel's size is chosen on the host (one read of the drawn distortion).
        alpha, sigma = (float(v) for v in self.get_elastic_transform_params(height, width,
                                                                             transformation["distortion_factor"]))
        deformed = elastic_transform(images, alpha, sigma, interpolation, self.fill_mode, self.fill_value,
                                     seed=transformation["seed"], data_format=self.data_format)
        images = torch.where(transformation["apply_transform"][:, None, None, None], deformed, images)
        return torch.clip(images, *self.value_range)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training or transformation is None:
            return segmentation_masks
        return self._deform(segmentation_masks, transformation, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        raise NotImplementedError("RandomElasticTransform does not transform bounding boxes (as in Keras 3).")

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}
