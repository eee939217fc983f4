"""``compile(jit_compile=...)``: lamina's eager steps vs the whole step under ``torch.compile``.

Workloads (synthetic data, Adam, the models of bench/small_models.py and bench/training.py):
  mlp8  MLP 16->32->32->1, batch 8, 1024 samples, mse
  cnn   Conv2D(16)/MaxPool/Conv2D(32)/MaxPool/Dense(10) on 28x28x1, batch 64, 2048 samples,
        sparse categorical crossentropy

Each (workload, mode) runs in its own fresh process with the same allocator environment and ``--threads``
torch threads: the first fit epoch and the first predict pass (they compile, in "compiled" mode) are
timed on their own, then the median of ``--repeats`` timed epochs / predict passes. The modes alternate
over ``--rounds`` rounds; each ratio is the median over rounds. "compile" is the first epoch (pass) minus
a steady one: the time torch.compile adds once per model. Each compiled process starts with an empty
inductor cache (a first run's compile time) unless ``--warm-cache`` lets them share PyTorch's on-disk
cache (a rerun's compile time).

    python bench/jit_compile.py [--workloads mlp8 cnn] [--repeats 5] [--rounds 3] [--threads 1] [--warm-cache]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ENV = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout's lamina, not an installed one
WORKLOADS = ("mlp8", "cnn")
MODES = ("eager", "compiled")


def workload(name):
    """(samples, batch, make_data, build) of a workload: bench/small_models.py's mlp8, bench/training.py's cnn."""
    import small_models
    import training

    if name == "mlp8":
        return small_models.WORKLOADS[name] + (small_models.make_data, small_models.build_keras_like)
    return training.SAMPLES, training.BATCH, training.make_data, training.build_keras_like


def worker(name, mode, repeats, threads):
    import torch

    import lamina

    torch.set_num_threads(threads)
    lamina.utils.set_random_seed(0)
    _, batch, make_data, build = workload(name)
    x, y = make_data(name)
    model = build(lamina, name)
    model.compile(optimizer=model.optimizer, loss=model.loss, jit_compile=mode == "compiled")
    phases = {"fit": lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True),
              "predict": lambda: model.predict(x, batch_size=batch, verbose=0)}
    import small_models

    result = {}
    for phase, function in phases.items():
        result[f"{phase}_first"], result[phase] = small_models.timed(function, repeats)
    from torch._dynamo.utils import counters

    result["graphs"] = counters["stats"]["unique_graphs"]
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warm-cache", action="store_true", help="share PyTorch's on-disk compile cache")
    parser.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "MODE"))
    arguments = parser.parse_args()
    if arguments.worker:
        worker(*arguments.worker, arguments.repeats, arguments.threads)
        return
    import platform

    import torch

    env = {**os.environ, **ENV, "PYTHONPATH": os.pathsep.join([REPOSITORY, os.environ.get("PYTHONPATH", "")])}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {arguments.threads} "
          f"torch thread(s); torch {torch.__version__}; env: " + " ".join(f"{k}={v}" for k, v in ENV.items()))
    print(f"steady figures: median of {arguments.repeats} after the first epoch/pass; ratios are compiled "
          f"speed / eager speed (> 1: compiled faster), median over {arguments.rounds} rounds; inductor cache "
          + ("shared (warm)" if arguments.warm_cache else "empty per process (cold)"))
    for name in arguments.workloads:
        rounds = []
        for _ in range(arguments.rounds):
            timings = {}
            for mode in MODES:
                with tempfile.TemporaryDirectory(prefix="lamina-bench-inductor-") as cache:
                    cold = {} if arguments.warm_cache else {"TORCHINDUCTOR_CACHE_DIR": cache}
                    output = subprocess.run([sys.executable, __file__, "--worker", name, mode, "--repeats",
                                             str(arguments.repeats), "--threads", str(arguments.threads)],
                                            env={**env, **cold}, capture_output=True, text=True)
                if output.returncode:
                    raise SystemExit(f"{name} {mode} failed:\n{output.stderr[-3000:]}")
                timings[mode] = json.loads(output.stdout.strip().splitlines()[-1])
            rounds.append(timings)
        samples, batch, _, _ = workload(name)
        steps = -(-samples // batch)
        graphs = rounds[-1]["compiled"]["graphs"]
        print(f"\n{name}: {samples} samples, batch {batch} ({steps} steps); compiled: {graphs} graphs")
        for phase in ("fit", "predict"):
            line = [f"  {phase:<8}"]
            for mode in MODES:
                seconds = statistics.median(r[mode][phase] for r in rounds)
                line.append(f"{mode} {seconds * 1e3:8.1f} ms ({steps / seconds:6.0f} steps/s)")
            ratio = statistics.median(r["eager"][phase] / r["compiled"][phase] for r in rounds)
            compile_s = statistics.median(r["compiled"][f"{phase}_first"] - r["compiled"][phase] for r in rounds)
            eager_first = statistics.median(r["eager"][f"{phase}_first"] - r["eager"][phase] for r in rounds)
            line.append(f"compiled/eager {ratio:.2f}x; compile {compile_s:.1f} s (eager first pass "
                        f"+{eager_first:.2f} s)")
            print("  ".join(line))


if __name__ == "__main__":
    main()
