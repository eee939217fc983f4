"""Embedding: integer indices to rows of an ``(input_dim, output_dim)`` matrix."""

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.dtypes import TORCH_DTYPES
from lamina.engine.layer import Layer
from lamina.engine.weights import read_weight
from lamina.layers.core.dense import check_no_quantization
from lamina.layers.core.lora import LoraMixin
from lamina.ops.arguments import check_positive_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Embedding(LoraMixin, Layer):
    """Turns indices into dense vectors: ``output[..., :] = embeddings[inputs[...]]``.

    Args:
        input_dim: vocabulary size (largest index + 1).
        output_dim: size of each vector.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: for the matrix.
        mask_zero: index 0 is padding: the layer outputs the mask ``inputs != 0``.
        weights: initial matrix ``(input_dim, output_dim)`` (or a one-element list holding it).
        lora_rank, lora_alpha: enable LoRA at build (see ``Dense``).
        input_length: Keras 2: the sequence length, giving a first layer its input shape.

    Input shape: integers ``(batch, ...)`` of any rank. Output shape: ``(batch, ..., output_dim)``.
    Indices outside ``[0, input_dim)`` raise a ValueError naming the layer.

    >>> Embedding(10, 4)(torch.tensor([[1, 2, 3]])).shape
    torch.Size([1, 3, 4])
    """

    _lora_target = "embeddings"
    _lora_names = ("lora_embeddings_a", "lora_embeddings_b")
    _lora_regularizer = "embeddings_regularizer"
    _lora_constraint = "embeddings_constraint"

    input_dtype_default = "int64"  # token ids: a Sequential built from `input_shape=` takes integers
    casts_integer_inputs = False

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim = check_positive_int(input_dim, "input_dim", type(self).__name__)
        self.output_dim = check_positive_int(output_dim, "output_dim", type(self).__name__)
        check_no_quantization(quantization_config, type(self).__name__)
        self._set_weight_options("embeddings", embeddings_initializer, embeddings_regularizer, embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.autocast = False  # integer inputs stay integers
        self._init_lora(lora_rank, lora_alpha)
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1 else [weights])

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, self.lora_alpha)

    def call(self, inputs):
        if inputs.is_floating_point() or inputs.dtype is torch.bool:
            inputs = inputs.long()
        # On CPU, PyTorch's own bounds check raises IndexError; elsewhere a bad index is a device-side
        # assert that poisons the CUDA context, so the range is checked first there.
        if inputs.device.type != "cpu" and inputs.numel() and not torch.compiler.is_compiling():
            self._check_indices(inputs)
        try:
            outputs = F.embedding(inputs, read_weight(self, "embeddings"))
        except IndexError:
            self._check_indices(inputs)
            raise
        if self.lora_enabled:
            outputs = outputs + self._lora_delta(F.embedding(inputs, self.lora_embeddings_a))
        compute_dtype = TORCH_DTYPES[self.compute_dtype]
        if outputs.dtype is not compute_dtype:
            outputs = outputs.to(compute_dtype)
        if self.mask_zero:
            # Set here too: the engine's fast path for built layers skips compute_mask.
            outputs._keras_mask = self.compute_mask(inputs, None)
        return outputs

    def _check_indices(self, inputs):
        low, high = torch.aminmax(inputs)
        if low < 0 or high >= self.input_dim:
            raise ValueError(f"Layer '{self.name}': embedding indices must be in [0, {self.input_dim}) "
                             f"(input_dim={self.input_dim}). Received indices in [{int(low)}, {int(high)}].")

    def compute_mask(self, inputs, previous_mask):
        return inputs != 0 if self.mask_zero else None

    def _call_is_context_free(self):
        """Without ``mask_zero`` (fixed at construction, as ``supports_masking``), no mask is made."""
        return not self.mask_zero and not self._has_sublayers()

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero, "quantization_config": None, **self._lora_config()}
