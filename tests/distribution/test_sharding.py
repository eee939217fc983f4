"""Each process's part of a batch, without processes: the rule and the adapters' hooks."""

import numpy as np
import pytest
import torch

from lamina.distribution.sharding import Shard, ShardedData, shard_bounds
from lamina.training import data as data_module


@pytest.mark.parametrize("size, count", [(32, 2), (5, 2), (7, 3), (1, 2), (2, 4), (0, 2)])
def test_parts_are_contiguous_in_order_and_differ_by_at_most_one(size, count):
    bounds = [shard_bounds(size, index, count) for index in range(count)]
    assert bounds[0][0] == 0 and bounds[-1][1] == size
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    assert [part.tolist() for part in torch.tensor_split(torch.arange(size), count)] == \
        [list(range(start, stop)) for start, stop in bounds]


def test_gradient_factors_make_the_average_the_whole_batch_mean():
    shards = [Shard.of(5, index, 2) for index in range(2)]
    assert [shard.gradient_factor for shard in shards] == [2 * 3 / 5, 2 * 2 / 5]
    assert sum(shard.gradient_factor for shard in shards) / 2 == pytest.approx(1.0)
    empty = Shard.of(1, 1, 2)
    assert empty.padded and empty.gradient_factor == 0 and empty.rows() == slice(0, 1)


def _parts(adapter, count):
    seen = []
    for index in range(count):
        shards = []
        sharded = ShardedData(adapter, index, count, shards.append)
        seen.append([(batch, shard) for batch, shard in zip(sharded, shards)])
    return seen


def test_arrays_and_datasets_give_each_process_its_rows():
    x = np.arange(11, dtype="float32")[:, None]
    for adapter in (data_module.make_adapter(x, x, batch_size=4),
                    data_module.make_adapter(torch.utils.data.TensorDataset(torch.from_numpy(x)), batch_size=4)):
        first, second = _parts(adapter, 2)
        rows = [torch.cat([tree_first(a[0]), tree_first(b[0])]).reshape(-1).tolist() for a, b in zip(first, second)]
        assert rows == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
        assert [shard.size for _, shard in second] == [2, 2, 1]


def tree_first(batch):
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def test_a_shuffling_dataloader_is_refused_with_the_remedy():
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 1)), shuffle=True)
    with pytest.raises(ValueError, match="Pass the Dataset itself.*DistributedSampler"):
        ShardedData(data_module.make_adapter(loader), 0, 2, lambda shard: None)


def test_a_dataloader_with_a_distributed_sampler_is_already_per_process_and_gets_its_epoch():
    dataset = torch.utils.data.TensorDataset(torch.arange(8.0)[:, None])
    sampler = torch.utils.data.DistributedSampler(dataset, num_replicas=2, rank=1, shuffle=True, seed=3)
    shards = []
    sharded = ShardedData(data_module.make_adapter(torch.utils.data.DataLoader(dataset, batch_size=2,
                                                                               sampler=sampler)), 1, 2, shards.append)
    epochs = []
    for _ in range(2):
        rows = [batch[0].reshape(-1).tolist() for batch in sharded]
        epochs.append((sampler.epoch, rows))
    assert [epoch for epoch, _ in epochs] == [0, 1] and epochs[0][1] != epochs[1][1]
    assert all(shard.gradient_factor == 1.0 and not shard.padded for shard in shards) and len(shards) == 4
