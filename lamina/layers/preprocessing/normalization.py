"""Normalization: features shifted and scaled by a mean and variance given or computed by ``adapt``."""

import math

import numpy as np
import torch

from lamina import config
from lamina.dtypes import TORCH_DTYPES
from lamina.layers.preprocessing.base import PreprocessingLayer
from lamina.ops.arguments import is_int
from lamina.registry import register_builtin


def _standardize_axis(axis):
    if axis is None:
        return ()
    if is_int(axis):
        return (int(axis),)
    if isinstance(axis, (list, tuple)) and all(is_int(a) for a in axis):
        return tuple(int(a) for a in axis)
    raise TypeError(f"Normalization: the `axis` argument must be None, an int or a tuple of ints. Received: "
                    f"axis={axis!r}")


@register_builtin("keras.layers")
class Normalization(PreprocessingLayer):
    """``(x - mean) / max(sqrt(variance), epsilon)``, with one mean and variance per index of ``axis``.

    Args:
        axis: the axis or axes kept (each index has its own mean and variance); None: one scalar
            mean and variance. Default -1 (the features of the last axis).
        mean, variance: given values (broadcast to the kept axes); else ``adapt(data)`` computes them
            and stores them as the weights ``mean``, ``variance`` (and Keras's unused ``count``).
        invert: compute ``mean + x * max(sqrt(variance), epsilon)`` instead (undo a normalization).

    Input shape: any; the kept axes must be known. Output shape: the input shape (float).

    >>> layer = Normalization(axis=None)
    >>> layer.adapt(np.array([1., 2., 3., 4., 5.]))
    >>> layer(np.array([1., 2., 3.]))
    tensor([-1.4142, -0.7071,  0.0000])
    """

    _adapt_lists_are_data = False

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _standardize_axis(axis)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: when setting values directly, both `mean` and `variance` must be set. "
                             f"Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("Normalization: `mean` and `variance` must have the same shape. Received: mean "
                                 f"shape {np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"Normalization: the rank of `mean` must be at most the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        self._compute_torch_dtype = TORCH_DTYPES[self.compute_dtype]
        self.reset_state()

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Normalization: all `axis` values must be in the range [-ndim, ndim). Received inputs "
                             f"with ndim={ndim}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        unknown = [d for d in self._keep_axis if input_shape[d] is None]
        if unknown:
            raise ValueError(f"Normalization: the kept axes must have a known size. Received axis={self.axis}, "
                             f"inputs.shape={tuple(input_shape)}, with unknown axis at index {unknown[0]}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._mean_and_var_shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=self._mean_and_var_shape,
                                                  initializer="ones", trainable=False)
            # Kept for Keras's weight list (it counts nothing since Keras 3).
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros", trainable=False)
        else:
            variance = self._broadcast_given(self.input_variance)
            self.register_buffer("_given_mean", self._broadcast_given(self.input_mean), persistent=False)
            self.register_buffer("_given_variance", variance, persistent=False)
            self.register_buffer("_given_std", self._std_of(variance), persistent=False)
            self._is_adapted = True

    @property
    def mean(self):
        """The mean in the input's rank (size 1 on the reduced axes); None before ``build``."""
        if not self.built:
            return None
        return self._given_mean if self.input_mean is not None else self.adapt_mean.view(self._broadcast_shape)

    @property
    def variance(self):
        if not self.built:
            return None
        return self._given_variance if self.input_mean is not None else \
            self.adapt_variance.view(self._broadcast_shape)

    def _broadcast_given(self, value):
        """A given mean/variance aligned with the kept axes from the right, broadcast to the input rank."""
        value = torch.as_tensor(np.asarray(value), dtype=self._compute_torch_dtype)
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, value.dim() + 1):
            expanded[self._keep_axis[-i]] = value.shape[-i]
        try:
            return value.reshape(expanded).expand(self._broadcast_shape).clone()
        except RuntimeError:
            raise ValueError(f"Normalization: `mean`/`variance` of shape {tuple(value.shape)} cannot be broadcast to "
                             f"the kept axes {self._mean_and_var_shape}.") from None

    @staticmethod
    def _std_of(variance):
        return torch.clamp_min(torch.sqrt(variance), config.epsilon())

    # ------------------------------------------------------------------ adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Computes the mean and variance of ``data`` (arrays, tensors, or an iterable of batches)
        over the axes not kept."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}' was given `mean` and `variance`: it cannot be adapted.")
        super().adapt(data, batch_size=batch_size, steps=steps)

    def reset_state(self):
        self._total = None  # (count, mean, variance) in float64 NumPy

    def update_state(self, data):
        shape = tuple(data.shape) if hasattr(data, "shape") else np.shape(data)
        if not self.built:
            self.build(shape)
        elif len(shape) != len(self._broadcast_shape) or \
                any(shape[d] != self._broadcast_shape[d] for d in self._keep_axis):
            raise ValueError(f"Normalization '{self.name}': adapt() received data of shape {shape}, incompatible with "
                             f"the shape the layer was built for, {self._build_input_shape}.")
        if isinstance(data, np.ndarray):  # NumPy data is reduced by NumPy, as Keras does
            mean, variance = np.mean(data, axis=self._reduce_axis), np.var(data, axis=self._reduce_axis)
        else:
            tensor = torch.as_tensor(data)
            tensor = tensor.to(torch.promote_types(tensor.dtype, torch.float32) if tensor.is_floating_point()
                               else torch.float32)
            if self._reduce_axis:
                mean = torch.mean(tensor, dim=self._reduce_axis).cpu().numpy()
                variance = torch.var(tensor, dim=self._reduce_axis, correction=0).cpu().numpy()
            else:  # every axis kept (torch reads dim=() as all axes): each value is its own mean
                mean, variance = tensor.cpu().numpy(), np.zeros(tuple(tensor.shape), dtype="float32")
        count = math.prod(shape[d] for d in self._reduce_axis) if self._reduce_axis else 1
        if self._total is None:
            self._total = (count, mean, variance)
            return
        # Keras's merge of batch statistics (the lack-of-fit sum of squares), in float64.
        total_count, total_mean, total_variance = self._total
        total_count += count
        weight = count / total_count
        new_mean = total_mean * (1.0 - weight) + mean.astype(np.float64) * weight
        total_variance = (total_variance + (total_mean - new_mean) ** 2) * (1.0 - weight) + \
            (variance + (mean - new_mean) ** 2) * weight
        self._total = (total_count, new_mean, total_variance)

    def finalize_state(self):
        if self._total is None:
            return
        _, mean, variance = self._total
        self.adapt_mean.assign(torch.as_tensor(np.asarray(mean)).reshape(self._mean_and_var_shape))
        self.adapt_variance.assign(torch.as_tensor(np.asarray(variance)).reshape(self._mean_and_var_shape))
        self._total = None

    # ------------------------------------------------------------------ call
    def call(self, inputs):
        if not torch.is_floating_point(inputs) or inputs.dtype is not self._compute_torch_dtype:
            inputs = inputs.to(self._compute_torch_dtype)
        if self.input_mean is None:
            mean = self.adapt_mean.view(self._broadcast_shape)
            std = self._std_of(self.adapt_variance).view(self._broadcast_shape)
        else:
            mean, std = self._given_mean, self._given_std
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(), "variance": np.array(self.input_variance).tolist()}
