"""``fit`` and ``predict`` on the models where per-step overhead and layer choices show: lamina vs a
hand-written PyTorch loop vs Keras 3.

Workloads (synthetic data, the same Keras model code for lamina and Keras):
  mlp8   3-layer MLP 16->32->32->1, batch 8, Adam, mse: steps per second of fit and of predict
  unet   functional U-Net on 64x64x3: Conv2D pairs (16/32/64), MaxPooling2D, Conv2DTranspose(strides=2,
         "same"), Concatenate skips, 1x1 Conv2D head; batch 16, Adam, mse
  lstm2  stacked LSTM(64) x 2 regression, T=50, 8 features, batch 32, Adam, mse
  sepcnn [SeparableConv2D + BatchNormalization + ReLU] x 4 (32/64/128/128 filters, 2x2 max pooling after the
         first three) on 32x32x3, global average pooling, Dense(10, softmax); batch 32, Adam, sparse CE
  gru    Embedding(1000, 32) + GRU(64) + Dense(1, sigmoid) on T=100 token ids; batch 32, Adam, binary CE
  mnist  Keras's MNIST example CNN on 28x28x1: Conv2D 32/64 + max pooling, Dropout(0.5), Dense(10, softmax);
         batch 64, Adam, sparse CE
  conv1d causal dilated Conv1D(32, 3) stack, dilations 1/2/4/8, on T=128 x 16 features, global average
         pooling, Dense(1); batch 32, Adam, mse
  conv3d Conv3D(8) + MaxPooling3D + Conv3D(16) on 16x16x16x1 volumes, global average pooling, Dense(1);
         batch 16, Adam, mse

Each (framework, workload) runs in its own fresh process with the same allocator environment, one torch
thread, a warm-up epoch (and predict), then the median of ``--repeats`` timed epochs / predicts; the
frameworks alternate over ``--rounds`` rounds and each ratio is the median over rounds. The PyTorch
baseline is the best a PyTorch user writes: channels_last for the 2D convolutions (the Conv1D and Conv3D
nets keep their data channels-first, which was faster here), ``Adam(fused=True)``, shuffled index batches,
cross-entropy on logits, ``inference_mode`` for predict. Keras runs on its torch backend, and on TensorFlow/JAX when
``--keras-python`` names an interpreter with those installed. ``--jit`` adds lamina with
``compile(jit_compile=True)`` (timed after the warm-up, which compiles; compile times: bench/jit_compile.py).

    python bench/small_models.py [--workloads mlp8 unet lstm2] [--repeats 5] [--rounds 3]
        [--keras-python /path/to/python --keras-backends tensorflow]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import recurrent  # the bench scripts' shared median timing

ENV = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}
WORKLOADS = {"mlp8": (1024, 8), "unet": (128, 16), "lstm2": (512, 32), "sepcnn": (256, 32), "gru": (512, 32),
             "mnist": (1024, 64), "conv1d": (512, 32), "conv3d": (128, 16)}  # samples, batch
CLASSES = {"sepcnn": 10, "mnist": 10}  # sparse categorical targets ("gru": binary ones)


def machine():
    """The CPU's model name (Linux), else the architecture."""
    import platform

    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def make_data(workload):
    import numpy as np

    samples = WORKLOADS[workload][0]
    rng = np.random.default_rng(0)
    if workload == "mlp8":
        x = rng.standard_normal((samples, 16)).astype("float32")
        return x, x[:, :1] * 0.5 + 0.1
    if workload == "unet":
        x = rng.random((samples, 64, 64, 3), dtype="float32")
        return x, x.mean(axis=-1, keepdims=True)
    if workload in CLASSES:
        shape = (32, 32, 3) if workload == "sepcnn" else (28, 28, 1)
        return rng.random((samples, *shape), dtype="float32"), rng.integers(0, CLASSES[workload], samples)
    if workload == "gru":
        return rng.integers(1, 1000, (samples, 100)), rng.integers(0, 2, (samples, 1)).astype("float32")
    shape = {"lstm2": (50, 8), "conv1d": (128, 16), "conv3d": (16, 16, 16, 1)}[workload]
    x = rng.standard_normal((samples, *shape)).astype("float32")
    return x, x.mean(axis=tuple(range(1, x.ndim)))[:, None].astype("float32")


