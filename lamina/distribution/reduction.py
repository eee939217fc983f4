"""Making every process see the same numbers: metric states summed over processes before ``result()``,
replicas' buffers made equal, and ``predict``'s parts put back together in input order.

A metric's state is its ``variables``; each is reduced by its ``aggregation`` (Keras's names, set by
``add_variable``): "sum" (the default: totals, counts, confusion matrices, AUC buckets), "mean",
"only_first_replica" (process 0's value), or "none" (kept per process).
"""

import contextlib

import torch
import torch.distributed as dist

from lamina import tree
from lamina.distribution import process_group
from lamina.distribution.sharding import shard_bounds

def leaf_metrics(metrics):
    """The metrics holding state: a container (Keras's ``CompileMetrics``) stands for the metrics it holds."""
    for metric in metrics:
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):
            yield from leaf_metrics(inner)
        else:
            yield metric


def _states(metrics):
    """(variable, aggregation) for every state tensor of ``metrics``."""
    states = []
    for metric in leaf_metrics(metrics):
        variables = list(metric.variables)
        aggregations = list(getattr(metric, "variable_aggregations", None) or ["sum"] * len(variables))
        states.extend(zip(variables, aggregations))
    return states


def _check_same_layout(count):
    """Every process must reduce the same number of values (else the all-reduce would mismatch)."""
    probe = torch.tensor([count, -count], dtype=torch.int64, device=process_group.collective_device())
    dist.all_reduce(probe, op=dist.ReduceOp.MAX)
    if probe[0].item() != -probe[1].item():
        raise RuntimeError(f"The processes' metrics hold different numbers of state values (this process: {count}, "
                           f"largest: {probe[0].item()}): every process must compile the same metrics.")


@contextlib.contextmanager
def global_metric_states(metrics):
    """Inside the block, ``metrics``' states hold the values over all processes; after it, each process's own.

    One all-reduce (in float64, so integer counts stay exact) carries every state.
    """
    states = [(variable, aggregation) for variable, aggregation in _states(metrics) if aggregation != "none"]
    total = sum(variable.numel() for variable, _ in states)
    _check_same_layout(total)
    if not states:
        yield
        return
    device = process_group.collective_device()
    own = [variable.clone() for variable, _ in states]
    parts = []
    for variable, aggregation in states:
        part = variable.detach().reshape(-1).to(device=device, dtype=torch.float64)
        if aggregation == "only_first_replica" and process_group.process_id() != 0:
            part = torch.zeros_like(part)
        parts.append(part)
    flat = torch.cat(parts)
    dist.all_reduce(flat)
    offset = 0
    with torch.no_grad():
        for variable, aggregation in states:
            value = flat[offset:offset + variable.numel()]
            offset += variable.numel()
            if aggregation == "mean":
                value = value / process_group.num_processes()
            variable.copy_(value.reshape(variable.shape).to(device=variable.device, dtype=variable.dtype))
    try:
        yield
    finally:
        with torch.no_grad():
            for (variable, _), value in zip(states, own):
                variable.copy_(value)


@contextlib.contextmanager
def metric_updates_undone(metrics):
    """Whatever the block adds to ``metrics``' states is undone (a process running a stand-in sample)."""
    saved = [(metric, [variable.clone() for variable in metric.variables]) for metric in leaf_metrics(metrics)]
    try:
        yield
    finally:
        with torch.no_grad():
            for metric, values in saved:
                variables = list(metric.variables)
                for variable, value in zip(variables, values):
                    variable.copy_(value.to(variable.device))
                for variable in variables[len(values):]:  # created during the block (built on first update)
                    variable.zero_()


def broadcast_buffers(model):
    """Every process's buffers (moving statistics, non-trainable weights) set to process 0's, in one
    broadcast per dtype."""
    buffers = [buffer for buffer in model.buffers() if buffer.numel()]
    by_dtype = {}
    for buffer in buffers:
        by_dtype.setdefault(buffer.dtype, []).append(buffer)
    device = process_group.collective_device()
    with torch.no_grad():
        for group in by_dtype.values():
            flat = torch.cat([buffer.detach().reshape(-1).to(device) for buffer in group])
            dist.broadcast(flat, src=0)
            offset = 0
            for buffer in group:
                buffer.copy_(flat[offset:offset + buffer.numel()].reshape(buffer.shape))
                offset += buffer.numel()


def gather_predictions(outputs, shards):
    """The whole prediction, in input order, on every process, from each process's per-step ``outputs``
    (structures of tensors) and the ``shards`` it held at those steps."""
    count = process_group.num_processes()
    flat_steps = [tree.flatten(step) for step in outputs]
    own = [torch.cat([step[leaf][:shard.size] for step, shard in zip(flat_steps, shards)]).cpu()
           for leaf in range(len(flat_steps[0]))]
    every = process_group.gather_objects((own, [shard.global_size for shard in shards[:len(outputs)]]))
    global_sizes = every[0][1]
    if any(sizes != global_sizes for _, sizes in every):
        raise RuntimeError("predict: the processes ran different batches; their predictions cannot be put together.")
    pieces = [[] for _ in own]
    offsets = [0] * count
    for size in global_sizes:
        for rank in range(count):
            start, stop = shard_bounds(size, rank, count)
            for leaf, parts in enumerate(pieces):
                parts.append(every[rank][0][leaf][offsets[rank]:offsets[rank] + stop - start])
            offsets[rank] += stop - start
    return [tree.pack_sequence_as(outputs[0], [torch.cat(parts) for parts in pieces])]
