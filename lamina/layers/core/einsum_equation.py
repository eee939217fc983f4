"""Keras's EinsumDense equations: weight shapes from an equation, and the matmul a contraction reduces to.

An equation is ``"<input>,<kernel>-><output>"`` with letters, optionally with ``...`` at the start of
the input and output (``"...x,xy->...y"``) or at the end of both (``"ab...,bc->ac..."``). The output
shape given to the layer excludes the batch axis and the elided axes, as in Keras.
"""

import math
import re
import string

_PLAIN = re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$")
_LEFT_ELIDED = re.compile(r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$")
_RIGHT_ELIDED = re.compile(r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$")


def parse_equation(equation):
    """``(input, kernel, output, elided)`` specs of a Keras equation; ``elided`` is None, "left" or "right".

    Raises ValueError naming EinsumDense for any other form.
    """
    if isinstance(equation, str):
        for pattern, elided in ((_PLAIN, None), (_LEFT_ELIDED, "left"), (_RIGHT_ELIDED, "right")):
            match = pattern.match(equation.replace(" ", ""))
            if match:
                return match.group(1), match.group(2), match.group(3), elided
    raise ValueError(f"EinsumDense: invalid einsum equation {equation!r}. Equations must be in the form "
                     "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


class EinsumPlan:
    """What an equation means for one input rank: weight shapes, output shape and how to compute it.

    Attributes:
        equation: the equation with ``...`` written out as letters (for ``torch.einsum``).
        kernel_shape, bias_shape (None without bias_axes), output_shape (batch None where unknown).
        input_axes, output_axes: the kernel axes that count as fan-in and fan-out (Keras's rule).
        contracted: the number of trailing input axes a matmul contracts, or None when the equation is
            not ``<free><contracted>,<contracted><new>-><free><new>`` (then ``torch.einsum`` runs).
        flat_bias: the bias covers exactly the new axes, so it can be fused into the matmul.
    """

    def __init__(self, equation, bias_axes, input_shape, partial_output_shape, layer_name="EinsumDense"):
        input_spec, kernel_spec, output_spec, elided = parse_equation(equation)
        rank = len(input_shape)
        elided_count = rank - len(input_spec)
        if elided is None and elided_count != 0 or elided_count < 0:
            raise ValueError(f"{layer_name}: the equation {equation!r} expects inputs of rank {len(input_spec)}"
                             f"{' or more' if elided else ''}. Received: input_shape={tuple(input_shape)}")
        spare = [c for c in string.ascii_letters if c not in input_spec + kernel_spec + output_spec]
        extra = "".join(spare[:elided_count])
        if elided == "left":
            input_spec, output_spec = extra + input_spec, extra + output_spec
        elif elided == "right":
            input_spec, output_spec = input_spec + extra, output_spec + extra
        self.equation = f"{input_spec},{kernel_spec}->{output_spec}"

        output_shape = self._full_output_shape(input_spec, output_spec, extra, elided, input_shape,
                                               partial_output_shape, layer_name)
        sizes = dict(zip(output_spec, output_shape))
        for char, size in zip(input_spec, input_shape):
            if char in sizes and sizes[char] is not None and size is not None and sizes[char] != size:
                raise ValueError(f"{layer_name}: input shape and output shape do not match at shared dimension "
                                 f"'{char}'. Input shape is {size}, and output shape is {sizes[char]}.")
            if sizes.get(char) is None:
                sizes[char] = size
        for char in output_spec:
            if char not in input_spec and char not in kernel_spec:
                raise ValueError(f"{layer_name}: dimension '{char}' was specified in the output '{output_spec}' "
                                 f"but has no corresponding dim in the input spec '{input_spec}' or weight spec "
                                 f"'{kernel_spec}'.")
        self.output_shape = tuple(sizes[c] if c in input_spec else size for c, size in zip(output_spec, output_shape))

        self.kernel_shape, self.input_axes, self.output_axes = [], [], []
        input_sizes = dict(zip(input_spec, input_shape))
        for axis, char in enumerate(kernel_spec):
            if char in output_spec:
                size, axes = sizes[char], self.output_axes
            elif char in input_spec:
                size, axes = input_sizes[char], self.input_axes
            else:
                raise ValueError(f"{layer_name}: weight dimension '{char}' did not have a match in either the input "
                                 f"spec '{input_spec}' or the output spec '{output_spec}'. For this layer, the "
                                 "weight must be fully specified.")
            if size is None:
                raise ValueError(f"{layer_name}: the kernel dimension '{char}' of {equation!r} has an unknown "
                                 f"size; give it in `output_shape` or in the input shape. Received: "
                                 f"input_shape={tuple(input_shape)}, output_shape={tuple(partial_output_shape)}")
            self.kernel_shape.append(size)
            axes.append(axis)
        self.kernel_shape = tuple(self.kernel_shape)
        # The input axes the kernel fixes: the layer's InputSpec checks them.
        self.fixed_input_axes = {i: input_sizes[c] for i, c in enumerate(input_spec) if c in kernel_spec}

        self.bias_shape = self._bias_shape(bias_axes, output_spec, self.output_shape, extra, elided, layer_name)
        self.contracted, self.flat_bias = self._matmul_form(input_spec, kernel_spec, output_spec, bias_axes)

    @staticmethod
    def _full_output_shape(input_spec, output_spec, extra, elided, input_shape, partial, layer_name):
        """Keras's rule: the batch size, then the given sizes, with the elided axes' sizes inserted."""
        shape = list(partial)
        if elided == "left":
            shape = list(input_shape[1:len(extra)]) + shape
        elif elided == "right" and extra:
            shape = shape + list(input_shape[-len(extra):])
        shape = [input_shape[0]] + shape
        if len(shape) != len(output_spec):
            expected = len(output_spec) - (len(shape) - len(partial))
            raise ValueError(f"{layer_name}: `output_shape` must give {expected} sizes (the output axes besides "
                             f"the batch axis and the elided ones). Received: output_shape={tuple(partial)}")
        return shape

    @staticmethod
    def _bias_shape(bias_axes, output_spec, output_shape, extra, elided, layer_name):
        """Keras's bias: the output axes from the first bias axis on, 1 on those without bias."""
        if bias_axes is None:
            return None
        for char in bias_axes:
            if char not in output_spec or char in extra:
                raise ValueError(f"{layer_name}: bias dimension '{char}' was requested, but is not part of the "
                                 f"output spec '{output_spec}'. Received: bias_axes={bias_axes!r}")
        first = min(output_spec.index(char) for char in bias_axes)
        return tuple(size if char in bias_axes else 1 for char, size in zip(output_spec[first:], output_shape[first:]))

    @staticmethod
    def _matmul_form(input_spec, kernel_spec, output_spec, bias_axes):
        contracted = [c for c in kernel_spec if c in input_spec and c not in output_spec]
        count = len(contracted)
        free, new = input_spec[:len(input_spec) - count], kernel_spec[count:]
        if count == 0 or any(len(set(spec)) != len(spec) for spec in (input_spec, kernel_spec, output_spec)) \
                or input_spec[len(free):] != "".join(contracted) or kernel_spec[:count] != "".join(contracted) \
                or output_spec != free + new or set(free) & set(kernel_spec):
            return None, False
        return count, bias_axes is not None and bias_axes == new

    def matmul_shapes(self):
        """``(contracted size, new size)`` of the kernel seen as a matrix (matmul form only)."""
        return math.prod(self.kernel_shape[:self.contracted]), math.prod(self.kernel_shape[self.contracted:])
