"""Recurrent training and inference throughput: lamina vs hand-written PyTorch vs Keras 3 (torch backend).

Cases: a 2-layer LSTM (T=50), a GRU text model (Embedding + GRU, T=100), a Bidirectional LSTM (T=50)
and a masked LSTM (Embedding(mask_zero=True) + LSTM, right-padded, T=50). Each (framework, case) runs
in a fresh process with the same allocator environment (printed); warm-up steps, then the median of
timed steps. PyTorch's model starts from the lamina model's Keras-initialized weights (the kernels'
speed depends on the activations' range). The processes run in rotation for several rounds and the median round is reported, so a
slow spell of the shared machine hits every framework alike. Training is a hand loop with
torch.optim.Adam for lamina and PyTorch, ``train_on_batch`` for Keras; inference is a forward call
under ``torch.no_grad``. Ratios are speed ratios (>1: faster).

    python bench/recurrent.py [--repeats 7] [--rounds 3] [--cases ...]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH, FEATURES, UNITS, VOCAB = 32, 32, 64, 2000
CASES = {"lstm2": 50, "gru_text": 100, "bilstm": 50, "masked_lstm": 50}
FRAMEWORKS = ("torch", "lamina", "keras")
ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "134217728", "KERAS_BACKEND": "torch"}


def make_data(case, time_steps):
    import torch

    generator = torch.Generator().manual_seed(0)
    target = torch.randn(BATCH, 1, generator=generator)
    if case in ("lstm2", "bilstm"):
        return torch.randn(BATCH, time_steps, FEATURES, generator=generator), target
    tokens = torch.randint(1, VOCAB, (BATCH, time_steps), generator=generator)
    if case == "masked_lstm":
        lengths = torch.randint(time_steps // 5, time_steps + 1, (BATCH,), generator=generator)
        tokens = tokens * (torch.arange(time_steps) < lengths[:, None])
    return tokens, target


def torch_model(case):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            embedded = case in ("gru_text", "masked_lstm")
            self.embedding = nn.Embedding(VOCAB, FEATURES) if embedded else None
            kind = nn.GRU if case == "gru_text" else nn.LSTM
            self.rnn = kind(FEATURES, UNITS, num_layers=2 if case == "lstm2" else 1, batch_first=True,
                            bidirectional=case == "bilstm")
            self.head = nn.Linear(UNITS * (2 if case == "bilstm" else 1), 1)

        def forward(self, x):
            if self.embedding is None:
                _, hidden = self.rnn(x)
            elif case == "masked_lstm":
                lengths = (x != 0).sum(1).cpu()
                packed = nn.utils.rnn.pack_padded_sequence(self.embedding(x), lengths, batch_first=True,
                                                           enforce_sorted=False)
                _, hidden = self.rnn(packed)
            else:
                _, hidden = self.rnn(self.embedding(x))
            h = hidden[0] if isinstance(hidden, tuple) else hidden
            last = torch.cat([h[-2], h[-1]], 1) if case == "bilstm" else h[-1]
            return self.head(last)

    return Net()


def copy_lamina_initialization(net, case, x):
    """Gives the PyTorch model a lamina model's (Keras-initialized) starting weights. The recurrent
    kernels' speed depends on the range of their activations (PyTorch's CPU tanh is slower on larger
    arguments), so PyTorch's own smaller default initialization would make it look faster."""
    import torch

    import lamina

    reference = lamina.Sequential(keras_like_layers(lamina, case))
    reference(x)
    cells = []
    for layer in reference.layers:
        if isinstance(layer, lamina.layers.Bidirectional):
            cells += [layer.forward_layer.cell, layer.backward_layer.cell]
        elif isinstance(layer, lamina.layers.RNN):
            cells.append(layer.cell)
    with torch.no_grad():
        for target, source in zip(net.rnn._flat_weights, [p for cell in cells for p in cell.fused_params()],
                                  strict=True):
            target.copy_(source)
        if net.embedding is not None:
            net.embedding.weight.copy_(reference.layers[0].embeddings)
        kernel, bias = reference.layers[-1].get_weights()
        net.head.weight.copy_(torch.as_tensor(kernel).t())
        net.head.bias.copy_(torch.as_tensor(bias))


