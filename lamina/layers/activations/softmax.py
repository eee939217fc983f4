"""Softmax layer, with an optional mask."""

import torch

from lamina import activations
from lamina.layers.activations.base_activation import ActivationLayer
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Softmax(ActivationLayer):
    """Softmax over ``axis`` (an int or a list of ints).

    A mask broadcastable to the input (bool, or numbers where > 0.5 means kept) leaves masked
    positions out: they get probability 0 (also when a whole slice is masked).

    >>> Softmax()(torch.zeros(2, 4), mask=torch.tensor([[1, 1, 0, 0]] * 2)).tolist()[0]
    [0.5, 0.5, 0.0, 0.0]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, inputs, mask=None):
        if mask is None:
            return activations.softmax(inputs, axis=self._axis())
        mask = torch.as_tensor(mask, device=inputs.device)
        if mask.dim() > inputs.dim() or any(m != 1 and m != i for m, i in zip(reversed(mask.shape),
                                                                              reversed(inputs.shape))):
            raise ValueError(f"Softmax '{self.name}': the mask must be broadcastable to the inputs. Received: "
                             f"inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}")
        if mask.dtype != torch.bool:
            mask = mask > 0.5
        large_negative = -3e4 if inputs.dtype == torch.float16 else -1e9
        outputs = activations.softmax(torch.where(mask, inputs, large_negative), axis=self._axis())
        return torch.where(mask, outputs, 0.0)

    def _call_is_context_free(self):
        """Without a mask, ``call(inputs)`` is the softmax, and no mask is made."""
        return True

    def _axis(self):
        return tuple(self.axis) if isinstance(self.axis, list) else self.axis

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
