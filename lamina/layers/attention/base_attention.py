"""What MultiHeadAttention and GroupQueryAttention share: Keras's ``(query, value, key)`` call, the
masks, the projections' options and the choice between the SDPA kernel and Keras's einsum path."""

from lamina import constraints, initializers, regularizers
from lamina.engine.layer import Layer, specs_from_shapes
from lamina.layers.attention.kernels import masked_softmax, sdpa_backends
from lamina.layers.core.einsum_dense import EinsumDense
from lamina.layers.regularization.dropout import Dropout
from lamina.ops.arguments import check_fraction, check_positive_int, check_seed
from lamina.symbolic.keras_tensor import KerasTensor

_CALL_MASKS = ("query_mask", "value_mask", "key_mask", "attention_mask")


def _shape_of(tensor):
    return None if tensor is None else tuple(tensor.shape)


class BaseMultiHeadAttention(Layer):
    """Projections of query, key and value to heads, dot-product attention, an output projection.

    Subclasses build ``_query_dense``, ``_key_dense``, ``_value_dense``, ``_output_dense`` (and
    ``_gate_dense`` with ``use_gate``) as ``EinsumDense`` layers, ``_layout`` (a
    ``kernels.MultiHeadLayout``) and ``_scale`` in ``build(query_shape, value_shape, key_shape=None)``.

    Call: ``layer(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)``,
    positionally or by name. Masks are boolean (True: attend); a missing query/value/key mask is
    taken from the tensor's Keras mask (``Embedding(mask_zero=True)``, ``Masking``); the output
    carries the query's mask.
    """

    def _init_attention(self, dropout, use_bias, sliding_window, flash_attention, kernel_initializer,
                        bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
                        kernel_constraint, bias_constraint, use_gate, seed):
        name = type(self).__name__
        self.supports_masking = True
        self._dropout = check_fraction(dropout, "dropout", name)
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        self._sliding_window = None if sliding_window is None else check_positive_int(sliding_window,
                                                                                      "sliding_window", name)
        if flash_attention not in (None, True, False):
            raise ValueError(f"{name}: `flash_attention` must be None, True or False. Received: "
                             f"flash_attention={flash_attention!r}")
        if flash_attention and self._dropout > 0:
            raise ValueError(f"{name}: dropout is not supported when flash attention is enabled. Set dropout to "
                             f"0.0 to use flash attention. Received: dropout={dropout}, flash_attention=True")
        self._flash_attention = flash_attention
        self._sdpa_backends = sdpa_backends(flash_attention)
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = check_seed(seed, name)
        self._pending_shapes = (None, None)
        self._build_shapes = None

    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)

    # ------------------------------------------------------------------ calling
    def __call__(self, query=None, value=None, key=None, **kwargs):
        if query is None or value is None:
            raise TypeError(f"{type(self).__name__} '{self.name}' must be called with `query` and `value` "
                            "(positionally or by name): layer(query, value) or layer(query, value, key).")
        if not isinstance(query, KerasTensor):
            # Masks the inputs carry (Keras's implicit masks), unless given; the key's only when it is given.
            # Read before converting: a converted tensor is a new one, without the mask.
            for name, tensor in (("query_mask", query), ("value_mask", value), ("key_mask", key)):
                if kwargs.get(name) is None and getattr(tensor, "_keras_mask", None) is not None:
                    kwargs[name] = tensor._keras_mask
            for name in _CALL_MASKS:
                if kwargs.get(name) is not None:
                    kwargs[name] = self._convert_mask(kwargs[name])
            value = self._convert_input(value)  # the engine converts the query
            key = None if key is None else self._convert_input(key)
        if not self.built:
            self._pending_shapes = (_shape_of(value), _shape_of(key))
        return super().__call__(query, value, **({} if key is None else {"key": key}), **kwargs)

    def _build_for(self, query_shape):
        value_shape, key_shape = self._pending_shapes
        self._pending_shapes = (None, None)
        self.build(query_shape, value_shape, key_shape)

    def _record_build_shapes(self, query_shape, value_shape, key_shape):
        shapes = {"query_shape": tuple(query_shape), "value_shape": tuple(value_shape)}
        if key_shape is not None:
            shapes["key_shape"] = tuple(key_shape)
        self._build_shapes = shapes

    def get_build_config(self):
        return {"shapes_dict": dict(self._build_shapes)} if self.built and self._build_shapes else None

    def build_from_config(self, config):
        """Builds from Keras's ``{"shapes_dict": {"query_shape": ..., "value_shape": ..., "key_shape": ...}}``."""
        shapes = (config or {}).get("shapes_dict")
        if self.built or not shapes:
            return
        self.build(**{name: tuple(shape) for name, shape in shapes.items()})

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        key = value if key is None else key
        # Causal masking alone goes to the kernel's own causal mode, without a (T, S) mask.
        causal_only = use_causal_mask and query_mask is None and value_mask is None and key_mask is None \
            and attention_mask is None and self._sliding_window is None \
            and type(self)._compute_attention is BaseMultiHeadAttention._compute_attention
        if not causal_only:
            attention_mask = self._compute_attention_mask(query, value, query_mask=query_mask, value_mask=value_mask,
                                                          key_mask=key_mask, attention_mask=attention_mask,
                                                          use_causal_mask=use_causal_mask)
        gate = self._gate_dense(query) if self._use_gate else None
        projected = self._query_dense(query), self._key_dense(key), self._value_dense(value)
        extra = {"use_causal_mask": True} if causal_only else {}
        outputs, scores = self._compute_attention(*projected, attention_mask, training, return_attention_scores,
                                                  **extra)
        outputs = self._output_dense(outputs if gate is None else outputs * gate)
        if query_mask is not None:
            outputs._keras_mask = query_mask
        return (outputs, scores) if return_attention_scores else outputs

    # ------------------------------------------------------------------ masks
    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None, key_mask=None,
                                attention_mask=None, use_causal_mask=False):
        """The boolean mask (scores layout, broadcastable) that all given masks allow, or None.

        A query position attends a key position when the query, value and key masks keep both, the
        causal and sliding-window rules allow the pair, and ``attention_mask`` (Keras's ``(B, T, S)``
        form, broadcast over the heads) is True.
        """
        layout = self._layout
        parts = []
        if query_mask is not None:
            parts.append(layout.input_mask(query_mask.bool(), is_query=True))
        for mask in (value_mask, key_mask):
            if mask is not None:
                parts.append(layout.input_mask(mask.bool(), is_query=False))
        if use_causal_mask or self._sliding_window is not None:
            parts.append(layout.position_mask(query.shape, value.shape, query.device, use_causal_mask,
                                              self._sliding_window))
        if attention_mask is not None:
            parts.append(layout.expand_attention_mask(attention_mask.bool()))
        if not parts:
            return None
        mask = parts[0]
        for part in parts[1:]:
            mask = mask & part
        return mask

    def _masked_softmax(self, attention_scores, attention_mask=None):
        """Keras's softmax over the key positions, masked positions 0 (for subclasses' own attention)."""
        if attention_mask is not None:
            attention_mask = self._layout.expand_attention_mask(attention_mask.bool())
        return masked_softmax(attention_scores, attention_mask, self._layout.softmax_axes)

    # ------------------------------------------------------------------ attention
    def _compute_attention(self, query, key, value, attention_mask=None, training=None, return_attention_scores=False,
                           use_causal_mask=False):
        """``(output, scores or None)`` from projected ``query (B, T..., N, key_dim)``, ``key``, ``value``.

        Keras's rule, with PyTorch's SDPA kernel wherever the scores are not needed: the einsum path runs
        only when the scores are returned or a seeded dropout is active in training.
        """
        if self._flash_attention and return_attention_scores:
            raise ValueError(f"{type(self).__name__} '{self.name}': returning attention scores is not supported "
                             "when flash attention is enabled. Pass flash_attention=None or False to get them.")
        layout = self._layout
        if attention_mask is not None:
            attention_mask = layout.expand_attention_mask(attention_mask.bool())
        if use_causal_mask and attention_mask is not None:
            attention_mask = attention_mask & layout.position_mask(query.shape, key.shape, query.device, True, None)
        dropout_active = bool(training) and self._dropout > 0
        if return_attention_scores or dropout_active and self.seed is not None:
            if use_causal_mask and attention_mask is None:
                attention_mask = layout.position_mask(query.shape, key.shape, query.device, True, None)
            groups = query.shape[-2] // key.shape[-2]
            if groups > 1:
                key, value = key.repeat_interleave(groups, dim=-2), value.repeat_interleave(groups, dim=-2)
            dropout = (lambda scores: self._dropout_layer(scores, training=True)) if dropout_active else None
            return layout.einsum_attention(query, key, value, attention_mask, self._scale, dropout)
        # Keras's own fast path (no dropout, rank-3 inputs) averages the values on a row with every key masked;
        # its einsum path, which Keras takes otherwise, gives such rows zeros.
        keras_fast_path = self._dropout == 0 and query.dim() == 4
        try:
            outputs = layout.scaled_dot_product(query, key, value, attention_mask, use_causal_mask, self._scale,
                                                dropout_p=self._dropout if dropout_active else 0.0,
                                                zero_empty_rows=not keras_fast_path, backends=self._sdpa_backends)
        except RuntimeError as error:
            if self._flash_attention and "kernel" in str(error).lower():
                raise RuntimeError(f"{type(self).__name__} '{self.name}': flash attention is not available for "
                                   f"these inputs ({error}). Pass flash_attention=None to let PyTorch choose a "
                                   "kernel.") from error
            raise
        return outputs, None

    # ------------------------------------------------------------------ sublayers and config
    def _sublayer_options(self):
        """Options of the projections, each with its own copy of the initializers (as Keras)."""
        return dict(kernel_initializer=type(self._kernel_initializer).from_config(
                        self._kernel_initializer.get_config()),
                    bias_initializer=type(self._bias_initializer).from_config(self._bias_initializer.get_config()),
                    kernel_regularizer=self._kernel_regularizer, bias_regularizer=self._bias_regularizer,
                    activity_regularizer=self._activity_regularizer, kernel_constraint=self._kernel_constraint,
                    bias_constraint=self._bias_constraint, dtype=self.dtype_policy)

    def _projection(self, equation, output_shape, bias_axes, name, input_shape, activation=None):
        """A built ``EinsumDense`` projection named ``name`` (its weights: ``<layer>/<name>/kernel`` ...)."""
        dense = EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes if self._use_bias else None,
                            activation=activation, name=name, **self._sublayer_options())
        dense.build(input_shape)
        return dense

    def _build_dropout(self):
        self._dropout_layer = Dropout(rate=self._dropout, seed=self.seed, dtype=self.dtype_policy)

    def _attention_config(self):
        return {"dropout": self._dropout, "use_bias": self._use_bias, "use_gate": self._use_gate,
                "sliding_window": self._sliding_window,
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self._bias_regularizer),
                "activity_regularizer": regularizers.serialize(self._activity_regularizer),
                "kernel_constraint": constraints.serialize(self._kernel_constraint),
                "bias_constraint": constraints.serialize(self._bias_constraint), "seed": self.seed}

    # ------------------------------------------------------------------ shapes
    def _check_value_key_shapes(self, value_shape, key_shape):
        if key_shape is not None and tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{type(self).__name__} '{self.name}': all dimensions of `value` and `key`, except the "
                             f"last one, must be equal. Received: value_shape={tuple(value_shape)} and "
                             f"key_shape={tuple(key_shape)}")

    def compute_output_spec(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
                            attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False):
        output_shape = self.compute_output_shape(query.shape, value.shape, None if key is None else key.shape)
        output = specs_from_shapes(output_shape, self.compute_dtype)
        if not return_attention_scores:
            return output
        key_shape = value.shape if key is None else key.shape
        scores_shape = self._layout.scores_shape(query.shape, key_shape, self._query_dense.partial_output_shape[-2])
        return output, specs_from_shapes(scores_shape, self.compute_dtype)
