"""Core layers end to end: an MLP and a CNN block, lamina vs hand-written PyTorch vs Keras 3 (torch).

Workloads: MLP Dense(256, relu) -> Dense(256, relu) -> Dense(10) on (64, 784); CNN block
Conv2D(32, 3, same, relu) -> BatchNormalization -> MaxPooling2D(2) -> GlobalAveragePooling2D -> Dense(10)
on channels_last (32, 32, 32, 3). Passes: forward (inference) and a training step (forward with
training=True, cross-entropy, backward, SGD). Hand-written PyTorch follows best practice: channels_last
memory format, ``torch.inference_mode`` for the forward pass, fused SGD. lamina and Keras run their models
on the same NHWC data with plain ``torch.optim.SGD`` on their parameters in a hand loop.
Each framework x workload x pass runs in its own fresh process (same malloc env for all, printed), with
warm-up and the median of repeats. Run: ``python bench/core.py``.
"""

import json
import os
import statistics
import subprocess
import sys
import time

ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576", "MALLOC_TRIM_THRESHOLD_": "1048576", "OMP_NUM_THREADS": "1"}
SHAPES = {"MLP": (64, 784), "CNN block": (32, 32, 32, 3)}


def framework_model(module, workload):
    """The workload as a lamina or Keras Sequential model (same layer calls in both)."""
    layers = module.layers
    if workload == "MLP":
        stack = [layers.Dense(256, activation="relu"), layers.Dense(256, activation="relu"), layers.Dense(10)]
    else:
        stack = [layers.Conv2D(32, 3, padding="same", activation="relu"), layers.BatchNormalization(),
                 layers.MaxPooling2D(2), layers.GlobalAveragePooling2D(), layers.Dense(10)]
    return module.Sequential([layers.Input(shape=SHAPES[workload][1:])] + stack)


def hand_written(workload):
    """The same network as a PyTorch user would write it (NCHW module in channels_last memory format)."""
    import torch
    from torch import nn

    if workload == "MLP":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01),
                         nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(32, 10)).to(memory_format=torch.channels_last)


def measure(framework, workload, repeats, training):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    torch.manual_seed(0)
    shape = SHAPES[workload]
    x = torch.randn(shape)
    labels = torch.randint(0, 10, (shape[0],))
    if framework == "pytorch":
        model = hand_written(workload)
        if x.dim() == 4:
            x = x.permute(0, 3, 1, 2)  # an NCHW view of the NHWC data: channels_last memory format, no copy
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, fused=True)
        forward = (lambda: model(x)) if training else (lambda: model.eval()(x))  # noqa: E731
    else:
        model = framework_model(__import__(framework), workload)
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
        forward = lambda: model(x, training=training)  # noqa: E731

    def step():
        if training:
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(forward(), labels).backward()
            optimizer.step()
        else:
            with torch.inference_mode():
                forward()

    if framework == "pytorch":
        model.train(training)
    for _ in range(3):
        step()
    start = time.perf_counter()
    step()
    inner = max(1, int(0.02 / (time.perf_counter() - start)))  # ~20 ms per sample: steadier than one step
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            step()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")))
        return
    repeats = int(os.environ.get("BENCH_REPEATS", "11"))
    env = {**os.environ, **ENV, "KERAS_BACKEND": "torch"}
    print(f"machine: {os.cpu_count()} CPUs, torch threads 1; env: "
          + " ".join(f"{k}={v}" for k, v in ENV.items())
          + f"; per-step time, median of {repeats} samples of ~20 ms each after 3 warm-ups (ms)")
    print(f"{'workload':<12}{'pass':<8}{'lamina':>9}{'pytorch':>9}{'keras':>9}{'torch/lamina':>14}"
          f"{'keras/lamina':>14}")
    for workload in SHAPES:
        for training in (False, True):
            result = {}
            for framework in ("lamina", "pytorch", "keras"):
                output = subprocess.run([sys.executable, __file__, "--child", framework, workload, str(repeats),
                                         "1" if training else "0"], env=env, capture_output=True, text=True,
                                        check=True)
                result[framework] = json.loads(output.stdout.strip().splitlines()[-1]) * 1e3
            print(f"{workload:<12}{'train' if training else 'fwd':<8}{result['lamina']:>9.3f}"
                  f"{result['pytorch']:>9.3f}{result['keras']:>9.3f}"
                  f"{result['pytorch'] / result['lamina']:>13.2f}x{result['keras'] / result['lamina']:>13.2f}x")


if __name__ == "__main__":
    main()