def build_keras_like(lib, workload, jit_compile="auto"):
    """The model in Keras or lamina (identical APIs)."""
    layers = lib.layers
    if workload == "mlp8":
        model = lib.Sequential([layers.Input((16,)), layers.Dense(32, activation="relu"),
                                layers.Dense(32, activation="relu"), layers.Dense(1)])
    elif workload == "lstm2":
        model = lib.Sequential([layers.Input((50, 8)), layers.LSTM(64, return_sequences=True), layers.LSTM(64),
                                layers.Dense(1)])
    elif workload == "sepcnn":
        stack = [layers.Input((32, 32, 3))]
        for i, filters in enumerate((32, 64, 128, 128)):
            stack += [layers.SeparableConv2D(filters, 3, padding="same"), layers.BatchNormalization(), layers.ReLU()]
            stack += [layers.MaxPooling2D(2)] if i < 3 else []
        model = lib.Sequential(stack + [layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    elif workload == "gru":
        model = lib.Sequential([layers.Input((100,)), layers.Embedding(1000, 32), layers.GRU(64),
                                layers.Dense(1, activation="sigmoid")])
    elif workload == "mnist":
        model = lib.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                                layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                                layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5),
                                layers.Dense(10, activation="softmax")])
    elif workload == "conv1d":
        model = lib.Sequential([layers.Input((128, 16))]
                               + [layers.Conv1D(32, 3, padding="causal", dilation_rate=d, activation="relu")
                                  for d in (1, 2, 4, 8)] + [layers.GlobalAveragePooling1D(), layers.Dense(1)])
    elif workload == "conv3d":
        model = lib.Sequential([layers.Input((16, 16, 16, 1)), layers.Conv3D(8, 3, padding="same", activation="relu"),
                                layers.MaxPooling3D(2), layers.Conv3D(16, 3, padding="same", activation="relu"),
                                layers.GlobalAveragePooling3D(), layers.Dense(1)])
    else:
        inputs = layers.Input((64, 64, 3))
        x, skips = inputs, []
        for filters in (16, 32):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            skips.append(x)
            x = layers.MaxPooling2D(2)(x)
        x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
        for filters, skip in zip((32, 16), reversed(skips)):
            x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same")(x)
            x = layers.Concatenate()([x, skip])
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        model = lib.Model(inputs, layers.Conv2D(1, 1)(x))
    loss = "sparse_categorical_crossentropy" if workload in CLASSES else \
        "binary_crossentropy" if workload == "gru" else "mse"
    model.compile(optimizer=lib.optimizers.Adam(1e-3), loss=loss, jit_compile=jit_compile)
    return model


def build_torch(workload):
    import torch
    from torch import nn

    if workload == "mlp8":
        return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    if workload == "lstm2":
        class Stacked(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.LSTM(8, 64, num_layers=2, batch_first=True)
                self.head = nn.Linear(64, 1)

            def forward(self, x):
                return self.head(self.rnn(x)[0][:, -1])

        return Stacked()
    if workload == "sepcnn":
        blocks = []
        for i, (cin, cout) in enumerate(zip((3, 32, 64, 128), (32, 64, 128, 128))):
            blocks += [nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1),
                       nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01), nn.ReLU()]
            blocks += [nn.MaxPool2d(2)] if i < 3 else []
        model = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))
        return model.to(memory_format=torch.channels_last)
    if workload == "gru":
        class Text(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(1000, 32)
                self.rnn = nn.GRU(32, 64, batch_first=True)
                self.head = nn.Linear(64, 1)

            def forward(self, x):
                return self.head(self.rnn(self.embedding(x))[1][0])

        return Text()
    if workload == "mnist":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 5 * 5, 10))
        return model.to(memory_format=torch.channels_last)
    if workload == "conv1d":
        class Causal(nn.Module):
            def __init__(self):
                super().__init__()
                self.convs = nn.ModuleList([nn.Conv1d(16 if d == 1 else 32, 32, 3, dilation=d) for d in (1, 2, 4, 8)])
                self.head = nn.Linear(32, 1)

            def forward(self, x):  # x: (batch, channels, time)
                for conv in self.convs:
                    x = torch.relu(conv(nn.functional.pad(x, (2 * conv.dilation[0], 0))))
                return self.head(x.mean(2))

        return Causal()
    if workload == "conv3d":
        # channels_first: channels_last_3d made this PyTorch loop slower here (fit 40 vs 31 ms per epoch)
        return nn.Sequential(nn.Conv3d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2), nn.Conv3d(8, 16, 3, padding=1),
                             nn.ReLU(), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(16, 1))

    def pair(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1),
                             nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.ModuleList([pair(3, 16), pair(16, 32)])
            self.bottom = pair(32, 64)
            self.up = nn.ModuleList([nn.ConvTranspose2d(64, 32, 3, 2, padding=1, output_padding=1),
                                     nn.ConvTranspose2d(32, 16, 3, 2, padding=1, output_padding=1)])
            self.fuse = nn.ModuleList([pair(64, 32), pair(32, 16)])
            self.head = nn.Conv2d(16, 1, 1)

        def forward(self, x):
            skips = []
            for block in self.down:
                x = block(x)
                skips.append(x)
                x = nn.functional.max_pool2d(x, 2)
            x = self.bottom(x)
            for up, fuse, skip in zip(self.up, self.fuse, reversed(skips)):
                x = fuse(torch.cat([up(x), skip], dim=1))
            return self.head(x)

    return UNet().to(memory_format=torch.channels_last)


