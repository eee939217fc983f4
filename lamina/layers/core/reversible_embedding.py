"""ReversibleEmbedding: an Embedding that can also project hidden states back to vocabulary logits."""

import numbers

import torch

from lamina.dtypes import TORCH_DTYPES, is_float_dtype, result_type, standardize_dtype
from lamina.engine.layer import specs_from_shapes
from lamina.layers.core.embedding import Embedding
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class ReversibleEmbedding(Embedding):
    """An ``Embedding`` that, called with ``reverse=True``, maps ``(..., output_dim)`` hidden states to
    ``(..., input_dim)`` logits: ``inputs @ embeddings.T`` (weights tied, the default) or
    ``inputs @ reverse_embeddings`` (``tie_weights=False``: a separate trainable ``(output_dim, input_dim)``
    matrix, second in ``get_weights``). No bias.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer, embeddings_constraint,
            mask_zero: as ``Embedding`` (``reverse_embeddings`` takes the same initializer).
        tie_weights: whether the reverse projection uses the transposed ``embeddings``.
        reverse_dtype: dtype of the reverse matmul (inputs and matrix are cast to it, and the logits have it);
            None: the inputs' dtype promoted with the compute dtype, as Keras. The matrix is read in the compute
            dtype first (under "mixed_bfloat16", rounded to bfloat16 whatever ``reverse_dtype``, as Keras).
        logit_soft_cap: a positive number ``c``: reverse logits become ``tanh(logits / c) * c``.
        **kwargs: ``Embedding``'s other arguments (``lora_rank``, ``name``, ``dtype``, ...).

    Call: ``layer(token_ids)`` embeds (with the mask ``token_ids != 0`` under ``mask_zero``);
    ``layer(hidden, reverse=True)`` gives logits, without a mask. Quantization (Keras's int8/int4 modes) is
    not supported, as for ``Embedding``.

    >>> layer = ReversibleEmbedding(100, 32)
    >>> layer(layer(torch.tensor([[1, 2, 3]])), reverse=True).shape
    torch.Size([1, 3, 100])
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        weights = kwargs.pop("weights", None)  # set once this layer's own options are known (its build reads them)
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        if not isinstance(tie_weights, bool):
            raise ValueError(f"ReversibleEmbedding: the `tie_weights` argument must be a bool. "
                             f"Received: tie_weights={tie_weights!r}")
        if reverse_dtype is not None and not is_float_dtype(standardize_dtype(reverse_dtype)):
            raise ValueError(f"ReversibleEmbedding: the `reverse_dtype` argument must be None or a float dtype. "
                             f"Received: reverse_dtype={reverse_dtype!r}")
        if logit_soft_cap is not None and (isinstance(logit_soft_cap, bool) or
                                           not isinstance(logit_soft_cap, numbers.Real) or logit_soft_cap <= 0):
            raise ValueError(f"ReversibleEmbedding: the `logit_soft_cap` argument must be None or a positive "
                             f"number. Received: logit_soft_cap={logit_soft_cap!r}")
        self.tie_weights = tie_weights
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        self._reverse_torch_dtype = None if reverse_dtype is None else TORCH_DTYPES[standardize_dtype(reverse_dtype)]
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape=None):
        if self.built:
            return
        # LoRA comes after the reverse matrix: Keras's weight order for a layer given LoRA once built
        # (Keras 3.15 itself cannot build an untied layer with `lora_rank`).
        lora_rank, self.lora_rank = self.lora_rank, None
        super().build(input_shape)
        self.lora_rank = lora_rank
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(name="reverse_embeddings",
                                                      shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer)
        if lora_rank:
            self.enable_lora(lora_rank, self.lora_alpha)

    def call(self, inputs, reverse=False):
        if not reverse:
            outputs = super().call(inputs)
            if self.mask_zero:  # this layer's compute_mask is None (reverse outputs have none): set it here
                outputs._keras_mask = super().compute_mask(inputs, None)
            return outputs
        if self.tie_weights:
            kernel = (self._lora_merged_kernel() if self.lora_enabled else self.embeddings).t()
        else:
            kernel = self.reverse_embeddings
        # As Keras: the matrix is read in the compute dtype (rounded under a mixed policy), then cast to
        # reverse_dtype, else promoted with the inputs (float32 inputs give float32 logits under
        # "mixed_bfloat16"); torch.autocast, lamina's mixed precision, must not choose for the matmul.
        compute_dtype = TORCH_DTYPES[self.compute_dtype]
        kernel = kernel.to(compute_dtype)
        dtype = self._reverse_torch_dtype or torch.promote_types(inputs.dtype, compute_dtype)
        device = inputs.device.type
        if torch.is_autocast_enabled(device):
            with torch.autocast(device, enabled=False):
                logits = torch.matmul(inputs.to(dtype), kernel.to(dtype))
        else:
            logits = torch.matmul(inputs.to(dtype), kernel.to(dtype))
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs, previous_mask):
        return None

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return tuple(input_shape) + (self.output_dim,)

    def compute_output_spec(self, inputs, reverse=False):
        if not reverse:
            dtype = self.compute_dtype
        else:
            dtype = standardize_dtype(self.reverse_dtype) if self.reverse_dtype is not None else \
                result_type(inputs.dtype, self.compute_dtype)
        return specs_from_shapes(self.compute_output_shape(tuple(inputs.shape), reverse), dtype)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}
