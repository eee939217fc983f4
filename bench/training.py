"""Whole ``fit`` epochs: lamina vs a hand-written PyTorch loop vs Keras 3 (torch backend).

Workloads: a CNN on 28x28x1 images, an LSTM regressor, a GRU text classifier (synthetic data).
Each (framework, workload) runs in its own fresh process with the same allocator environment;
one warm-up epoch, then the median of ``--repeats`` timed epochs. Prints seconds per epoch and
the ratios speed(lamina)/speed(PyTorch) and speed(lamina)/speed(Keras).

    python bench/training.py [--repeats 5] [--threads N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ENV = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}
SAMPLES, BATCH = 2048, 64
WORKLOADS = ("cnn", "lstm", "gru")
FRAMEWORKS = ("torch", "lamina", "keras")


def make_data(workload):
    import numpy as np

    rng = np.random.default_rng(0)
    if workload == "cnn":
        return rng.random((SAMPLES, 28, 28, 1), dtype="float32"), rng.integers(0, 10, SAMPLES)
    if workload == "lstm":
        x = rng.standard_normal((SAMPLES, 20, 8)).astype("float32")
        return x, x.sum(axis=(1, 2))[:, None].astype("float32")
    return rng.integers(1, 1000, (SAMPLES, 40)), rng.integers(0, 2, SAMPLES)[:, None].astype("float32")


def build_keras_like(lib, workload):
    """The same architecture in Keras or lamina (identical APIs)."""
    layers = lib.layers
    if workload == "cnn":
        stack = [layers.Input((28, 28, 1)), layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
                 layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                 layers.Dense(10, activation="softmax")]
        loss = "sparse_categorical_crossentropy"
    elif workload == "lstm":
        stack = [layers.Input((20, 8)), layers.LSTM(32), layers.Dense(1)]
        loss = "mse"
    else:
        stack = [layers.Input((40,), dtype="int64"), layers.Embedding(1000, 32), layers.GRU(32),
                 layers.Dense(1, activation="sigmoid")]
        loss = "binary_crossentropy"
    model = lib.Sequential(stack)
    model.compile(optimizer=lib.optimizers.Adam(1e-3), loss=loss)
    return model


class TorchModel:
    """Hand-written PyTorch equivalents (best practice: channels_last, foreach Adam)."""

    @staticmethod
    def build(workload):
        import torch
        from torch import nn

        if workload == "cnn":
            model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 5 * 5, 10))
            return model.to(memory_format=torch.channels_last), nn.CrossEntropyLoss()

        class Recurrent(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(1000, 32) if workload == "gru" else None
                self.rnn = (nn.GRU if workload == "gru" else nn.LSTM)(32 if workload == "gru" else 8, 32,
                                                                       batch_first=True)
                self.head = nn.Linear(32, 1)

            def forward(self, x):
                if self.embedding is not None:
                    x = self.embedding(x)
                _, state = self.rnn(x)
                hidden = state[0] if isinstance(state, tuple) else state
                return self.head(hidden[-1])

        return Recurrent(), nn.MSELoss() if workload == "lstm" else nn.BCEWithLogitsLoss()


def run_torch(workload, x, y, epochs):
    import torch

    model, loss_fn = TorchModel.build(workload)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    x = torch.from_numpy(x)
    if workload == "cnn":
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(y)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(SAMPLES)
        xs, ys = x[order], y[order]
        model.train()
        for i in range(0, SAMPLES, BATCH):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[i:i + BATCH]), ys[i:i + BATCH])
            loss.backward()
            optimizer.step()
        float(loss)
        times.append(time.perf_counter() - start)
    return times


def run_fit(lib, workload, x, y, epochs):
    model = build_keras_like(lib, workload)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
        times.append(time.perf_counter() - start)
    return times


def worker(framework, workload, repeats, threads):
    os.environ["KERAS_BACKEND"] = "torch"
    import torch

    torch.set_num_threads(threads)
    x, y = make_data(workload)
    if framework == "torch":
        times = run_torch(workload, x, y, repeats + 1)
    elif framework == "lamina":
        import lamina
        import lamina.optimizers  # noqa: F401

        times = run_fit(lamina, workload, x, y, repeats + 1)
    else:
        import keras

        times = run_fit(keras, workload, x, y, repeats + 1)
    print(json.dumps({"median": statistics.median(times[1:])}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"))
    arguments = parser.parse_args()
    if arguments.worker:
        worker(*arguments.worker, arguments.repeats, arguments.threads)
        return
    import platform

    import torch

    env = {**os.environ, **ENV}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; torch threads: "
          f"{arguments.threads}; torch {torch.__version__}; env: "
          + " ".join(f"{k}={v}" for k, v in ENV.items()))
    print(f"{SAMPLES} samples, batch {BATCH}; seconds per epoch (median of {arguments.repeats} after a warm-up)")
    print(f"{'workload':<9}{'torch':>9}{'lamina':>9}{'keras':>9}{'lamina/torch':>14}{'lamina/keras':>14}")
    for workload in WORKLOADS:
        medians = {}
        for framework in FRAMEWORKS:
            output = subprocess.run([sys.executable, __file__, "--worker", framework, workload, "--repeats",
                                     str(arguments.repeats), "--threads", str(arguments.threads)],
                                    env=env, capture_output=True, text=True, check=True).stdout
            medians[framework] = json.loads(output.strip().splitlines()[-1])["median"]
        print(f"{workload:<9}{medians['torch']:>9.3f}{medians['lamina']:>9.3f}{medians['keras']:>9.3f}"
              f"{medians['torch'] / medians['lamina']:>13.2f}x{medians['keras'] / medians['lamina']:>13.2f}x")
    print("ratios are speed ratios (>1 means lamina is faster); targets: >= 0.95x torch, >= 1.5x keras")


if __name__ == "__main__":
    main()
