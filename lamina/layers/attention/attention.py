"""Attention: Luong-style (dot-product) attention over ``[query, value(, key)]``; the base of AdditiveAttention."""

import torch
import torch.nn.functional as F

from lamina.engine.layer import specs_from_shapes
from lamina.layers.regularization.base import RandomLayer
from lamina.ops.arguments import check_fraction
from lamina.registry import register_builtin


def _large_value(dtype):
    """What Keras subtracts from masked scores (its softmax then ignores them)."""
    return 65504.0 if dtype == torch.float16 else 1.0e9


@register_builtin("keras.layers")
class Attention(RandomLayer):
    """Dot-product attention: ``softmax(scores(query, key)) @ value``.

    Args:
        use_scale: learn a scalar ``scale`` the scores are multiplied by.
        score_mode: "dot" (``query @ key^T``) or "concat" (``sum(tanh(query + key))`` over the
            features, times a learned ``concat_score_weight``).
        dropout: dropout rate on the attention distribution (training only).
        seed: seed of that dropout.

    Call: ``layer([query, value])`` or ``layer([query, value, key])`` with ``query (B, Tq, dim)``,
    ``value (B, Tv, dim_v)``, ``key (B, Tv, dim)`` (default: ``value``); ``mask=[query_mask,
    value_mask]`` (boolean ``(B, Tq)``, ``(B, Tv)``; taken from the inputs' Keras masks when not
    given), ``return_attention_scores``, ``use_causal_mask``, ``training``.

    Output ``(B, Tq, dim_v)`` (zero at masked query steps, carrying the query mask), and with
    ``return_attention_scores`` the distribution ``(B, Tq, Tv)``. Without returned scores or a seeded
    dropout, "dot" runs PyTorch's ``scaled_dot_product_attention``.

    >>> Attention()([torch.ones(2, 3, 4), torch.ones(2, 5, 4)]).shape
    torch.Size([2, 3, 4])
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.use_scale = bool(use_scale)
        if score_mode not in ("dot", "concat"):
            raise ValueError("Attention: invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                             f"Received: score_mode={score_mode!r}")
        self.score_mode = score_mode
        self.dropout = check_fraction(dropout, "dropout", type(self).__name__)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = self.add_weight(name="scale", shape=(), initializer="ones") if self.use_scale else None
        self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(), initializer="ones") \
            if self.score_mode == "concat" else None

    def _calculate_scores(self, query, key):
        """Scores ``(B, Tq, Tv)`` from ``query (B, Tq, dim)`` and ``key (B, Tv, dim)``."""
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-2, -1))
            return scores if self.scale is None else scores * self.scale
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            summed = summed * self.scale
        return self.concat_score_weight * torch.tanh(summed).sum(dim=-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = (mask[0], mask[1]) if mask else (None, None)
        scores_mask = None if value_mask is None else value_mask.bool().unsqueeze(-2)
        if use_causal_mask and (scores_mask is not None or not self._sdpa_applies(training, return_attention_scores)):
            causal = torch.ones(query.shape[-2], key.shape[-2], dtype=torch.bool, device=query.device).tril()
            scores_mask = causal if scores_mask is None else scores_mask & causal
        dropout_active = bool(training) and self.dropout > 0
        if self._sdpa_applies(training, return_attention_scores):
            # Keras subtracts a large value from masked scores: SDPA's additive mask does exactly that.
            additive = None if scores_mask is None else \
                torch.where(scores_mask, 0.0, -_large_value(query.dtype)).to(query.dtype)
            scaled = query if self.scale is None else query * self.scale
            outputs = F.scaled_dot_product_attention(scaled, key, value, attn_mask=additive,
                                                     dropout_p=self.dropout if dropout_active else 0.0,
                                                     is_causal=use_causal_mask and scores_mask is None, scale=1.0)
            scores = None
        else:
            scores = self._calculate_scores(query, key)
            if scores_mask is not None:
                scores = torch.where(scores_mask, scores, scores - _large_value(scores.dtype))
            scores = torch.softmax(scores, dim=-1)
            weights = self._dropout(scores, self.dropout, None) if dropout_active else scores
            outputs = torch.matmul(weights, value)
        if query_mask is not None:
            outputs = torch.where(query_mask.bool().unsqueeze(-1), outputs, 0.0)
            outputs._keras_mask = query_mask  # also for an explicit `mask=`, which the engine doesn't read back
        return (outputs, scores) if return_attention_scores else outputs

    def _sdpa_applies(self, training, return_attention_scores):
        """SDPA computes "dot" attention (this class's, not a subclass's own scores) unless the scores are
        wanted or a seeded dropout is drawn."""
        return self.score_mode == "dot" and type(self)._calculate_scores is Attention._calculate_scores \
            and not return_attention_scores and \
            not (training and self.dropout > 0 and self.seed is not None)

    def compute_mask(self, inputs, previous_mask):
        self._validate_inputs(inputs, previous_mask)
        return None if not previous_mask or previous_mask[0] is None else previous_mask[0]

    def compute_output_shape(self, input_shape):
        self._validate_inputs(input_shape)
        return (*input_shape[0][:-1], input_shape[1][-1])

    def compute_output_spec(self, inputs, mask=None, training=None, return_attention_scores=False,
                            use_causal_mask=False):
        shapes = [tuple(t.shape) for t in inputs]
        output = specs_from_shapes(self.compute_output_shape(shapes), self.compute_dtype)
        if not return_attention_scores:
            return output
        key_shape = shapes[2] if len(shapes) > 2 else shapes[1]
        return output, specs_from_shapes((*shapes[0][:-1], key_shape[-2]), self.compute_dtype)

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3 \
                or not all(hasattr(x, "shape") or isinstance(x, (list, tuple)) for x in inputs):
            raise ValueError(f"{name} layer '{self.name}' must be called on a list of inputs, namely [query, value] "
                             f"or [query, value, key]. Received: inputs={inputs!r}")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{name} layer '{self.name}' mask must be a list of length 2 or 3, namely "
                             f"[query_mask, value_mask]. Received: mask={mask!r}")
        shapes = [tuple(x.shape) if hasattr(x, "shape") else tuple(x) for x in inputs]
        query, value, key = shapes[0], shapes[1], shapes[2] if len(shapes) > 2 else shapes[1]
        if len({len(query), len(value), len(key)}) > 1 or len(query) < 3:
            raise ValueError(f"{name} layer '{self.name}': query, value and key must have the same rank, at least 3 "
                             f"((batch, ..., steps, dim)). Received shapes: {shapes}")

        def differ(a, b):
            return a is not None and b is not None and a != b

        if any(differ(a, b) for a, b in zip(query[:-2] + key[:-1], value[:-2] + value[:-1])) \
                or any(differ(a, b) for a, b in zip(query[:-2] + query[-1:], key[:-2] + key[-1:])):
            raise ValueError(f"{name} layer '{self.name}': query (batch, ..., Tq, dim), value (batch, ..., Tv, "
                             f"value_dim) and key (batch, ..., Tv, dim) disagree. Received shapes: {shapes}")

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}
