"""Convolution throughput: lamina vs hand-written PyTorch (same channels_last data) vs Keras 3 (torch).

Each framework × workload runs in its own fresh process (same malloc env for all, printed), with
warm-up and the median of repeats, forward and forward+backward; the processes run in rotation for
several rounds (``BENCH_ROUNDS``, default 3) and the median round is reported, so a slow spell of the
shared machine hits every framework alike. Run: ``python bench/convolution.py``.
"""

import json
import os
import statistics
import subprocess
import sys
import time

ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576", "MALLOC_TRIM_THRESHOLD_": "1048576", "OMP_NUM_THREADS": "1"}
# name: (Keras/lamina class, constructor kwargs, channels_last input shape)
WORKLOADS = {
    "Conv1D causal d2": ("Conv1D", dict(filters=32, kernel_size=3, padding="causal", dilation_rate=2), (4, 128, 32)),
    "Conv2D 3x3 s1 same": ("Conv2D", dict(filters=64, kernel_size=3, padding="same"), (4, 16, 16, 32)),
    "Conv2D 3x3 s2 same": ("Conv2D", dict(filters=64, kernel_size=3, strides=2, padding="same"), (4, 16, 16, 32)),
    "Conv2DTranspose s2": ("Conv2DTranspose", dict(filters=32, kernel_size=3, strides=2, padding="same"),
                           (4, 8, 8, 32)),
    "Conv2DTranspose b256": ("Conv2DTranspose", dict(filters=64, kernel_size=3, strides=2, padding="same"),
                             (256, 16, 16, 64)),
    "SeparableConv2D": ("SeparableConv2D", dict(filters=64, kernel_size=3, padding="same"), (4, 16, 16, 32)),
    "Conv3D": ("Conv3D", dict(filters=16, kernel_size=3, padding="same"), (2, 8, 8, 8, 8)),
}


def hand_written(name, kwargs, x):
    """What a PyTorch user would write for channels_last data: permute views, torch.nn.functional."""
    import torch
    import torch.nn.functional as F

    channels = x.shape[-1]
    rank = x.dim() - 2
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    k = kwargs["kernel_size"]
    if name == "Conv2DTranspose":
        w = torch.randn(channels, kwargs["filters"], k, k).to(memory_format=torch.channels_last).requires_grad_()
        b = torch.zeros(kwargs["filters"], requires_grad=True)
        # nn.ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1) in channels_last: Keras's output
        # shape at PyTorch's own cost. Its values are shifted one cell from Keras's (Keras crops 0 before and
        # 1 after, which no padding/output_padding pair gives; docs/padding.md): a cost baseline.
        return (lambda: F.conv_transpose2d(x.permute(0, 3, 1, 2), w, b, stride=2, padding=1, output_padding=1)
                .permute(0, 2, 3, 1)), [w, b]
    if name == "SeparableConv2D":
        dw = torch.randn(channels, 1, k, k, requires_grad=True)
        pw = torch.randn(kwargs["filters"], channels, 1, 1, requires_grad=True)
        b = torch.zeros(kwargs["filters"], requires_grad=True)
        return (lambda: F.conv2d(F.conv2d(x.permute(0, 3, 1, 2), dw, None, 1, 1, 1, channels), pw, b)
                .permute(0, 2, 3, 1)), [dw, pw, b]
    w = torch.randn((kwargs["filters"], channels) + (k,) * rank, requires_grad=True)
    b = torch.zeros(kwargs["filters"], requires_grad=True)
    stride = kwargs.get("strides", 1)
    if kwargs.get("padding") == "causal":
        pad = (k - 1) * kwargs["dilation_rate"]
        return (lambda: conv(F.pad(x.permute(0, 2, 1), (pad, 0)), w, b, 1, 0, kwargs["dilation_rate"])
                .permute(0, 2, 1)), [w, b]
    if stride == 2:  # even input, k=3, s=2 "same": 0 before, 1 after
        return (lambda: F.conv2d(F.pad(x.permute(0, 3, 1, 2), (0, 1, 0, 1)), w, b, 2).permute(0, 2, 3, 1)), [w, b]
    dims = tuple(range(x.dim()))
    order = (0, dims[-1]) + dims[1:-1]
    back = (0,) + dims[2:] + (1,)
    return (lambda: conv(x.permute(order), w, b, 1, k // 2).permute(back)), [w, b]


def measure(framework, workload, repeats):
    import torch

    torch.set_num_threads(1)
    class_name, kwargs, shape = WORKLOADS[workload]
    x = torch.randn(shape)
    if framework == "pytorch":
        run, params = hand_written(class_name, kwargs, x)
    else:
        module = __import__(framework)
        layer = getattr(module.layers, class_name)(**kwargs)
        layer(x)
        run = lambda: layer(x)  # noqa: E731
        params = [p for p in (layer.parameters())]

    def step(backward):
        if backward:
            for p in params:
                p.grad = None
            run().sum().backward()
        else:
            with torch.no_grad():
                run()

    medians = []
    for backward in (False, True):
        for _ in range(3):
            step(backward)
        start = time.perf_counter()
        step(backward)
        inner = max(1, int(0.02 / (time.perf_counter() - start)))  # ~20 ms per sample: steadier than one step
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(inner):
                step(backward)
            times.append((time.perf_counter() - start) / inner)
        medians.append(statistics.median(times))
    return medians


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    repeats = int(os.environ.get("BENCH_REPEATS", "9"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    env = {**os.environ, **ENV, "KERAS_BACKEND": "torch"}
    print(f"machine: {os.cpu_count()} CPUs, torch threads 1; env: "
          + " ".join(f"{k}={v}" for k, v in ENV.items())
          + f"; per-call time: median over {rounds} rounds (frameworks' processes in rotation) of the median of "
            f"{repeats} samples of ~20 ms after 3 warm-ups (ms)")
    print(f"{'workload':<22}{'pass':<9}{'lamina':>9}{'pytorch':>9}{'keras':>9}{'vs torch':>10}{'vs keras':>10}")
    frameworks = ("lamina", "pytorch", "keras")
    for workload in WORKLOADS:
        runs = {framework: [] for framework in frameworks}
        for _ in range(rounds):  # rotation: a slow spell of the shared machine hits every framework alike
            for framework in frameworks:
                output = subprocess.run([sys.executable, __file__, "--child", framework, workload, str(repeats)],
                                        env=env, capture_output=True, text=True, check=True)
                runs[framework].append(json.loads(output.stdout.strip().splitlines()[-1]))
        for backward in (False, True):
            result = {framework: statistics.median(times[backward] for times in runs[framework]) * 1e3
                      for framework in frameworks}
            print(f"{workload:<22}{'fwd+bwd' if backward else 'fwd':<9}{result['lamina']:>9.2f}"
                  f"{result['pytorch']:>9.2f}{result['keras']:>9.2f}"
                  f"{result['pytorch'] / result['lamina']:>9.2f}x{result['keras'] / result['lamina']:>9.2f}x")


if __name__ == "__main__":
    main()
