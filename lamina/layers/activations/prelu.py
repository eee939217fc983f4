"""PReLU: leaky ReLU with a learned slope per position (or shared along ``shared_axes``)."""

import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.layers.activations.base_activation import ActivationLayer
from lamina.ops.arguments import is_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class PReLU(ActivationLayer):
    """``x`` for ``x >= 0``, ``alpha * x`` otherwise, with ``alpha`` a weight.

    Args:
        alpha_initializer / alpha_regularizer / alpha_constraint: for the weight ``alpha``.
        shared_axes: axes (1-based, batch excluded) along which ``alpha`` is shared, e.g. ``[1, 2]``
            for one slope per channel of ``(batch, rows, cols, channels)`` images.

    Input: ``(batch, *dims)``; output: the same. Weight ``alpha``: ``dims`` with shared axes set to 1.

    >>> PReLU(shared_axes=[1, 2])(torch.randn(2, 4, 4, 3)).shape
    torch.Size([2, 4, 4, 3])
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._set_weight_options("alpha", alpha_initializer, alpha_regularizer, alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(is_int(a) and a >= 1 for a in self.shared_axes):
                raise ValueError(f"PReLU: `shared_axes` must hold axes >= 1 (the batch axis 0 cannot be shared). "
                                 f"Received: shared_axes={shared_axes!r}")

    def build(self, input_shape):
        shared = set(self.shared_axes or ())
        if shared and max(shared) >= len(input_shape):
            raise ValueError(f"PReLU '{self.name}': shared_axes={self.shared_axes} is out of range for inputs of "
                             f"shape {tuple(input_shape)}.")
        if any(input_shape[i] is None for i in range(1, len(input_shape)) if i not in shared):
            raise ValueError(f"PReLU '{self.name}': every axis that is not in shared_axes must have a known size. "
                             f"Received input shape {tuple(input_shape)} with shared_axes={self.shared_axes}.")
        shape = [1 if i in shared else input_shape[i] for i in range(1, len(input_shape))]
        self.alpha = self.add_weight(name="alpha", shape=shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={i: input_shape[i] for i in range(1, len(input_shape))
                                                                 if i not in shared})

    def call(self, inputs):
        return F.relu(inputs) - self.alpha * F.relu(-inputs)

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}
