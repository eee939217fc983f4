"""The model replicated by ``DistributedDataParallel`` or sharded by FSDP's ``fully_shard``, once; the
lamina model stays the user's object (``model.layers``, ``get_weights``, ``save`` work as before).

DDP averages gradients only for forwards that go through it, so during a training step the model's
``forward`` is routed through the DDP wrapper: ``self(x, training=True)`` inside any ``train_step``
(the built-in one or a user's) reaches DDP, which wraps a small module running the model's own
forward. Outside the step the model is called directly, as before. FSDP works through hooks on the
model and its layers, so nothing is routed.
"""

import torch
from torch.nn.parallel import DistributedDataParallel

from lamina import tree
from lamina.engine.weights import Structure


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


class ShardedReplica:
    """``model`` with its weights sharded over the processes by FSDP's ``fully_shard``: each direct layer
    holding weights is one FSDP unit (its weights gathered only while it runs), the model the root.

    An optimizer holding the whole weights (built on them, or a PyTorch optimizer) is pointed at the
    shards, its slots sharded alike.
    """

    def __init__(self, model):
        from torch.distributed.fsdp import fully_shard  # imported when a model is sharded, not with lamina

        constrained = [f"{owner.name}/{name}" for owner, name, spec in model._weight_slots() if spec.constraint]
        if constrained:
            raise ValueError(f"ModelParallel: weight constraints are not supported on sharded weights; model "
                             f"'{model.name}' constrains {constrained}. Use DataParallel for this model.")
        self.model = model
        whole = list(model.parameters())
        for layer in model.layers:
            if next(layer.parameters(), None) is not None:
                _shard(layer, fully_shard)
        _shard(model, fully_shard)
        Structure.changed()
        replacements = dict(zip(map(id, whole), model.parameters()))
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:  # built on the whole weights, or a PyTorch optimizer holding them
            optimizer._rebind(replacements, _sharded_like)

    @staticmethod
    def is_current():
        return True

    def run(self, step, data, factor):
        """Runs ``step(data)`` with the model's outputs' gradients scaled by ``factor``."""
        if factor == 1.0:
            return step(data)
        handle = self.model.register_forward_hook(lambda module, args, outputs: scale_output_gradients(outputs, factor))
        try:
            return step(data)
        finally:
            handle.remove()


def _shard(module, fully_shard):
    """``fully_shard(module)``; its new class (FSDP's ``FSDP<Class>``) serializes as the class it was."""
    original = type(module)
    fully_shard(module)
    if type(module) is not original and "_serialized_class" not in type(module).__dict__:
        type.__setattr__(type(module), "_serialized_class", original.__dict__.get("_serialized_class", original))


def _sharded_like(value, parameter):
    """``value`` (the whole of an optimizer slot) sharded as ``parameter`` is, from this process's copy."""
    from torch.distributed.tensor import distribute_tensor  # only reached once FSDP has sharded a model

    return distribute_tensor(value.to(parameter.device), parameter.device_mesh, parameter.placements,
                             src_data_rank=None)


def _trainable_ids(model):
    return tuple(id(weight) for weight in model.trainable_weights)


_ATTRIBUTE = "_distributed_replica"  # kept in the model's __dict__: not a submodule, and freed with the model


def replica(model, distribution):
    """The model's replica under ``distribution``, made on first use (a data-parallel one again when its
    trainable weights changed); None for a model without trainable weights (nothing to average)."""
    current = model.__dict__.get(_ATTRIBUTE)
    if current is None or not current.is_current():
        if distribution.weights == "shard":
            current = ShardedReplica(model)
        else:
            options = getattr(distribution, "ddp_options", {})
            current = Replica(model, options) if model.trainable_weights else None
        model.__dict__[_ATTRIBUTE] = current
    return current


def is_distributed(model):
    """Whether a distribution has wrapped or sharded ``model`` (so saving it is a collective operation)."""
    return _ATTRIBUTE in model.__dict__
