"""What ``fit``/``evaluate``/``predict`` ask of a distribution: the trainer's hooks, in one object.

``coordinator(model)`` is ``LOCAL`` (every hook a no-op) without a distribution of several processes.
Otherwise a ``Coordinator`` joins the process group and gives the trainer: ``distribute`` (this
process's part of each batch), ``train_step``/``test_step``/``predict_step`` (the model's steps,
wrapped: DDP during training, stand-in samples undone), ``any_process`` (one decision for all, e.g.
``stop_training``), ``reduce_logs`` (metrics over all processes), ``gather_predictions`` and
``verbose`` (only process 0 prints).
"""

import torch

from lamina.distribution import distributions, process_group, reduction, replica
from lamina.distribution.sharding import OWN_BATCH, ShardedData


class LocalCoordinator:
    """No distribution: every hook leaves things as they are."""

    @staticmethod
    def verbose(verbose):
        return verbose

    @staticmethod
    def distribute(adapter):
        return adapter

    @staticmethod
    def train_step(step):
        return step

    test_step = predict_step = train_step

    @staticmethod
    def any_process(flag):
        return flag

    @staticmethod
    def reduce_logs(compute):
        return compute()

    @staticmethod
    def gather_predictions(outputs):
        return outputs


LOCAL = LocalCoordinator()


def coordinator(model):
    """The hooks for one ``fit``/``evaluate``/``predict`` of ``model`` under the current distribution."""
    current = distributions.distribution()
    if current is None or current.num_processes < 2:
        return LOCAL
    return Coordinator(model, current)


class Coordinator:
    """``model`` under ``distribution`` for one loop (see the module docstring)."""

    def __init__(self, model, distribution):
        process_group.initialize()
        self.model, self.distribution = model, distribution
        self.index, self.count = process_group.process_id(), process_group.num_processes()
        self.shard = OWN_BATCH
        self.shards = []  # the shards of predict's steps, to put the outputs back together
        self._record = False
        device = process_group.local_device()
        if device.type == "cuda" and model._device() != device:
            _move(model, device)
        if distribution.weights == "shard" and model.built:
            replica.replica(model, distribution)  # before the optimizer is built on the whole weights

    def verbose(self, verbose):
        """``verbose`` on process 0; 0 (no progress bar) elsewhere."""
        return verbose if self.index == 0 else 0

    def distribute(self, adapter):
        """``adapter``'s batches cut to this process's part (None stays None)."""
        if adapter is None:
            return None
        return ShardedData(adapter, self.index, self.count, self._on_shard, self.distribution.auto_shard_dataset)

    def _on_shard(self, shard):
        self.shard = shard
        if self._record:
            self.shards.append(shard)

    def _counted(self, run):
        """``run()``; on a process running a stand-in sample (no rows of its own), its metric updates undone."""
        if not self.shard.padded:
            return run()
        with reduction.metric_updates_undone(self.model.metrics):
            return run()

    def train_step(self, step):
        """``step`` through the model's replica, its gradients weighted by this process's share of the batch."""
        def distributed_train_step(data):
            self._build(data)
            model_replica = replica.replica(self.model, self.distribution)
            if model_replica is None:
                return self._counted(lambda: step(data))
            return self._counted(lambda: model_replica.run(step, data, self.shard.gradient_factor))

        return distributed_train_step

    def _build(self, data):
        """Builds a model not built yet from the batch (DDP needs its weights before the first step)."""
        if not self.model.built:
            inputs = data[0] if isinstance(data, (tuple, list)) else data
            with torch.no_grad():
                self.model(inputs, training=False)

    def test_step(self, step):
        return lambda data: self._counted(lambda: step(data))

    def predict_step(self, step):
        self._record = True
        self.shards.clear()
        return step

    def any_process(self, flag):
        return process_group.any_process(flag)

    def reduce_logs(self, compute):
        """``compute()`` (the logs) with the metrics' states summed over the processes, after the replicas'
        buffers are made equal; the same values on every process (process 0's, for values no metric holds)."""
        if replica.is_distributed(self.model):
            reduction.broadcast_buffers(self.model)
        with reduction.global_metric_states(self.model.metrics):
            logs = compute()
        return process_group.broadcast_object(logs)

    def gather_predictions(self, outputs):
        """Every process's outputs put together in input order (each process's own with its own batches)."""
        if not outputs or any(shard is OWN_BATCH for shard in self.shards):
            return outputs
        return reduction.gather_predictions(outputs, self.shards)


def _move(model, device):
    """``model`` (and the state of an optimizer already built on it) moved to this process's GPU."""
    model.to(device)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        optimizer._rebind({id(weight): weight for weight in model.parameters()},
                          lambda state, weight: state.to(weight.device))

