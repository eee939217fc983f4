"""The model under ``DistributedDataParallel``, wrapped once; the lamina model stays the user's object.

DDP averages gradients only for forwards that go through it, so during a training step the model's
``forward`` is routed through the DDP wrapper: ``self(x, training=True)`` inside any ``train_step``
(the built-in one or a user's) reaches DDP, which wraps a small module running the model's own
forward. Outside the step the model is called directly, as before.
"""

import torch
from torch.nn.parallel import DistributedDataParallel

from lamina import tree


class _OwnForward(torch.nn.Module):
    """The module DDP wraps: the model's own forward (the class's, not the routed one)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return type(self.model).forward(self.model, *args, **kwargs)


def _scale_gradient(tensor, factor):
    if isinstance(tensor, torch.Tensor) and tensor.requires_grad:
        tensor.register_hook(lambda gradient: gradient * factor)
    return tensor


def scale_output_gradients(outputs, factor):
    """``outputs``, whose gradients will be multiplied by ``factor`` in the backward pass.

    Scaling at the model's outputs (not the averaged gradients) keeps every term exact: the loss
    terms of this process's samples are weighted by its share of the batch, while terms that every
    process adds alike (weight regularization) and the cross-process terms of synchronized
    BatchNormalization come out as in a single process.
    """
    if factor == 1.0:
        return outputs
    return tree.map_structure(lambda t: _scale_gradient(t, factor), outputs)


class Replica:
    """``model`` inside ``DistributedDataParallel``; ``step(factor)`` routes its forward through DDP."""

    def __init__(self, model, options):
        self.model = model
        self._trainable = _trainable_ids(model)
        self.ddp = DistributedDataParallel(_OwnForward(model), **options)
        self.factor = 1.0
        self.used = False

    def is_current(self):
        """False once the model's trainable weights changed (a replica is then wrapped again)."""
        return self._trainable == _trainable_ids(self.model)

    def _forward(self, *args, **kwargs):
        outputs = self.ddp(*args, **kwargs)
        if torch.is_grad_enabled():
            self.used = True
            outputs = scale_output_gradients(outputs, self.factor)
        return outputs

    def run(self, step, data, factor):
        """Runs ``step(data)`` with the model's forward going through DDP, its outputs' gradients scaled
        by ``factor``; raises when the step computed gradients without calling the model."""
        self.factor, self.used = factor, False
        # The instance dictionary directly: Layer.__setattr__/__delattr__ would count a structure change.
        self.model.__dict__["forward"] = self._forward
        try:
            logs = step(data)
        finally:
            del self.model.__dict__["forward"]
        if not self.used and any(weight.grad is not None for weight in self.model.trainable_weights):
            raise RuntimeError(
                f"Model '{self.model.name}': train_step computed gradients without calling the model itself "
                "(`self(x, training=True)`). Under a distribution, gradients are averaged over the processes by "
                "DistributedDataParallel, which sees only calls of the model: call `self(...)` in train_step (a "
                "model that calls its sub-models can call them from `call`).")
        return logs


def _trainable_ids(model):
    return tuple(id(weight) for weight in model.trainable_weights)


_ATTRIBUTE = "_distributed_replica"  # kept in the model's __dict__: not a submodule, and freed with the model


def replica(model, options):
    """The model's replica, made on first use and again when its trainable weights changed; None for a model
    without trainable weights (nothing to average)."""
    current = model.__dict__.get(_ATTRIBUTE)
    if current is None or not current.is_current():
        current = Replica(model, options) if model.trainable_weights else None
        model.__dict__[_ATTRIBUTE] = current
    return current


def is_replicated(model):
    """Whether a distribution has wrapped ``model`` (so saving it is a collective operation)."""
    return _ATTRIBUTE in model.__dict__