def keras_like_layers(module, case):
    L = module.layers
    if case == "lstm2":
        return [L.LSTM(UNITS, return_sequences=True), L.LSTM(UNITS), L.Dense(1)]
    if case == "gru_text":
        return [L.Embedding(VOCAB, FEATURES), L.GRU(UNITS), L.Dense(1)]
    if case == "bilstm":
        return [L.Bidirectional(L.LSTM(UNITS)), L.Dense(1)]
    return [L.Embedding(VOCAB, FEATURES, mask_zero=True), L.LSTM(UNITS), L.Dense(1)]


def timed(step, warmup, repeats):
    for _ in range(warmup):
        step()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def torch_steps(model, x, y):
    """(train, forward) for a torch.nn.Module: an Adam step on the MSE to ``y``, and an inference call."""
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()

    def forward():
        model.eval()
        result = model(x)
        model.train()
        return result

    return train, forward


def run_in_rotation(script, case, rounds, worker_args=()):
    """{framework: [result per round]}: each round runs every framework's worker of ``script`` for ``case``
    in a fresh process (with ENV), one after the other."""
    env = {**os.environ, **ENV}
    runs = {framework: [] for framework in FRAMEWORKS}
    for _ in range(rounds):
        for framework in FRAMEWORKS:
            output = subprocess.run([sys.executable, script, "--worker", framework, case, *worker_args], env=env,
                                    check=True, capture_output=True, text=True)
            runs[framework].append(json.loads(output.stdout.strip().splitlines()[-1]))
    return runs


def measure(framework, case, repeats):
    import torch

    torch.set_num_threads(1)  # two shared cores: one thread each keeps the runs comparable
    torch.manual_seed(0)
    x, y = make_data(case, CASES[case])
    if framework == "keras":
        import keras

        model = keras.Sequential([keras.Input(tuple(x.shape[1:]), dtype="int64" if x.dtype == torch.int64
                                              else "float32"), *keras_like_layers(keras, case)])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        train = lambda: model.train_on_batch(x, y)  # noqa: E731
        forward = lambda: model(x, training=False)  # noqa: E731
    else:
        if framework == "lamina":
            import lamina

            model = lamina.Sequential(keras_like_layers(lamina, case))
            model(x)
            model.train()
        else:
            model = torch_model(case)
            copy_lamina_initialization(model, case, x)
        train, forward = torch_steps(model, x, y)
    train_time = timed(train, 3, repeats)
    with torch.no_grad():
        infer_time = timed(forward, 3, repeats)
    return {"train": BATCH / train_time, "infer": BATCH / infer_time}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="rotations of the frameworks' processes")
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "CASE"))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="workloads to run")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(*args.worker, args.repeats)))
        return
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, 1 torch thread per run; batch {BATCH}, "
          f"features {FEATURES}, units {UNITS}; median of {args.rounds} rounds in rotation")
    print("env: " + " ".join(f"{k}={v}" for k, v in ENV.items()))
    print(f"{'case':<12} {'mode':<6} {'torch':>9} {'lamina':>9} {'keras':>9}   lamina/torch  lamina/keras"
          "   (samples/s)")
    for case in args.cases:
        runs = run_in_rotation(__file__, case, args.rounds, ["--repeats", str(args.repeats)])
        for mode in ("train", "infer"):
            t, la, k = (statistics.median(run[mode] for run in runs[f]) for f in FRAMEWORKS)
            print(f"{case:<12} {mode:<6} {t:>9.0f} {la:>9.0f} {k:>9.0f}   {la / t:>11.2f}x {la / k:>12.2f}x")


if __name__ == "__main__":
    main()
