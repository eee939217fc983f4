"""Elementwise merges and their functional forms: ``add([x1, x2])`` is ``Add()([x1, x2])``.

Inputs: a list of tensors whose shapes broadcast (see ``Merge``); output: the broadcast shape.
"""

import torch

from lamina.layers.merging.base_merge import Merge
from lamina.registry import register_builtin


def _sum(inputs):
    output = inputs[0]
    for x in inputs[1:]:
        output = output + x
    return output


@register_builtin("keras.layers")
class Add(Merge):
    """``x1 + x2 + ...``. Masks don't change the values.

    >>> Add()([torch.ones(2, 3), torch.ones(2, 3)]).shape
    torch.Size([2, 3])
    """

    def _merge(self, inputs, masks):
        return _sum(inputs)


@register_builtin("keras.layers")
class Subtract(Merge):
    """``x1 - x2``, exactly two inputs.

    >>> Subtract()([torch.ones(2, 3), torch.ones(2, 3)]).shape
    torch.Size([2, 3])
    """

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={input_shape}")

    def _merge(self, inputs, masks):
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received {len(inputs)}.")
        return inputs[0] - inputs[1]


@register_builtin("keras.layers")
class Average(Merge):
    """``(x1 + x2 + ...) / n``. Masks don't change the values.

    >>> Average()([torch.zeros(2, 3), torch.ones(2, 3)])[0, 0].item()
    0.5
    """

    def _merge(self, inputs, masks):
        return _sum(inputs) / len(inputs)


@register_builtin("keras.layers")
class Multiply(Merge):
    """``x1 * x2 * ...``. Masked steps count as 1; when every input has a mask, steps masked in all
    of them are 0 (Keras 3.15).

    >>> Multiply()([torch.full((2, 3), 2.0), torch.full((2, 3), 3.0)])[0, 0].item()
    6.0
    """

    def _merge(self, inputs, masks):
        if masks is None:
            output = inputs[0]
            for x in inputs[1:]:
                output = output * x
            return output
        output, any_mask = None, None
        for x, m in zip(inputs, masks):
            if m is not None:
                x = torch.where(m, x, torch.ones((), dtype=x.dtype, device=x.device))
                any_mask = m if any_mask is None else any_mask | m
            output = x if output is None else output * x
        if all(m is not None for m in masks):
            output = torch.where(any_mask, output, torch.zeros((), dtype=output.dtype, device=output.device))
        return output


class _MaskedReduce(Merge):
    """Maximum/Minimum: a masked step of one input takes the other's value (Keras 3.15's rule)."""

    op = None

    def _merge(self, inputs, masks):
        if masks is None:
            output = inputs[0]
            for x in inputs[1:]:
                output = type(self).op(output, x)
            return output
        output, output_mask = inputs[0], masks[0]
        for x, m in zip(inputs[1:], masks[1:]):
            if m is not None:
                x = torch.where(m, x, output)
            if output_mask is not None:
                output = torch.where(output_mask, output, x)
            output_mask = output_mask | m if m is not None and output_mask is not None else None
            output = type(self).op(output, x)
        return output


@register_builtin("keras.layers")
class Maximum(_MaskedReduce):
    """Elementwise maximum of the inputs.

    >>> Maximum()([torch.zeros(2, 3), torch.ones(2, 3)])[0, 0].item()
    1.0
    """

    op = torch.maximum


@register_builtin("keras.layers")
class Minimum(_MaskedReduce):
    """Elementwise minimum of the inputs.

    >>> Minimum()([torch.zeros(2, 3), torch.ones(2, 3)])[0, 0].item()
    0.0
    """

    op = torch.minimum


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)
