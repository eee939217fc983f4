"""``SwapEMAWeights``: evaluate and predict with the optimizer's moving averages of the weights."""

import torch

from lamina.callbacks.base import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's exponential moving averages (``use_ema=True``)
    before evaluation and prediction, and back after, as Keras's.

    ``swap_on_epoch=True`` also swaps at each epoch end, so checkpoints and validation written then
    see the averaged weights (and back at the next epoch's start); after the last epoch the model
    keeps them. Departure: Keras 3.15 forgets to swap back after ``predict`` (its check is inverted);
    lamina swaps back, as documented.
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizers(self):
        """The optimizers whose averages are swapped: the optimizer itself, or a MultiOptimizer's inner
        optimizers that keep averages (at least one must), as Keras's."""
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if hasattr(optimizer, "optimizers"):
            averaging = [inner for inner in optimizer.optimizers if getattr(inner, "use_ema", False)]
            if not averaging:
                raise ValueError("SwapEMAWeights must be used when at least one inner optimizer has "
                                 "`use_ema=True` set. Received a MultiOptimizer with all inner optimizers having "
                                 "`use_ema=False`.")
        else:
            averaging = [optimizer]
        for inner in averaging:
            if not getattr(inner, "use_ema", False) or "average" not in getattr(inner, "_slots", {}):
                raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                                 f"Received: use_ema={getattr(inner, 'use_ema', False)}")
        return averaging

    @torch.no_grad()
    def _swap(self):
        for optimizer in self._optimizers():
            for variable, average in zip(optimizer._trainable_variables, optimizer._slots["average"]):
                held = variable.detach().clone()
                variable.copy_(average)
                average.copy_(held)

    @torch.no_grad()
    def _finalize(self):
        """The averages become the weights now in the model, so fit's final EMA copy keeps them."""
        for optimizer in self._optimizers():
            torch._foreach_copy_(optimizer._slots["average"], [v.detach() for v in optimizer._trainable_variables])

    def _swap_to(self, ema_in_model):
        if self._ema_weights_in_model != ema_in_model:
            self._swap()
            self._ema_weights_in_model = ema_in_model

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_to(False)

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_to(True)
            if epoch == self.params["epochs"] - 1:
                self._finalize()

    def on_test_begin(self, logs=None):
        self._swap_to(True)

    def on_test_end(self, logs=None):
        self._swap_to(False)

    def on_predict_begin(self, logs=None):
        self._swap_to(True)

    def on_predict_end(self, logs=None):
        self._swap_to(False)
