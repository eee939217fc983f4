"""Data-parallel scaling: ``fit`` epochs on 1 process and on N processes (torchrun's environment, gloo on
CPU or nccl on CUDA), lamina vs a hand-written PyTorch DistributedDataParallel loop.

The global batch is the same on 1 and N processes (lamina's ``batch_size`` is global; the PyTorch loop
gives each process its 1/N of every batch), so the work per epoch is equal and the speed-up is the
scaling. Keras 3 has no multi-process training on the torch backend, hence no Keras column. Each
(framework, workload, processes) runs in fresh processes; one warm-up epoch, then the median of
``--repeats`` timed epochs (the slowest process's time).

    python bench/distributed.py [--processes 2] [--repeats 3] [--samples 4096] [--workloads mlp,cnn]
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

BATCH = 128
WORKLOADS = ("mlp", "cnn")
FRAMEWORKS = ("torch", "lamina")


def make_data(workload, samples):
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (samples, 784) if workload == "mlp" else (samples, 28, 28, 1)
    return rng.random(shape, dtype="float32"), rng.integers(0, 10, samples)


def build_lamina(workload):
    import lamina
    from lamina import layers

    if workload == "mlp":
        stack = [layers.Input((784,)), layers.Dense(256, activation="relu"), layers.Dense(256, activation="relu"),
                 layers.Dense(10, activation="softmax")]
    else:
        stack = [layers.Input((28, 28, 1)), layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
                 layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                 layers.Dense(10, activation="softmax")]
    model = lamina.Sequential(stack)
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model


def build_torch(workload):
    import torch

    nn = torch.nn
    if workload == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 10)).to(memory_format=torch.channels_last)


def lamina_epochs(workload, x, y, epochs):
    model = build_lamina(workload)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        times.append(time.perf_counter() - started)
    return times


def torch_epochs(workload, x, y, epochs):
    """What a PyTorch user writes: DDP, each process's slice of every shuffled global batch, foreach Adam."""
    import torch
    import torch.distributed as dist

    distributed = dist.is_initialized()
    rank, count = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    module = build_torch(workload)
    model = torch.nn.parallel.DistributedDataParallel(module) if distributed else module
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    inputs = torch.from_numpy(x if workload == "mlp" else x.transpose(0, 3, 1, 2).copy())
    if workload == "cnn":
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    targets = torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)  # the same order on every process
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), BATCH):
            rows = order[start:start + BATCH].tensor_split(count)[rank]
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(inputs[rows]), targets[rows])
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - started)
    return times


def worker(framework, workload, samples, repeats):
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import lamina.distribution

        lamina.distribution.initialize()
    x, y = make_data(workload, samples)
    run = lamina_epochs if framework == "lamina" else torch_epochs
    times = run(workload, x, y, repeats + 1)[1:]
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist

        gathered = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, times)
        times = [max(epoch) for epoch in zip(*gathered)]  # an epoch ends when its slowest process does
        if dist.get_rank() != 0:
            return
    print(json.dumps({"seconds": statistics.median(times)}), flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure(framework, workload, processes, arguments):
    command = [sys.executable, __file__, "--worker", framework, workload, "--samples", str(arguments.samples),
               "--repeats", str(arguments.repeats)]
    base = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), WORLD_SIZE=str(processes),
                OMP_NUM_THREADS=os.environ.get("BENCH_THREADS", "1"), LAMINA_DISTRIBUTION_TIMEOUT="300")
    if processes == 1:
        base = {key: value for key, value in base.items() if key not in ("WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    jobs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                             env=dict(base, RANK=str(rank), LOCAL_RANK=str(rank)) if processes > 1 else base)
            for rank in range(processes)]
    outputs = [job.communicate(timeout=1800)[0] for job in jobs]
    if any(job.returncode for job in jobs):
        raise RuntimeError(f"{framework}/{workload} on {processes} process(es) failed")
    return json.loads(outputs[0].strip().splitlines()[-1])["seconds"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    arguments = parser.parse_args()
    if arguments.worker:
        worker(*arguments.worker, arguments.samples, arguments.repeats)
        return
    print(f"{arguments.samples} samples, global batch {BATCH}, {arguments.repeats} timed epochs (median), "
          f"BENCH_THREADS={os.environ.get('BENCH_THREADS', '1')} torch thread(s) per process; seconds per epoch")
    print("| workload | framework | 1 process | "
          f"{arguments.processes} processes | speed-up | lamina vs PyTorch ({arguments.processes} processes) |")
    print("|---|---|---|---|---|---|")
    for workload in arguments.workloads.split(","):
        seconds = {framework: (measure(framework, workload, 1, arguments),
                               measure(framework, workload, arguments.processes, arguments))
                   for framework in FRAMEWORKS}
        for framework in FRAMEWORKS:
            alone, together = seconds[framework]
            ratio = seconds["torch"][1] / seconds["lamina"][1] if framework == "lamina" else None
            print(f"| {workload} | {framework} | {alone:.3f} | {together:.3f} | {alone / together:.2f}x | "
                  f"{f'{ratio:.2f}x' if ratio else ''} |", flush=True)


if __name__ == "__main__":
    main()