def run_torch(workload, x, y):
    import torch

    model = build_torch(workload)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss() if workload in CLASSES else \
        torch.nn.BCEWithLogitsLoss() if workload == "gru" else torch.nn.MSELoss()
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    if workload == "unet":
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        y = y.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    elif workload in ("sepcnn", "mnist"):
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    elif workload in ("conv1d", "conv3d"):
        x = x.movedim(-1, 1).contiguous()
    samples, batch = WORKLOADS[workload]

    def epoch():
        model.train()
        order = torch.randperm(samples)
        for i in range(0, samples, batch):
            index = order[i:i + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        return float(loss.detach())

    def predict():
        model.eval()
        with torch.inference_mode():
            return torch.cat([model(x[i:i + batch]) for i in range(0, samples, batch)]).numpy()

    return epoch, predict


def run_keras_like(lib, workload, x, y, jit_compile="auto"):
    model = build_keras_like(lib, workload, jit_compile)
    batch = WORKLOADS[workload][1]

    def epoch():
        return model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)

    def predict():
        return model.predict(x, batch_size=batch, verbose=0)

    return epoch, predict


def worker(framework, workload, repeats):
    backend = framework.split("-", 1)[1] if framework.startswith("keras-") else "torch"
    os.environ["KERAS_BACKEND"] = backend
    if backend == "torch":
        import torch

        torch.set_num_threads(1)
    elif backend == "jax":
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    if framework.startswith("keras-"):
        import keras

        keras.utils.set_random_seed(0)
    x, y = make_data(workload)
    if framework == "torch":
        torch.manual_seed(0)
        epoch, predict = run_torch(workload, x, y)
    elif framework in ("lamina", "lamina-jit"):
        import lamina

        lamina.utils.set_random_seed(0)
        epoch, predict = run_keras_like(lamina, workload, x, y, jit_compile=framework == "lamina-jit")
    else:
        epoch, predict = run_keras_like(keras, workload, x, y)
    print(json.dumps({name: timed(function, repeats)[1] for name, function in (("fit", epoch), ("predict", predict))}))


def timed(function, repeats):
    """(seconds of the first, warm-up call; median seconds of ``repeats`` calls after it)."""
    start = time.perf_counter()
    function()
    first = time.perf_counter() - start
    return first, recurrent.timed(function, 0, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keras-python", default=None, help="an interpreter with Keras 3 and other backends")
    parser.add_argument("--keras-backends", nargs="*", default=["tensorflow", "jax"])
    parser.add_argument("--jit", action="store_true",
                        help="also lamina with compile(jit_compile=True), timed after its warm-up compiled it")
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"))
    arguments = parser.parse_args()
    if arguments.worker:
        worker(*arguments.worker, arguments.repeats)
        return
    import torch

    frameworks = {"torch": sys.executable, "lamina": sys.executable, "keras-torch": sys.executable}
    if arguments.jit:
        frameworks["lamina-jit"] = sys.executable
    if arguments.keras_python:
        frameworks.update({f"keras-{b}": arguments.keras_python for b in arguments.keras_backends})
    env = {**os.environ, **ENV}
    print(f"machine: {machine()}, {os.cpu_count()} CPUs; 1 thread per framework; torch "
          f"{torch.__version__}; env: " + " ".join(f"{k}={v}" for k, v in ENV.items()))
    print(f"seconds per epoch / per predict pass: median of {arguments.repeats} after a warm-up; ratios are "
          f"speed ratios (> 1: lamina faster), median over {arguments.rounds} rounds")
    for workload in arguments.workloads:
        rounds = []
        for _ in range(arguments.rounds):
            timings = {}
            for framework, python in frameworks.items():
                output = subprocess.run([python, __file__, "--worker", framework, workload, "--repeats",
                                         str(arguments.repeats)], env=env, capture_output=True, text=True)
                if output.returncode:
                    raise SystemExit(f"{framework} {workload} failed:\n{output.stderr[-3000:]}")
                timings[framework] = json.loads(output.stdout.strip().splitlines()[-1])
            rounds.append(timings)
        samples, batch = WORKLOADS[workload]
        steps = -(-samples // batch)
        print(f"\n{workload}: {samples} samples, batch {batch} ({steps} steps)")
        for phase in ("fit", "predict"):
            line = [f"  {phase:<8}"]
            for framework in frameworks:
                seconds = statistics.median(r[framework][phase] for r in rounds)
                line.append(f"{framework} {seconds * 1e3:8.1f} ms ({steps / seconds:7.0f} steps/s)")
            print("  ".join(line))
            ratios = [f"lamina/{other} "
                      f"{statistics.median(r[other][phase] / r['lamina'][phase] for r in rounds):.2f}x"
                      for other in frameworks if other != "lamina"]
            print(f"  {'':<8}  " + "  ".join(ratios))


if __name__ == "__main__":
    main()
