"""The base of the activation layers: any input shape, output of the same shape, masks passed on."""

import numbers

from lamina.engine.layer import Layer


class ActivationLayer(Layer):
    """An elementwise (or per-axis) activation: ``(batch, ...)`` -> same shape. ``elementwise``: whether each
    output element depends on its input element alone."""

    supports_masking = True
    elementwise = False

    def _channels_first_form(self):
        return "elementwise" if self.elementwise else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def check_non_negative(value, arg_name, layer_name, allow_none=False):
    """A real number >= 0 (or None when ``allow_none``), else a ValueError naming the layer and argument."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:  # NaN fails too
        raise ValueError(f"{layer_name}: the `{arg_name}` argument cannot be None or a negative value; expected "
                         f"a float >= 0. Received: {arg_name}={value!r}")
    return value
