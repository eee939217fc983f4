"""GroupQueryAttention (Ainslie et al., 2023): query heads share fewer key/value heads."""

import math

from lamina.layers.attention.base_attention import BaseMultiHeadAttention
from lamina.layers.attention.kernels import MultiHeadLayout
from lamina.naming import unique_name
from lamina.ops.arguments import check_positive_int
from lamina.registry import register_builtin


@register_builtin("keras.layers", name="GroupedQueryAttention")  # Keras's class name, read too
@register_builtin("keras.layers")
class GroupQueryAttention(BaseMultiHeadAttention):
    """Attention with ``num_query_heads`` query heads and ``num_key_value_heads`` key/value heads.

    Keras's class is ``GroupedQueryAttention``, exported and written in configs as
    ``GroupQueryAttention``; lamina has both names for this class, and Keras's default layer names.

    Query head ``i`` attends with key/value head ``i // (num_query_heads // num_key_value_heads)``
    (PyTorch's SDPA does it without copying the key/value heads).

    Args:
        head_dim: size of each head. num_query_heads, num_key_value_heads: the head counts (the
            first a multiple of the second).
        dropout, use_bias, sliding_window, flash_attention, kernel_*/bias_*, activity_regularizer,
            use_gate, seed: as in ``MultiHeadAttention``. ``activity_regularizer`` also applies to
            this layer's outputs, as in Keras.

    Projections (``EinsumDense``): ``query`` kernel ``(dim, num_query_heads, head_dim)``, ``key`` and
    ``value`` ``(dim, num_key_value_heads, head_dim)``, ``attention_output``
    ``(num_query_heads, head_dim, dim)``.

    Call: as ``MultiHeadAttention``, on ``query (B, T, dim)``, ``value``/``key (B, S, dim)``.
    Output ``(B, T, dim)``; scores ``(B, num_query_heads, T, S)``.

    >>> GroupQueryAttention(8, 4, 2)(torch.ones(2, 5, 16), torch.ones(2, 6, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        name = "GroupQueryAttention"
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name("grouped_query_attention")  # Keras's default, from its class name
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.head_dim = check_positive_int(head_dim, "head_dim", name)
        self.num_query_heads = check_positive_int(num_query_heads, "num_query_heads", name)
        self.num_key_value_heads = check_positive_int(num_key_value_heads, "num_key_value_heads", name)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(f"{name}: `num_query_heads` must be divisible by `num_key_value_heads`. Received: "
                             f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self._scale = 1.0 / math.sqrt(float(self.head_dim))
        self._init_attention(dropout, use_bias, sliding_window, flash_attention, kernel_initializer, bias_initializer,
                             kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                             bias_constraint, use_gate, seed)

    use_gate = property(lambda self: self._use_gate)
    sliding_window = property(lambda self: self._sliding_window)
    kernel_initializer = property(lambda self: self._kernel_initializer)
    bias_initializer = property(lambda self: self._bias_initializer)
    kernel_regularizer = property(lambda self: self._kernel_regularizer)
    bias_regularizer = property(lambda self: self._bias_regularizer)
    kernel_constraint = property(lambda self: self._kernel_constraint)
    bias_constraint = property(lambda self: self._bias_constraint)

    def build(self, query_shape, value_shape, key_shape=None):
        self.compute_output_shape(query_shape, value_shape, key_shape)
        self._record_build_shapes(query_shape, value_shape, key_shape)
        key_shape = value_shape if key_shape is None else key_shape
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ValueError(f"GroupQueryAttention '{self.name}': `{name}` must have rank 3 (batch, positions, "
                                 f"features). Received: {name}_shape={tuple(shape)}")
        self.feature_dim = query_shape[-1]
        query_heads, kv_heads = (None, self.num_query_heads, self.head_dim), (None, self.num_key_value_heads,
                                                                               self.head_dim)
        self._query_dense = self._projection("bqm,muh->bquh", query_heads, "uh", "query", query_shape)
        self._key_dense = self._projection("bkm,mvh->bkvh", kv_heads, "vh", "key", key_shape)
        if self._use_gate:
            self._gate_dense = self._projection("bqm,muh->bquh", query_heads, "uh", "gate", query_shape,
                                                activation="sigmoid")
        self._value_dense = self._projection("bkm,mvh->bkvh", kv_heads, "vh", "value", value_shape)
        self._layout = MultiHeadLayout(4, (1,))
        self._dot_product_equation = "bquh,bkuh->buqk"
        self._combine_equation = "buqk,bkuh->bquh"
        self._build_dropout()
        self._output_dense = self._projection("bquh,uhm->bqm", (None, self.feature_dim), "m", "attention_output",
                                              (None, None, self.num_query_heads, self.head_dim))

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(f"GroupQueryAttention '{self.name}': the last dimension of `query_shape` and "
                             f"`value_shape` must be equal, but are {query_shape[-1]}, {value_shape[-1]}. Received: "
                             f"query_shape={tuple(query_shape)}, value_shape={tuple(value_shape)}")
        self._check_value_key_shapes(value_shape, key_shape)
        return tuple(query_shape)

    def get_config(self):
        return {**super().get_config(), "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, **self._attention_config()}
