"""Reshape and Permute: rearrange the non-batch axes."""

import math
import numbers

from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops.arguments import is_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Reshape(Layer):
    """Reshapes ``(batch, ...)`` to ``(batch, *target_shape)``; one entry of ``target_shape`` may be -1 (inferred).

    >>> Reshape((-1, 2))(torch.ones(3, 12)).shape
    torch.Size([3, 6, 2])
    """

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(target_shape, (tuple, list)) or not all(is_int(d) and (d > 0 or d == -1)
                                                                  for d in target_shape) \
                or list(target_shape).count(-1) > 1:
            raise ValueError("Reshape: `target_shape` must be a tuple of positive ints with at most one -1 (the "
                             f"inferred axis), batch axis excluded. Received: target_shape={target_shape!r}")
        self.target_shape = tuple(int(d) for d in target_shape)

    def _resolve(self, input_shape):
        """``target_shape`` with the -1 filled in for the non-batch ``input_shape`` (None where unknown)."""
        if None in input_shape:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(input_shape), math.prod(d for d in self.target_shape if d != -1)
        if size % known if -1 in self.target_shape else size != known:
            raise ValueError(f"Layer '{self.name}': cannot reshape an input of shape (batch, "
                             f"{', '.join(map(str, input_shape))}) ({size} values per sample) to target_shape="
                             f"{self.target_shape}: the sizes don't fit.")
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], *self._resolve(tuple(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape[1:]))

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


@register_builtin("keras.layers")
class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a 1-based permutation, e.g. ``(2, 1)`` swaps axes 1 and 2.

    Input shape ``(batch, d1, ..., dk)`` with ``k == len(dims)``; output ``(batch, d[dims[0]], ...)``.

    >>> Permute((2, 1))(torch.ones(1, 10, 64)).shape
    torch.Size([1, 64, 10])
    """

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dims, (tuple, list)) or not all(is_int(d) for d in dims) or \
                sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Permute: `dims` must be a permutation of 1..n (1-based, the batch axis excluded), "
                             f"e.g. (2, 1). Received: dims={dims!r}")
        self.dims = tuple(int(d) for d in dims)
        self._order = (0,) + self.dims
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return inputs.permute(self._order)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[axis] for axis in self._order)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


@register_builtin("keras.layers")
class RepeatVector(Layer):
    """Repeats ``(batch, features)`` ``n`` times: output ``(batch, n, features)``.

    >>> RepeatVector(3)(torch.ones(2, 4)).shape
    torch.Size([2, 3, 4])
    """

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not is_int(n) or n <= 0:
            raise ValueError(f"RepeatVector: `n` must be a positive int. Received: n={n!r}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return inputs.unsqueeze(1).expand(-1, self.n, -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}
