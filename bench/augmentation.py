"""Augmentation throughput: lamina's image layers vs Keras 3 (torch backend) on 224x224 RGB batches.

Each framework x workload runs in its own fresh process (same malloc env for all, printed), called with
``training=True`` on a float32 channels_last batch, with warm-up and the median of repeats; the processes
run in rotation for several rounds (``BENCH_ROUNDS``, default 3) and the median round is reported. Sizes:
``BENCH_BATCH`` (default 32), ``BENCH_SIZE`` (default 224); ``BENCH_THREADS`` torch threads (default 1).
Run: ``python bench/augmentation.py``; smoke run: ``BENCH_SIZE=16 BENCH_BATCH=2 BENCH_REPEATS=1
BENCH_ROUNDS=1 python bench/augmentation.py``.
"""

import json
import os
import statistics
import subprocess
import sys
import time

ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576", "MALLOC_TRIM_THRESHOLD_": "1048576", "OMP_NUM_THREADS": "1"}
# name: list of (class name, kwargs) applied in order
WORKLOADS = {
    "RandomFlip": [("RandomFlip", {})],
    "RandomRotation": [("RandomRotation", {"factor": 0.1})],
    "RandomZoom": [("RandomZoom", {"height_factor": 0.2})],
    "RandomTranslation": [("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1})],
    "RandomPerspective": [("RandomPerspective", {"scale": 0.3})],
    "RandomContrast": [("RandomContrast", {"factor": (0.2, 0.2)})],
    "RandomHue": [("RandomHue", {"factor": 0.2})],
    "RandomErasing": [("RandomErasing", {})],
    "RandomCrop 192": [("RandomCrop", {"height": 192, "width": 192})],
    "Resizing 128 bilinear": [("Resizing", {"height": 128, "width": 128})],
    "RandAugment": [("RandAugment", {})],
    "flip+rotate+zoom+contrast": [("RandomFlip", {}), ("RandomRotation", {"factor": 0.1}),
                                  ("RandomZoom", {"height_factor": 0.2}), ("RandomContrast", {"factor": (0.2, 0.2)})],
}


def measure(framework, workload, repeats, batch, size, threads):
    import torch

    torch.set_num_threads(threads)
    module = __import__(framework)
    layers = [getattr(module.layers, name)(**kwargs) for name, kwargs in WORKLOADS[workload]]
    images = torch.rand(batch, size, size, 3) * 255

    def step():
        x = images
        for layer in layers:
            x = layer(x, training=True)
        return x

    with torch.no_grad():
        for _ in range(3):
            step()
        start = time.perf_counter()
        step()
        inner = max(1, int(0.05 / (time.perf_counter() - start)))  # ~50 ms per sample
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(inner):
                step()
            times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:8]))))
        return
    repeats = int(os.environ.get("BENCH_REPEATS", "7"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    batch, size = int(os.environ.get("BENCH_BATCH", "32")), int(os.environ.get("BENCH_SIZE", "224"))
    threads = int(os.environ.get("BENCH_THREADS", "1"))
    env = {**os.environ, **ENV, "KERAS_BACKEND": "torch"}
    print(f"machine: {os.cpu_count()} CPUs, torch threads {threads}; env: "
          + " ".join(f"{k}={v}" for k, v in ENV.items())
          + f"; batch {batch}x{size}x{size}x3 float32, training=True; median over {rounds} rounds (processes in "
            f"rotation) of the median of {repeats} samples of ~50 ms after 3 warm-ups")
    print(f"{'workload':<28}{'lamina img/s':>14}{'keras img/s':>13}{'vs keras':>10}")
    frameworks = ("lamina", "keras")
    for workload in WORKLOADS:
        runs = {framework: [] for framework in frameworks}
        for _ in range(rounds):  # rotation: a slow spell of the shared machine hits both frameworks alike
            for framework in frameworks:
                output = subprocess.run([sys.executable, __file__, "--child", framework, workload, str(repeats),
                                         str(batch), str(size), str(threads)],
                                        env=env, capture_output=True, text=True, check=True)
                runs[framework].append(json.loads(output.stdout.strip().splitlines()[-1]))
        seconds = {framework: statistics.median(runs[framework]) for framework in frameworks}
        print(f"{workload:<28}{batch / seconds['lamina']:>14.1f}{batch / seconds['keras']:>13.1f}"
              f"{seconds['keras'] / seconds['lamina']:>9.2f}x")


if __name__ == "__main__":
    main()
