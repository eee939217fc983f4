"""Multi-head attention arithmetic shared by MultiHeadAttention and GroupQueryAttention.

Projected tensors have Keras's layout ``(batch, *dims, heads, channels)``; attention runs over some of
``dims`` (the attention axes), the others act as batch axes. Scores have Keras's layout
``(batch, *other dims, heads, *query attention dims, *key attention dims)``.

Two kernels give Keras's numbers:
- ``MultiHeadLayout.scaled_dot_product``: ``F.scaled_dot_product_attention`` on the tensors seen as
  ``(batch', heads, length', channels)`` (attention axes flattened in their order, a view in the usual
  layouts); masks become Keras-torch's additive mask, so a query row with every key masked averages
  all values, as Keras's own fast path does; ``zero_empty_rows`` gives such rows Keras's exact-path value
  (zero) instead.
- ``MultiHeadLayout.einsum_attention``: Keras's einsum path (scores, masked softmax, dropout, combine),
  used when the scores are returned or a seeded dropout must be reproducible.
"""

import math

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from lamina import activations

# Keras-torch's additive mask value (-0.7 * the largest float32; float16 has its own): the fast path
# adds it, so lamina's numbers equal Keras's, fully masked rows included.
_ADDITIVE_MASK = {torch.float16: -0.7 * 65500.0}
_ADDITIVE_MASK_DEFAULT = -0.7 * 3.38953e38
# Keras's masked softmax: masked logits become this before the softmax (its exact path).
_SOFTMAX_MASK = {torch.float16: -3e4}
_SOFTMAX_MASK_DEFAULT = -1e9
_NOT_FLASH = [SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH]


