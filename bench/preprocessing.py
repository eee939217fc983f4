"""``adapt`` on a million rows, and the call on them: lamina vs Keras 3.

Workloads: ``Normalization.adapt`` on a (rows, 16) float32 array (Keras 3 on its torch backend), and
``StringLookup.adapt`` on ``rows`` Zipf-distributed words from a 50,000-word vocabulary, then the
lookup of those words (Keras 3 on TensorFlow: Keras's StringLookup needs TensorFlow on every backend;
run from the TensorFlow venv given by ``--tf-python``). Each (framework, workload) runs in a fresh
process with the same allocator environment; the median of ``--repeats`` timed runs (after one
warm-up) is reported. Ratios are speed ratios (> 1: lamina is faster).

    python bench/preprocessing.py [--rows 1000000] [--repeats 5] [--tf-python /work/tfenv/bin/python]
    python bench/preprocessing.py --rows 2000 --repeats 1      # smoke run
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "134217728"}
WORKLOADS = {"normalization": "torch", "string_lookup": "tensorflow"}  # workload -> Keras backend
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_data(workload, rows):
    import numpy as np

    rng = np.random.default_rng(0)
    if workload == "normalization":
        return (rng.standard_normal((rows, 16)) * np.arange(1, 17) + 3).astype("float32")
    words = np.array([f"w{i}" for i in range(50_000)])
    return words[np.minimum(rng.zipf(1.2, rows) - 1, len(words) - 1)]


def timed(function, repeats):
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worker(framework, workload, rows, repeats):
    if framework == "lamina":
        import torch

        torch.set_num_threads(1)
        from lamina import layers
    else:
        import keras

        layers = keras.layers
    data = make_data(workload, rows)
    result = {}
    if workload == "normalization":
        result["adapt"] = timed(lambda: layers.Normalization().adapt(data), repeats)
    else:
        def adapt():
            layer = layers.StringLookup()
            layer.adapt(data)
            return layer

        result["adapt"] = timed(adapt, repeats)
        lookup = adapt()
        result["call"] = timed(lambda: lookup(data), repeats)
    print(json.dumps(result))


def run(framework, workload, rows, repeats, tf_python):
    backend = WORKLOADS[workload]
    python = tf_python if framework == "keras" and backend == "tensorflow" else sys.executable
    if not os.path.exists(python):
        return None
    env = {**os.environ, **ENV, "KERAS_BACKEND": backend, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3",
           "CUDA_VISIBLE_DEVICES": ""}
    command = [python, os.path.abspath(__file__), "--worker", framework, workload, str(rows), str(repeats)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        print(f"{framework}/{workload} failed:\n{completed.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tf-python", default="/work/tfenv/bin/python")
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--worker", nargs=4, metavar=("FRAMEWORK", "WORKLOAD", "ROWS", "REPEATS"))
    args = parser.parse_args()
    if args.worker:
        framework, workload, rows, repeats = args.worker
        worker(framework, workload, int(rows), int(repeats))
        return
    print(f"rows={args.rows}, repeats={args.repeats}, allocator env {ENV}; seconds (median), ratio = Keras / lamina")
    print(f"{'workload':<16} {'step':<6} {'lamina':>10} {'keras':>10} {'ratio':>8}")
    for workload in args.workloads:
        ours = run("lamina", workload, args.rows, args.repeats, args.tf_python)
        theirs = run("keras", workload, args.rows, args.repeats, args.tf_python)
        for step in (ours or theirs or {}):
            mine, keras_time = (ours or {}).get(step), (theirs or {}).get(step)
            ratio = f"{keras_time / mine:.2f}x" if mine and keras_time else "-"
            print(f"{workload:<16} {step:<6} {mine or float('nan'):>10.4f} {keras_time or float('nan'):>10.4f} "
                  f"{ratio:>8}")


if __name__ == "__main__":
    main()
