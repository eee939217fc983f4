"""A lamina model under torch.distributed DistributedDataParallel (gloo, two CPU processes on loopback)."""

import os
import socket

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import lamina
from lamina.engine.layer import Layer


class Affine(Layer):
    def __init__(self, units=1, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return inputs @ self.kernel + self.bias


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train(rank, world_size, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    torch.manual_seed(0)  # same initial weights on every rank
    model = lamina.Sequential([Affine(4, input_shape=(3,)), Affine(1)])
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(100 + rank)  # different data per rank
    for _ in range(3):
        x = torch.randn(8, 3, generator=generator)
        optimizer.zero_grad()
        ddp(x).square().mean().backward()
        optimizer.step()
    results[rank] = [w.tolist() for w in model.get_weights()]
    dist.destroy_process_group()


def test_ddp_keeps_replicas_identical_and_matches_single_process_averaging():
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_train, args=(2, _free_port(), results), nprocs=2, join=True)
    rank0, rank1 = results[0], results[1]
    for a, b in zip(rank0, rank1):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)

    # The same three steps in one process, averaging the two ranks' gradients by hand.
    torch.manual_seed(0)
    model = lamina.Sequential([Affine(4, input_shape=(3,)), Affine(1)])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    generators = [torch.Generator().manual_seed(100 + rank) for rank in range(2)]
    for _ in range(3):
        optimizer.zero_grad()
        for generator in generators:
            (model(torch.randn(8, 3, generator=generator)).square().mean() / 2).backward()
        optimizer.step()
    for got, expected in zip(rank0, model.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