def attention_equations(rank, attention_axes):
    """Keras's ``(dot product, combine)`` einsum equations for projected tensors of ``rank``.

    Query letters are ``a, b, ...``; the key takes new letters on the attention axes. Scores list
    the batch axes (heads included, in order), then the query's and the key's attention axes.
    """
    letters = "abcdefghijklmnopqrstuvwxyz"
    target = letters[:rank]
    batch_axes = [axis for axis in range(rank - 1) if axis not in attention_axes]
    fresh = iter(letters[rank:])
    source = "".join(next(fresh) if axis in attention_axes else target[axis] for axis in range(rank))
    product = "".join([target[a] for a in batch_axes] + [target[a] for a in attention_axes] +
                      [source[a] for a in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


def masked_softmax(scores, mask, axes):
    """Keras's masked softmax over ``axes``: masked logits set very negative, masked outputs 0."""
    if mask is None:
        return activations.softmax(scores, axis=axes if len(axes) > 1 else axes[0])
    large_negative = _SOFTMAX_MASK.get(scores.dtype, _SOFTMAX_MASK_DEFAULT)
    probabilities = activations.softmax(torch.where(mask, scores, large_negative),
                                        axis=axes if len(axes) > 1 else axes[0])
    return torch.where(mask, probabilities, 0.0)


def sdpa_backends(flash_attention):
    """The kernels ``flash_attention`` allows: None lets PyTorch choose; True only flash; False all but flash."""
    if flash_attention is None:
        return None
    return [SDPBackend.FLASH_ATTENTION] if flash_attention else _NOT_FLASH


class MultiHeadLayout:
    """How projected tensors of one rank and set of attention axes map to SDPA and to Keras's einsums.

    Args:
        rank: rank of the projected tensors ``(batch, *dims, heads, channels)``.
        attention_axes: axes of the projected tensors (in ``1 .. rank - 3``) attention runs over, in
            Keras's order (the order of the score axes).
    """

    def __init__(self, rank, attention_axes):
        self.rank = rank
        self.attention_axes = tuple(attention_axes)
        self.batch_axes = tuple(a for a in range(rank - 2) if a not in self.attention_axes)
        self.dot_product_equation, self.combine_equation = attention_equations(rank, self.attention_axes)
        count = len(self.attention_axes)
        self.scores_rank = len(self.batch_axes) + 1 + 2 * count
        self.softmax_axes = tuple(range(self.scores_rank - count, self.scores_rank))
        order = self.batch_axes + self.attention_axes
        # (batch..., attention..., heads, channels) is the projected layout itself: reshapes are views.
        self._permutation = None if order == tuple(range(rank - 2)) else order + (rank - 2, rank - 1)
        self._inverse = None if self._permutation is None else tuple(
            sorted(range(rank), key=self._permutation.__getitem__))

    # ------------------------------------------------------------------ SDPA layout
    def _split(self, shape):
        """(batch sizes, attention sizes) of a projected shape."""
        return [shape[a] for a in self.batch_axes], [shape[a] for a in self.attention_axes]

    def to_sdpa(self, tensor):
        """``(batch, *dims, heads, c)`` -> ``(batch', heads, length', c)`` (a view in the usual layouts)."""
        if self.rank == 4:
            return tensor.transpose(1, 2)
        batch, lengths = self._split(tensor.shape)
        if self._permutation is not None:
            tensor = tensor.permute(self._permutation)
        return tensor.reshape(math.prod(batch), math.prod(lengths), *tensor.shape[-2:]).transpose(1, 2)

    def from_sdpa(self, tensor, query_shape):
        """The inverse of ``to_sdpa`` for the query's ``(batch, *dims)``."""
        tensor = tensor.transpose(1, 2)
        if self.rank == 4:
            return tensor
        batch, lengths = self._split(query_shape)
        tensor = tensor.reshape(*batch, *lengths, *tensor.shape[-2:])
        return tensor if self._inverse is None else tensor.permute(self._inverse)

    def mask_to_sdpa(self, mask, query_shape, key_shape):
        """A mask in the scores layout (broadcastable) as ``(batch' or 1, heads or 1, length_q', length_k')``."""
        if self.rank == 4:
            return mask
        batch, query_lengths = self._split(query_shape)
        _, key_lengths = self._split(key_shape)
        count = len(batch)
        batch_target = [1] * count if all(m == 1 for m in mask.shape[:count]) else batch
        mask = mask.expand(*batch_target, mask.shape[count], *query_lengths, *key_lengths)
        return mask.reshape(math.prod(batch_target), mask.shape[count], math.prod(query_lengths),
                            math.prod(key_lengths))

    # ------------------------------------------------------------------ masks in the scores layout
    def scores_shape(self, query_shape, key_shape, heads):
        batch, query_lengths = self._split(query_shape)
        _, key_lengths = self._split(key_shape)
        return (*batch, heads, *query_lengths, *key_lengths)

    def input_mask(self, mask, is_query):
        """A Keras mask ``(batch, *dims)`` of the query (or of the value/key) in the scores layout."""
        if self._permutation is not None:
            mask = mask.permute(self.batch_axes + self.attention_axes)
        batch, lengths = mask.shape[:len(self.batch_axes)], mask.shape[len(self.batch_axes):]
        ones = (1,) * len(lengths)
        return mask.reshape(*batch, 1, *(lengths + ones if is_query else ones + lengths))

    def position_mask(self, query_shape, key_shape, device, causal, sliding_window):
        """Causal and/or banded mask over the attention positions, flattened in order (row-major)."""
        _, query_lengths = self._split(query_shape)
        _, key_lengths = self._split(key_shape)
        rows = torch.arange(math.prod(query_lengths), device=device)[:, None]
        columns = torch.arange(math.prod(key_lengths), device=device)[None, :]
        mask = rows >= columns if causal else None
        if sliding_window is not None:
            band = (rows - columns).abs() < sliding_window
            mask = band if mask is None else mask & band
        return mask.reshape((1,) * (len(self.batch_axes) + 1) + tuple(query_lengths) + tuple(key_lengths))

    def expand_attention_mask(self, mask):
        """Keras's broadcast of an ``attention_mask``: size-1 axes inserted before its last
        ``2 * len(attention_axes)`` axes (the query's and the key's positions) up to the scores' rank."""
        tail, missing = 2 * len(self.attention_axes), self.scores_rank - mask.dim()
        if missing < 0 or mask.dim() < tail:
            raise ValueError(f"`attention_mask` must have between {tail} and {self.scores_rank} axes (the query "
                             f"and key positions last). Received: attention_mask.shape={tuple(mask.shape)}")
        if missing == 0:
            return mask
        split = mask.dim() - tail
        return mask.reshape(mask.shape[:split] + (1,) * missing + mask.shape[split:])

    # ------------------------------------------------------------------ kernels
    def scaled_dot_product(self, query, key, value, mask, is_causal, scale, dropout_p=0.0, zero_empty_rows=False,
                           backends=None):
        """Attention output ``(batch, *dims, heads, value channels)`` by ``F.scaled_dot_product_attention``.

        ``key``/``value`` may have fewer heads than ``query`` (grouped-query attention: head ``i`` of the
        query uses head ``i // groups``). ``mask``: boolean, scores layout, or None.
        """
        q, k, v = self.to_sdpa(query), self.to_sdpa(key), self.to_sdpa(value)
        additive = None
        if mask is not None:
            mask = self.mask_to_sdpa(mask, query.shape, key.shape)
            additive = torch.where(mask, 0.0, _ADDITIVE_MASK.get(q.dtype, _ADDITIVE_MASK_DEFAULT))
            if additive.dtype != q.dtype:
                additive = additive.to(q.dtype)
        arguments = dict(attn_mask=additive, dropout_p=dropout_p, is_causal=is_causal and mask is None, scale=scale,
                         enable_gqa=q.shape[1] != k.shape[1])
        if backends is None:
            outputs = F.scaled_dot_product_attention(q, k, v, **arguments)
        else:
            with sdpa_kernel(backends):
                outputs = F.scaled_dot_product_attention(q, k, v, **arguments)
        if zero_empty_rows and mask is not None:
            outputs = outputs * mask.any(dim=-1, keepdim=True)
        return self.from_sdpa(outputs, query.shape)

    def einsum_attention(self, query, key, value, mask, scale, dropout=None):
        """Keras's exact path: ``(output, scores)``; ``dropout`` (a callable) applies to the scores used."""
        scores = torch.einsum(self.dot_product_equation, key, query * scale)
        scores = masked_softmax(scores, mask, self.softmax_axes)
        used = scores if dropout is None else dropout(scores)
        return torch.einsum(self.combine_equation, used, value), scores
