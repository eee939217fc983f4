"""Memory: peak resident memory of a U-Net ``fit`` epoch, lamina vs a hand-written PyTorch loop vs Keras 3
(torch backend), and resident-memory growth over 1,000 ``predict_on_batch`` calls.

Each measurement runs in its own fresh process with the same allocator environment (glibc keeps freed
memory: ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` as printed). The peak is Linux's VmHWM over
five epochs (reset through ``/proc/self/clear_refs`` before the first) minus the resident memory just
before it: what training adds (activations, gradients, optimizer slots, kernel workspaces, shuffled
data, allocator slack) on top of the model, the data and the libraries.

    python bench/memory.py [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import small_models  # noqa: E402  (the same U-Net and data as bench/small_models.py)

FRAMEWORKS = ("torch", "lamina", "keras-torch")
EPOCHS = 5


def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # MiB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak():
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def worker(framework):
    if framework.startswith("keras-"):
        os.environ["KERAS_BACKEND"] = "torch"
    import torch

    torch.set_num_threads(1)
    x, y = small_models.make_data("unet")
    if framework == "torch":
        torch.manual_seed(0)
        epoch, _ = small_models.run_torch("unet", x, y)
        model = None
    else:
        lib = __import__("lamina" if framework == "lamina" else "keras")
        epoch, _ = small_models.run_keras_like(lib, "unet", x, y)
    before = _status("VmRSS")
    _reset_peak()
    for _ in range(EPOCHS):
        epoch()
    result = {"fit_peak_mib": _status("VmHWM") - before}
    if framework != "torch":
        model = small_models.build_keras_like(lib, "mlp8")
        batch = small_models.make_data("mlp8")[0][:8]
        for _ in range(100):
            model.predict_on_batch(batch)
        start = _status("VmRSS")
        for _ in range(1000):
            model.predict_on_batch(batch)
        result["predict_on_batch_growth_mib"] = _status("VmRSS") - start
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", default=None)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.worker)
        return
    env = {**os.environ, **small_models.ENV}
    print(f"machine: {small_models.machine()}, {os.cpu_count()} CPUs; env: "
          + " ".join(f"{k}={v}" for k, v in small_models.ENV.items()))
    results = {framework: [] for framework in FRAMEWORKS}
    for _ in range(arguments.rounds):
        for framework in FRAMEWORKS:
            output = subprocess.run([sys.executable, __file__, "--worker", framework], env=env,
                                    capture_output=True, text=True)
            if output.returncode:
                raise SystemExit(f"{framework} failed:\n{output.stderr[-3000:]}")
            results[framework].append(json.loads(output.stdout.strip().splitlines()[-1]))
    for framework, runs in results.items():
        peak = statistics.median(run["fit_peak_mib"] for run in runs)
        line = f"{framework:<12} U-Net fit, {EPOCHS} epochs, peak: +{peak:7.1f} MiB"
        if "predict_on_batch_growth_mib" in runs[0]:
            growth = statistics.median(run["predict_on_batch_growth_mib"] for run in runs)
            line += f"   RSS growth over 1000 predict_on_batch: {growth:+.2f} MiB"
        print(line)


if __name__ == "__main__":
    main()
