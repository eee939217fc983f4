"""CategoryEncoding: integer category ids as one-hot, multi-hot or count vectors."""

import torch

from lamina.dtypes import TORCH_DTYPES
from lamina.layers.preprocessing.base import DataLayer
from lamina.layers.preprocessing.encoding import check_not_sparse, check_output_mode, encode, encoded_shape
from lamina.ops.arguments import check_positive_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class CategoryEncoding(DataLayer):
    """Encodes integer ids in ``[0, num_tokens)`` as vectors of size ``num_tokens``.

    Args:
        num_tokens: the number of categories; every input must lie in ``[0, num_tokens)``.
        output_mode: ``"multi_hot"`` (default; 1 for each id present in a sample, the last axis),
            ``"one_hot"`` (each id its own vector; a trailing axis of size 1 is replaced) or
            ``"count"`` (how often each id occurs in a sample, weighted by ``count_weights``).
        sparse: not supported (dense torch tensors only).

    Call arguments: ``inputs`` (integers, any rank), ``count_weights`` (``"count"`` only: a weight
    per input, same shape).

    Input shape: ``(..., k)``. Output shape: ``(..., num_tokens)`` (``one_hot``: ``(..., k, num_tokens)``
    unless ``k == 1``).

    >>> CategoryEncoding(num_tokens=4, output_mode="multi_hot")([[0, 1], [0, 0], [1, 2], [3, 1]])
    tensor([[1., 1., 0., 0.], [1., 0., 0., 0.], [0., 1., 1., 0.], [0., 1., 0., 1.]])
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if num_tokens is None:
            raise ValueError("CategoryEncoding: `num_tokens` must be set. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        self.num_tokens = check_positive_int(num_tokens, "num_tokens", "CategoryEncoding")
        self.output_mode = check_output_mode(output_mode, "CategoryEncoding", ("count", "one_hot", "multi_hot"))
        check_not_sparse(sparse, "CategoryEncoding")
        self.sparse = False
        self._compute_torch_dtype = TORCH_DTYPES[self.compute_dtype]
        self._output_torch_dtype = TORCH_DTYPES[self.dtype]

    def call(self, inputs, count_weights=None):
        ids = inputs if inputs.dtype is torch.int64 else inputs.to(torch.int64)
        if ids.numel():
            low, high = torch.stack(torch.aminmax(ids)).tolist()  # one host read for the range check
            if low < 0 or high >= self.num_tokens:
                raise ValueError(f"CategoryEncoding '{self.name}': every input must be in "
                                 f"[0, num_tokens={self.num_tokens}). Received values in [{low}, {high}].")
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(f"CategoryEncoding '{self.name}': `count_weights` is only used when "
                                 f"output_mode='count'. Received output_mode={self.output_mode!r}.")
            count_weights = torch.as_tensor(count_weights, dtype=self._compute_torch_dtype, device=ids.device)
            return encode(ids, "count", self.num_tokens, self._compute_torch_dtype, count_weights=count_weights)
        return encode(ids, self.output_mode, self.num_tokens, self._output_torch_dtype)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
