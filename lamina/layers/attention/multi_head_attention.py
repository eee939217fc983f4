"""MultiHeadAttention (Vaswani et al., 2017), over one or several attention axes."""

import math
import string

from lamina.layers.attention.base_attention import BaseMultiHeadAttention
from lamina.layers.attention.kernels import MultiHeadLayout
from lamina.ops.arguments import is_int
from lamina.registry import register_builtin


def projection_equation(free_dims, bound_dims, output_dims):
    """Keras's projection einsum: ``(equation, bias axes, output rank)``; letters are free axes, then
    contracted ones, then the new output axes."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    new = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{new}->{free}{new}", new, free_dims + output_dims


def _check_positive(value, name, allow_none=False):
    if allow_none and value is None or is_int(value) and value > 0:
        return value
    expected = "a positive integer or `None`" if allow_none else "a positive integer"
    raise ValueError(f"MultiHeadAttention: received an invalid value for argument `{name}`, expected {expected}. "
                     f"Received: {name}={value!r}")


def _check_output_shape(output_shape):
    if not output_shape:
        return None
    shape = (output_shape,) if is_int(output_shape) else output_shape
    if isinstance(shape, (tuple, list)) and all(is_int(d) and d > 0 for d in shape):
        return tuple(int(d) for d in shape)
    raise ValueError(f"MultiHeadAttention: invalid `output_shape`: {output_shape!r}. When specified, the "
                     "`output_shape` should be an int or a tuple/list of positive ints.")


def _check_attention_axes(attention_axes):
    if attention_axes is None:
        return None
    if isinstance(attention_axes, (list, tuple)) and attention_axes and all(is_int(a) for a in attention_axes):
        return tuple(int(a) for a in attention_axes)
    if is_int(attention_axes):
        return (int(attention_axes),)
    raise ValueError(f"MultiHeadAttention: `attention_axes` must be an int, list, or tuple. Received: "
                     f"attention_axes={attention_axes!r}")


@register_builtin("keras.layers")
class MultiHeadAttention(BaseMultiHeadAttention):
    """Multi-head (scaled dot-product) attention.

    ``query``, ``key`` and ``value`` are projected to ``num_heads`` heads (``EinsumDense`` layers
    named ``query``, ``key``, ``value``: kernels ``(dim, num_heads, key_dim)``, biases
    ``(num_heads, key_dim)``), attention runs per head over ``attention_axes``, and the heads are
    projected back by ``attention_output`` (kernel ``(num_heads, value_dim, *output_shape)``).

    Args:
        num_heads: number of heads. key_dim: size of each query/key head. value_dim: size of each
            value head (default ``key_dim``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: biases in the projections.
        output_shape: the output's trailing shape (default: the query's last dimension).
        attention_axes: the axes attention runs over (default: every axis but the batch and the
            features); several axes attend jointly (a softmax over all of them).
        sliding_window: each query position attends key positions less than this far away.
        flash_attention: None lets PyTorch choose its fastest kernel; True insists on flash attention
            (no dropout, no returned scores); False excludes it.
        kernel_*, bias_*, activity_regularizer: options of every projection.
        use_gate: gate the attention output with a sigmoid projection of the query (projection ``gate``).
        seed: seed of the attention dropout.

    Call arguments: ``query (B, T..., dim)``, ``value (B, S..., dim_v)``, ``key`` (default:
    ``value``), the boolean masks ``query_mask (B, T...)``, ``value_mask``/``key_mask (B, S...)`` and
    ``attention_mask (B, T, S)`` (broadcast over heads), ``return_attention_scores``, ``training``,
    ``use_causal_mask``.

    Output: ``(B, T..., *output_shape)``, and with ``return_attention_scores`` the scores
    ``(B, <other axes>, num_heads, <query attention axes>, <key attention axes>)``.

    >>> layer = MultiHeadAttention(num_heads=2, key_dim=8)
    >>> layer(torch.ones(3, 5, 16), torch.ones(3, 7, 16)).shape
    torch.Size([3, 5, 16])
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        _check_positive(num_heads, "num_heads")
        _check_positive(key_dim, "key_dim")
        _check_positive(value_dim, "value_dim", allow_none=True)
        super().__init__(**kwargs)
        self._num_heads = int(num_heads)
        self._key_dim = int(key_dim)
        self._value_dim = int(value_dim) if value_dim else self._key_dim
        self._output_shape = _check_output_shape(output_shape)
        self._attention_axes = _check_attention_axes(attention_axes)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        self._scale = self._inverse_sqrt_key_dim
        self._init_attention(dropout, use_bias, sliding_window, flash_attention, kernel_initializer, bias_initializer,
                             kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                             bias_constraint, use_gate, seed)

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    def build(self, query_shape, value_shape, key_shape=None):
        self._check_value_key_shapes(value_shape, key_shape)
        self._record_build_shapes(query_shape, value_shape, key_shape)
        key_shape = value_shape if key_shape is None else key_shape
        rank = len(query_shape)
        if len(value_shape) != rank or rank < 3:
            raise ValueError(f"MultiHeadAttention '{self.name}': `query` and `value` must have the same rank, at "
                             f"least 3 (batch, positions..., features). Received: query_shape={tuple(query_shape)}, "
                             f"value_shape={tuple(value_shape)}")
        if query_shape[-1] is None:
            raise ValueError(f"MultiHeadAttention '{self.name}': the last axis of `query` must be known. Received: "
                             f"query_shape={tuple(query_shape)}")
        equation, bias_axes, projected_rank = projection_equation(rank - 1, 1, 2)
        heads = [None] * (projected_rank - 3)
        self._query_dense = self._projection(equation, heads + [self._num_heads, self._key_dim], bias_axes, "query",
                                             query_shape)
        self._key_dense = self._projection(equation, heads + [self._num_heads, self._key_dim], bias_axes, "key",
                                           key_shape)
        if self._use_gate:
            self._gate_dense = self._projection(equation, heads + [self._num_heads, self._value_dim], bias_axes, "gate",
                                                query_shape, activation="sigmoid")
        self._value_dense = self._projection(equation, heads + [self._num_heads, self._value_dim], bias_axes,
                                             "value", value_shape)
        self._build_attention(projected_rank)
        output_shape = self._output_shape or (query_shape[-1],)
        equation, bias_axes, _ = projection_equation(rank - 1, 2, len(output_shape))
        heads_shape = (*query_shape[:-1], self._num_heads, self._value_dim)
        self._output_dense = self._projection(equation, [None] * (rank - 2) + list(output_shape), bias_axes,
                                              "attention_output", heads_shape)

    def _build_attention(self, rank):
        """The attention axes (on the projected tensors), their einsums and the dropout (Keras's hook)."""
        input_rank = rank - 1
        if self._attention_axes is None:
            axes = tuple(range(1, rank - 2))
        else:
            axes = tuple(a if a >= 0 else input_rank + a for a in self._attention_axes)
            if any(not 1 <= a <= input_rank - 2 for a in axes) or len(set(axes)) != len(axes):
                raise ValueError(f"MultiHeadAttention '{self.name}': `attention_axes` must be distinct axes of the "
                                 f"query other than the batch and feature axes (1 to {input_rank - 2} for rank "
                                 f"{input_rank}). Received: attention_axes={self._attention_axes}")
        self._attention_axes = axes
        self._layout = MultiHeadLayout(rank, axes)
        self._dot_product_equation = self._layout.dot_product_equation
        self._combine_equation = self._layout.combine_equation
        self._build_dropout()

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        self._check_value_key_shapes(value_shape, key_shape)
        query_shape = tuple(query_shape)
        return query_shape[:-1] + self._output_shape if self._output_shape else query_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim, "output_shape": self._output_shape,
                "attention_axes": self._attention_axes, **self._attention_config()}
