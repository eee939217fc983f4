"""LoRA (low-rank adaptation) for layers with one kernel: Dense, Embedding, EinsumDense.

``enable_lora(rank)`` freezes the layer's kernel W of Keras shape ``(*leading, out)`` and adds two
trainable factors A ``(*leading, rank)`` and B ``(rank, out)``; the layer then computes with
``W + (lora_alpha / rank) * A @ B``, as Keras 3 (for a matrix: A ``(in, rank)``, B ``(rank, out)``).
"""

import torch

from lamina import initializers
from lamina.engine.weights import Structure
from lamina.ops.arguments import check_int


class LoraMixin:
    """Adds ``enable_lora``; the host names its matrix in ``_lora_target`` and sets ``lora_rank``/``lora_alpha``.

    Class attributes of the host: ``_lora_target`` (e.g. "kernel"), ``_lora_names`` (the factors' weight
    names, e.g. ("lora_kernel_a", "lora_kernel_b")), ``_lora_regularizer``/``_lora_constraint``
    (attribute names of the matrix's regularizer and constraint).
    """

    def _init_lora(self, lora_rank, lora_alpha):
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self._lora_scale = 0.0

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        """Freezes the kernel and adds trainable factors A ``(*leading, rank)`` and B ``(rank, out)`` (B starts at 0)."""
        if getattr(self, self._lora_constraint) is not None:
            raise ValueError(f"Layer '{self.name}': LoRA is incompatible with `{self._lora_constraint}`. "
                             f"Remove the `{self._lora_constraint}` argument to enable LoRA.")
        if not self.built:
            raise ValueError(f"Layer '{self.name}': cannot enable LoRA on a layer that isn't built yet; "
                             "call the layer or `layer.build(input_shape)` first.")
        if self.lora_enabled:
            raise ValueError(f"Layer '{self.name}': LoRA is already enabled; it can be enabled once per layer.")
        rank = check_int(rank, "rank", f"Layer '{self.name}' (LoRA)", minimum=1)
        target = self._lora_target
        *leading, fan_out = self._weight_specs[target].keras_shape
        regularizer = getattr(self, self._lora_regularizer)
        name_a, name_b = self._lora_names
        for name, shape, initializer in ((name_a, (*leading, rank), a_initializer),
                                         (name_b, (rank, fan_out), b_initializer)):
            self.add_weight(name=name, shape=shape, initializer=initializers.get(initializer), dtype="float32",
                            regularizer=regularizer)
        # Frozen as a buffer: it stays first in get_weights (Keras's order), leaves trainable_weights
        # and the optimizer's parameters, and `layer.trainable = True` cannot unfreeze it.
        frozen = self._parameters.pop(target).requires_grad_(False)
        self.register_buffer(target, frozen)
        Structure.changed()
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank
        self._lora_scale = self.lora_alpha / rank

    def _lora_delta(self, factor_a_rows):
        """``scale * rows_of_A @ B``: the LoRA term for rows of A already selected or projected."""
        return torch.matmul(factor_a_rows, getattr(self, self._lora_names[1])) * self._lora_scale

    def _lora_merged_kernel(self):
        """``W + scale * A @ B``: the kernel the layer computes with while LoRA is enabled."""
        name_a, name_b = self._lora_names
        return getattr(self, self._lora_target) + torch.matmul(getattr(self, name_a), getattr(self, name_b)) \
            * self._lora_scale

    def lora_merged(self):
        """The matrix with the LoRA update folded in, ``W + scale * A @ B`` (what Keras saves in its files)."""
        with torch.no_grad():
            return self._lora_merged_kernel()

    def lora_weight_names(self):
        """(the matrix, factor A, factor B): the attribute names of the weights LoRA involves."""
        return (self._lora_target,) + tuple(self._lora_names)

    def _lora_config(self):
        return {"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha} if self.lora_rank else {}
