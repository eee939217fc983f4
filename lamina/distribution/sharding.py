"""Each process's part of every global batch.

``batch_size`` is the global batch, as in Keras's ``DataParallel``: step ``k``'s batch is the same
on every process (arrays: the same shuffled order, drawn on process 0 and shared), and process ``r``
takes rows ``[start_r, stop_r)`` of it, the batch cut into ``N`` contiguous parts whose sizes
differ by at most one (``torch.tensor_split``'s rule). So each step's union over processes is
exactly the single-process batch, and concatenating the parts in process order gives it back in
order (``predict`` relies on that).

A process whose part would be empty (a final batch smaller than the number of processes) runs
the step on the batch's first sample with a gradient factor of 0, and its metric updates are
undone, so every process makes the same collective calls and nothing is counted twice.
"""

import collections

import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from lamina import tree
from lamina.distribution import process_group


def shard_bounds(size, index, count):
    """``(start, stop)`` of part ``index`` of ``count`` of ``size`` rows (the first ``size % count`` parts
    hold one more)."""
    base, extra = divmod(size, count)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)


class Shard:
    """What this process holds of one step's global batch of ``global_size`` rows."""

    __slots__ = ("global_size", "start", "stop", "count")

    def __init__(self, global_size, start, stop, count):
        self.global_size, self.start, self.stop, self.count = global_size, start, stop, count

    @classmethod
    def of(cls, global_size, index, count):
        return cls(global_size, *shard_bounds(global_size, index, count), count)

    @property
    def size(self):
        return self.stop - self.start

    @property
    def padded(self):
        """True when this process holds no row of the batch (it runs on a stand-in sample)."""
        return self.size == 0

    @property
    def gradient_factor(self):
        """By how much this process's gradients are scaled before DDP/FSDP average them: ``N * n_r / n``, so
        the average is the gradient of the whole batch's mean loss (1 for equal parts)."""
        return self.count * self.size / self.global_size if self.global_size else 0.0

    def rows(self):
        """The row range this process takes (the first row stands in for an empty part)."""
        return slice(self.start, self.stop) if self.size else slice(0, 1)


#: The shard of data each process feeds itself (``auto_shard_dataset=False``, or a DistributedSampler).
OWN_BATCH = Shard(1, 0, 1, 1)


def _first_size(batch):
    leaf = next((leaf for leaf in tree.flatten(batch) if isinstance(leaf, torch.Tensor)), None)
    if leaf is None:
        raise ValueError("A batch without any tensor cannot be split over processes.")
    return int(leaf.shape[0])


def take_rows(batch, rows):
    """Every tensor of the batch structure ``batch``, sliced to ``rows`` along its first axis."""
    return tree.map_structure(lambda t: t[rows] if isinstance(t, torch.Tensor) and t.ndim else t, batch)


def shared_order(size):
    """A permutation of ``range(size)`` drawn on process 0 from torch's global RNG (as a single process
    draws it) and broadcast, so every process shuffles alike whatever its own RNG state."""
    order = torch.randperm(size) if process_group.process_id() == 0 else torch.empty(size, dtype=torch.int64)
    return process_group.broadcast_tensor(order)


def _sampler(loader):
    batch_sampler = getattr(loader, "batch_sampler", None)
    return getattr(batch_sampler, "sampler", None) or getattr(loader, "sampler", None)


class ShardedData:
    """An adapter's batches, cut to this process's part; iterated like the adapter.

    ``on_shard(shard)`` is called before each batch is handed out, so the step knows its part.
    Adapters that draw a shuffled order (``draw_order``) draw it through ``shared_order``; adapters
    that load index batches (``select_indices``) load only this process's rows; a torch DataLoader
    with a ``DistributedSampler`` is already per process (its epoch is set each pass).
    """

    def __init__(self, adapter, index, count, on_shard, auto_shard=True):
        self.adapter, self.index, self.count, self.on_shard = adapter, index, count, on_shard
        self.num_batches = adapter.num_batches
        self._pending = collections.deque()  # shards chosen by select_indices, in the order their batches arrive
        self._epoch = 0
        source = getattr(adapter, "data", None)
        self.own_batches = not auto_shard or isinstance(_sampler(source), DistributedSampler)
        if self.own_batches:
            return
        if isinstance(source, DataLoader) and isinstance(_sampler(source), RandomSampler):
            raise ValueError(f"A DataLoader that shuffles draws its own order on each of the {count} processes, so "
                             "they would not split the same batches. Pass the Dataset itself (lamina shuffles and "
                             "splits it), or give the DataLoader a torch.utils.data.DistributedSampler.")
        if hasattr(adapter, "draw_order"):
            adapter.draw_order = shared_order
        if hasattr(adapter, "select_indices"):
            adapter.select_indices = self._select

    def _select(self, indices):
        shard = Shard.of(len(indices), self.index, self.count)
        self._pending.append(shard)
        return indices[shard.rows()]

    def __iter__(self):
        sampler = _sampler(getattr(self.adapter, "data", None))
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(self._epoch)
        self._epoch += 1
        self._pending.clear()
        for batch in self._batches():
            if self.own_batches:
                shard = OWN_BATCH
            elif self._pending:
                shard = self._pending.popleft()
            else:
                shard = Shard.of(_first_size(batch), self.index, self.count)
                batch = take_rows(batch, shard.rows())
            self.on_shard(shard)
            yield batch

    def _batches(self):
        """The adapter's batches; when their number is not known in advance, every process stops at the
        first step some process has no batch for (instead of waiting for it in a collective)."""
        if getattr(self.adapter, "known_length", False):
            yield from self.adapter
            return
        iterator = iter(self.adapter)
        while True:
            batch = next(iterator, None)
            if process_group.any_process(batch is None):
                return
            yield batch
