"""The per-batch train/test/predict steps: one forward, one backward, one optimizer update.

Nothing here reads a tensor back to Python: loss and metric state stay on the device, so a
step costs what a hand-written PyTorch loop costs plus the metric updates.
"""

import contextlib
import logging

import torch

from lamina.engine import layer as layer_module
from lamina.engine import tree
from lamina.engine.dtype_policy import TORCH_DTYPES

logger = logging.getLogger("lamina")


def move(structure, device):
    """``structure``'s tensors on ``device`` (non-blocking from pinned memory)."""
    if device is None or device.type == "cpu":
        return structure
    return tree.map_structure(lambda t: t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t,
                              structure)


def batch_size_of(x):
    return next(leaf for leaf in tree.flatten(x) if leaf is not None).shape[0]


def total_loss(model, y, y_pred, sample_weight, has_regularizers):
    """The compiled loss plus ``model.losses`` (regularization, activity and ``add_loss`` terms), or None."""
    loss = model._compile_loss(y, y_pred, sample_weight) if model._compile_loss is not None else None
    if has_regularizers or layer_module._layers_with_losses:
        extra = model.losses
        if extra:
            added = torch.stack([value.float().sum() for value in extra]).sum()
            loss = added if loss is None else loss + added
    return loss


class LossScaler:
    """Dynamic loss scaling for float16 training (as Keras's LossScaleOptimizer / torch's GradScaler)."""

    def __init__(self, initial_scale=2.0 ** 15, growth_interval=2000):
        self.scale = initial_scale
        self.growth_interval = growth_interval
        self.good_steps = 0

    def step(self, loss, optimizer, variables):
        """Backward on the scaled loss, unscale, and update unless a gradient overflowed."""
        (loss * self.scale).backward()
        grads = [v.grad for v in variables if v.grad is not None]
        found_inf = torch.zeros(1, device=grads[0].device)
        inv_scale = torch.full((1,), 1.0 / self.scale, device=grads[0].device)
        torch._amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale)
        if found_inf.item():
            self.scale /= 2.0
            self.good_steps = 0
            return False
        optimizer.step()
        self.good_steps += 1
        if self.good_steps >= self.growth_interval:
            self.scale *= 2.0
            self.good_steps = 0
        return True


class Steps:
    """The compiled steps of one model: built by ``Trainer`` at the start of fit/evaluate/predict."""

    def __init__(self, model, jit_compile=False):
        self.model = model
        self.device = model._device() or torch.device("cpu")
        policies = [layer.dtype_policy for layer in model._flatten_layers()]
        mixed = next((p for p in policies if p.is_mixed), None)
        self.autocast_dtype = TORCH_DTYPES[mixed.compute_dtype] if mixed is not None else None
        self.scaler = LossScaler() if self.autocast_dtype is torch.float16 else None
        slots = model._weight_slots()
        self.has_regularizers = any(spec.regularizer is not None for _, _, spec in slots) or any(
            layer.activity_regularizer is not None for layer in model._flatten_layers())
        self.has_constraints = any(spec.constraint is not None for _, _, spec in slots)
        self.variables = model.trainable_weights
        self._forward_loss = self._eager_forward_loss
        if jit_compile:
            self._forward_loss = self._compiled(self._eager_forward_loss)

    def _compiled(self, function):
        """``torch.compile(function)``; falls back to eager, with a logged warning, if compiling fails."""
        compiled = torch.compile(function)
        state = {"function": compiled}

        def run(*args):
            try:
                return state["function"](*args)
            except Exception as error:  # noqa: BLE001 - any compiler failure means: run eagerly
                if state["function"] is function:
                    raise
                logger.warning("jit_compile: torch.compile failed (%s: %s); model '%s' trains eagerly.",
                               type(error).__name__, error, self.model.name)
                state["function"] = function
                return function(*args)

        return run

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _eager_forward_loss(self, x, y, sample_weight):
        model = self.model
        with self._autocast():
            y_pred = model(x, training=True)
        loss = total_loss(model, y, y_pred, sample_weight, self.has_regularizers)
        if loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return loss, y_pred

    def train(self, x, y, sample_weight):
        """One update on a batch; returns nothing (metric state is updated in place)."""
        model = self.model
        x, y, sample_weight = move((x, y, sample_weight), self.device)
        loss, y_pred = self._forward_loss(x, y, sample_weight)
        model._loss_tracker.update_state(loss.detach(), sample_weight=batch_size_of(x))
        optimizer = model.optimizer
        optimizer.zero_grad()
        if self.scaler is not None:
            self.scaler.step(loss, optimizer, self.variables)
        else:
            loss.backward()
            optimizer.step()
        if self.has_constraints:
            model.apply_constraints()
        with torch.no_grad():
            model._compile_metrics.update_state(y, tree.map_structure(torch.Tensor.detach, y_pred), sample_weight)

    @torch.no_grad()
    def test(self, x, y, sample_weight):
        """Loss and metrics of a batch without updating weights."""
        model = self.model
        x, y, sample_weight = move((x, y, sample_weight), self.device)
        with self._autocast():
            y_pred = model(x, training=False)
        loss = total_loss(model, y, y_pred, sample_weight, self.has_regularizers)
        if loss is not None:
            model._loss_tracker.update_state(loss, sample_weight=batch_size_of(x))
        model._compile_metrics.update_state(y, y_pred, sample_weight)

    @torch.inference_mode()
    def predict(self, x):
        with self._autocast():
            return self.model(move(x, self.device), training=False)
