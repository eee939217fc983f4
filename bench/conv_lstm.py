"""ConvLSTM2D training and inference throughput: lamina vs hand-written PyTorch vs Keras 3 (torch backend).

Cases: a ConvLSTM2D (3x3, "same", return_sequences) over channels_last and channels_first video clips.
The hand-written PyTorch ConvLSTM is the usual one (one convolution of ``cat([x_t, h])`` per step, gates
i, f, c, o), in channels_last memory format where the data is channels_last; it starts from the lamina
layer's Keras-initialized weights. Each (framework, case) runs in a fresh process with the same allocator
environment (printed); warm-up steps, then the median of timed steps. The processes run in rotation for
several rounds and the median round is reported, so a slow spell of the shared machine hits every
framework alike. Training is a hand loop with torch.optim.Adam for lamina and PyTorch, ``train_on_batch``
for Keras (MSE to zeros); inference is a forward call under ``torch.no_grad``. Ratios are speed ratios
(>1: lamina faster).

    python bench/conv_lstm.py [--repeats 7] [--rounds 3] [--cases ...] [--tiny]

``--tiny`` shrinks every case to a few pixels and steps (a smoke run, not a measurement).
"""

import argparse
import json
import os
import statistics

# The same timing, training step, allocator settings and process rotation as the other recurrent benchmarks.
from recurrent import ENV, FRAMEWORKS, run_in_rotation, timed, torch_steps

# case: (data_format, batch, time, size, channels, filters)
CASES = {"video_cl": ("channels_last", 8, 10, 32, 1, 16), "video_cf": ("channels_first", 8, 10, 32, 1, 16),
         "wide_cl": ("channels_last", 4, 6, 24, 8, 32)}
TINY = (2, 3, 6, 1, 4)
KERNEL = 3


def case_sizes(case, tiny):
    data_format, *sizes = CASES[case]
    return (data_format, *(TINY if tiny else sizes))


def make_data(data_format, batch, steps, size, channels, filters):
    import torch

    generator = torch.Generator().manual_seed(0)
    if data_format == "channels_last":
        x, y = (batch, steps, size, size, channels), (batch, steps, size, size, filters)
    else:
        x, y = (batch, steps, channels, size, size), (batch, steps, filters, size, size)
    return torch.rand(x, generator=generator), torch.zeros(y)


def torch_model(data_format, channels, filters):
    """The ConvLSTM a PyTorch user writes: per step, one convolution of the input and state together."""
    import torch
    from torch import nn

    class ConvLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(channels + filters, 4 * filters, KERNEL, padding=KERNEL // 2)
            if data_format == "channels_last":
                self.to(memory_format=torch.channels_last)

        def forward(self, x):
            if data_format == "channels_last":  # (N, T, H, W, C) -> per step a channels_last NCHW view
                x = x.permute(0, 1, 4, 2, 3)
            batch, steps, _, height, width = x.shape
            h = x.new_zeros(batch, filters, height, width)
            if data_format == "channels_last":
                h = h.contiguous(memory_format=torch.channels_last)
            c = torch.zeros_like(h)
            outputs = []
            for t in range(steps):
                i, f, g, o = self.conv(torch.cat([x[:, t], h], 1)).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
            y = torch.stack(outputs, 1)
            return y.permute(0, 1, 3, 4, 2) if data_format == "channels_last" else y

    return ConvLSTM()


def lamina_layer(module, data_format, filters):
    return module.layers.ConvLSTM2D(filters, KERNEL, padding="same", data_format=data_format, return_sequences=True)


def copy_lamina_initialization(net, layer):
    """Gives the PyTorch model the lamina layer's (Keras-initialized) starting weights."""
    import torch

    cell = layer.cell
    with torch.no_grad():
        net.conv.weight.copy_(torch.cat([cell.kernel, cell.recurrent_kernel], 1))
        net.conv.bias.copy_(cell.bias)


def measure(framework, case, repeats, tiny):
    import torch

    torch.set_num_threads(1)  # two shared cores: one thread each keeps the runs comparable
    torch.manual_seed(0)
    data_format, batch, steps, size, channels, filters = case_sizes(case, tiny)
    x, y = make_data(data_format, batch, steps, size, channels, filters)
    if framework == "keras":
        import keras

        model = keras.Sequential([keras.Input(tuple(x.shape[1:])), lamina_layer(keras, data_format, filters)])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        train = lambda: model.train_on_batch(x, y)  # noqa: E731
        forward = lambda: model(x, training=False)  # noqa: E731
    else:
        import lamina

        layer = lamina_layer(lamina, data_format, filters)
        layer(x)
        if framework == "lamina":
            model = layer
        else:
            model = torch_model(data_format, channels, filters)
            copy_lamina_initialization(model, layer)
        with torch.no_grad():
            lamina_out = layer(x)
            assert torch.allclose(model(x), lamina_out, atol=1e-5), "the PyTorch ConvLSTM computes something else"
        model.train()
        train, forward = torch_steps(model, x, y)
    warmup = 1 if tiny else 3
    train_time = timed(train, warmup, repeats)
    with torch.no_grad():
        infer_time = timed(forward, warmup, repeats)
    return {"train": batch / train_time, "infer": batch / infer_time}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="rotations of the frameworks' processes")
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "CASE"))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="workloads to run")
    parser.add_argument("--tiny", action="store_true", help="smoke run on tiny clips (not a measurement)")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(*args.worker, args.repeats, args.tiny)))
        return
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, 1 torch thread per run; ConvLSTM2D {KERNEL}x{KERNEL} "
          f"'same', return_sequences; median of {args.rounds} rounds in rotation{' (TINY)' if args.tiny else ''}")
    print("env: " + " ".join(f"{k}={v}" for k, v in ENV.items()))
    print(f"{'case':<9} {'(format, batch, T, size, in, filters)':<40} {'mode':<6} {'torch':>8} {'lamina':>8} "
          f"{'keras':>8}   lamina/torch  lamina/keras   (clips/s)")
    for case in args.cases:
        runs = run_in_rotation(__file__, case, args.rounds,
                               ["--repeats", str(args.repeats)] + (["--tiny"] if args.tiny else []))
        for mode in ("train", "infer"):
            t, la, k = (statistics.median(run[mode] for run in runs[f]) for f in FRAMEWORKS)
            sizes = str(case_sizes(case, args.tiny))
            print(f"{case:<9} {sizes:<40} {mode:<6} {t:>8.1f} {la:>8.1f} {k:>8.1f}   {la / t:>11.2f}x "
                  f"{la / k:>12.2f}x")


if __name__ == "__main__":
    main()
