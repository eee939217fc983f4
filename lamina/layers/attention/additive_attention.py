"""AdditiveAttention: Bahdanau-style attention, scores ``sum(scale * tanh(query + key))``."""

import torch

from lamina.layers.attention.attention import Attention
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class AdditiveAttention(Attention):
    """Additive attention: ``softmax(sum(scale * tanh(query[:, :, None] + key[:, None]), -1)) @ value``.

    Args:
        use_scale: learn a ``scale`` of shape ``(dim,)`` (glorot-uniform initialized); else scale 1.
        dropout: dropout rate on the attention distribution (training only).

    Call, masks and outputs: as ``Attention`` (query and key share their last dimension).

    >>> AdditiveAttention()([torch.ones(2, 3, 4), torch.ones(2, 5, 4)]).shape
    torch.Size([2, 3, 4])
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = self.add_weight(name="scale", shape=(input_shape[0][-1],), initializer="glorot_uniform") \
            if self.use_scale else None
        self.concat_score_weight = None

    def _calculate_scores(self, query, key):
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        return (summed if self.scale is None else summed * self.scale).sum(dim=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
