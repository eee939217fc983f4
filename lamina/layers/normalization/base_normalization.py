"""What Batch/Layer/GroupNormalization share: the ``gamma``/``beta`` arguments, weights and config."""

import math
import numbers

from lamina import constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops.arguments import is_int

AFFINE_NAMES = ("beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                "beta_constraint", "gamma_constraint")


class AffineNormalization(Layer):
    """A normalization with an optional learned scale ``gamma`` and offset ``beta``.

    Args:
        center: add ``beta``. scale: multiply by ``gamma``.
        beta_* / gamma_*: initializer, regularizer and constraint of each weight.
    """

    supports_masking = True

    def _set_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                    beta_constraint, gamma_constraint):
        self.center, self.scale = bool(center), bool(scale)
        self._set_weight_options("beta", beta_initializer, beta_regularizer, beta_constraint)
        self._set_weight_options("gamma", gamma_initializer, gamma_regularizer, gamma_constraint)

    def _add_affine_weights(self, shape, center=None, scale=None):
        """Creates ``gamma`` then ``beta`` (Keras's order) of ``shape``; an absent one is None."""
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if (self.scale if scale is None else scale) else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if (self.center if center is None else center) else None

    def compute_output_shape(self, input_shape):
        return check_axis_bounds(self, input_shape)

    def _affine_config(self):
        return {"center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


def check_epsilon(epsilon, layer_name):
    """The small constant added to variances: a finite real >= 0 (a negative one gives NaN outputs)."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 <= epsilon < math.inf:
        raise ValueError(f"{layer_name}: the `epsilon` argument must be a finite float >= 0. "
                         f"Received: epsilon={epsilon!r}")
    return epsilon


def check_axis(axis, layer_name, allow_list=True):
    """An int, or (``allow_list``) a list of ints; else a TypeError naming the layer."""
    if isinstance(axis, (list, tuple)) and allow_list and axis and \
            all(is_int(a) for a in axis):
        return [int(a) for a in axis]
    if is_int(axis):
        return int(axis)
    expected = "an int or a list/tuple of ints" if allow_list else "an int"
    raise TypeError(f"{layer_name}: expected {expected} for the argument `axis`. Received: axis={axis!r}")


def check_axis_bounds(layer, input_shape):
    """``input_shape`` (the output shape of every normalization) once ``layer.axis`` fits its rank."""
    for axis in layer.axis if isinstance(layer.axis, list) else [layer.axis]:
        if not -len(input_shape) <= axis < len(input_shape):
            raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {axis} is out of bounds for input "
                             f"shape {tuple(input_shape)}. Received: axis={layer.axis}")
    return tuple(input_shape)


def resolve_axes(layer, input_shape):
    """Sets ``layer._axes`` (sorted, non-negative), ``_normalized_shape`` (the sizes there),
    ``_broadcast_shape`` (those sizes, 1 elsewhere) and ``_trailing`` (the axes are the last ones) for
    ``layer.axis`` on ``input_shape``; the batch axis and unknown sizes raise a ValueError."""
    check_axis_bounds(layer, input_shape)
    rank = len(input_shape)
    axes = sorted({a % rank for a in (layer.axis if isinstance(layer.axis, list) else [layer.axis])})
    name = f"{type(layer).__name__} '{layer.name}'"
    if 0 in axes:
        raise ValueError(f"{name}: cannot normalize over the batch axis 0. Received: axis={layer.axis}")
    if any(input_shape[a] is None for a in axes):
        raise ValueError(f"{name}: the axes {axes} must have known sizes. Received input shape {tuple(input_shape)}")
    layer._axes = tuple(axes)
    layer._trailing = axes == list(range(rank - len(axes), rank))
    layer._normalized_shape = tuple(input_shape[a] for a in axes)
    layer._broadcast_shape = tuple(input_shape[a] if a in axes else 1 for a in range(rank))
    # The normalized axes are fixed by the weights; non-trailing axes also fix the rank.
    layer.input_spec = InputSpec(min_ndim=rank, axes={a - rank: input_shape[a] for a in axes}) if layer._trailing \
        else InputSpec(ndim=rank, axes={a: input_shape[a] for a in axes})
