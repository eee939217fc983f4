"""Does ``lamina.config.set_memory_policy("retain")`` pay off? A CNN ``fit`` epoch with and without it.

Each run is a fresh process with no ``MALLOC_*`` variables (glibc's defaults) and either no policy
call or ``set_memory_policy("retain")`` before ``fit``; the two alternate over rounds. Prints the
median seconds per epoch of each and their ratio.

    python bench/memory_policy.py [--rounds 5] [--threads 2]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SAMPLES, BATCH = 2048, 256


def worker(policy, threads):
    import numpy as np
    import torch

    import lamina
    from lamina import layers

    torch.set_num_threads(threads)
    if policy == "retain":
        lamina.config.set_memory_policy("retain")
    rng = np.random.default_rng(0)
    x, y = rng.random((SAMPLES, 32, 32, 3), dtype="float32"), rng.integers(0, 10, SAMPLES)
    model = lamina.Sequential([layers.Input((32, 32, 3)), layers.Conv2D(32, 3, activation="relu"),
                               layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"),
                               layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # warm-up
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    print(json.dumps({"seconds_per_epoch": (time.perf_counter() - start) / 2}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", choices=("system", "retain"))
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.worker, arguments.threads)
        return
    import platform

    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; torch threads "
          f"{arguments.threads}; no MALLOC_* variables; {SAMPLES} samples, batch {BATCH}")
    results = {"system": [], "retain": []}
    for _ in range(arguments.rounds):
        for policy in results:
            output = subprocess.run([sys.executable, __file__, "--worker", policy, "--threads",
                                     str(arguments.threads)], env=env, capture_output=True, text=True,
                                    check=True).stdout
            results[policy].append(json.loads(output.strip().splitlines()[-1])["seconds_per_epoch"])
    medians = {policy: statistics.median(times) for policy, times in results.items()}
    for policy, times in results.items():
        print(f"{policy:>7}: median {medians[policy]:.3f} s/epoch  (runs: {', '.join(f'{t:.3f}' for t in times)})")
    print(f"speed ratio retain/system: {medians['system'] / medians['retain']:.2f}x (>1: the policy pays off)")


if __name__ == "__main__":
    main()
