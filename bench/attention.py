"""Attention speed: lamina vs hand-written PyTorch (scaled_dot_product_attention) vs Keras 3 (torch backend).

Cases: multi-head self-attention, the same with a key-padding mask (right-padded values), causal
self-attention, cross-attention (a shorter query, a separate key) and grouped-query attention. Each
(framework, case) runs in a fresh process with the same allocator environment (printed); warm-up steps,
then the median of timed steps. The PyTorch module (four nn.Linear and F.scaled_dot_product_attention,
as a PyTorch user writes it) starts from the lamina layer's weights. The processes run in rotation
for several rounds and the median round is reported, so a slow spell of the shared machine hits every
framework alike. Training is a hand loop with torch.optim.Adam for lamina and PyTorch, ``train_on_batch``
for Keras; inference is a forward call under ``torch.no_grad``. Ratios are speed ratios (>1: lamina faster).

    python bench/attention.py [--repeats 7] [--rounds 3] [--cases ...] [--tiny]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SIZES = {"batch": 16, "length": 128, "dim": 256, "heads": 8, "key_dim": 32, "kv_heads": 2}
TINY = {"batch": 2, "length": 8, "dim": 16, "heads": 2, "key_dim": 8, "kv_heads": 1}
CASES = ("self", "masked", "causal", "cross", "gqa")
FRAMEWORKS = ("torch", "lamina", "keras")
ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "134217728", "KERAS_BACKEND": "torch"}


def make_data(case, sizes):
    """``(query, value, value_mask or None, target)``; cross-attention has a query half as long."""
    import torch

    generator = torch.Generator().manual_seed(0)
    batch, length, dim = sizes["batch"], sizes["length"], sizes["dim"]
    query_length = length // 2 if case == "cross" else length
    query = torch.randn(batch, query_length, dim, generator=generator)
    value = torch.randn(batch, length, dim, generator=generator) if case == "cross" else query
    mask = None
    if case == "masked":
        lengths = torch.randint(length // 4, length + 1, (batch,), generator=generator)
        mask = torch.arange(length) < lengths[:, None]
    return query, value, mask, torch.randn(batch, query_length, dim, generator=generator)


def keras_like_layer(module, case, sizes):
    layers = module.layers
    if case == "gqa":
        return layers.GroupQueryAttention(sizes["key_dim"], sizes["heads"], sizes["kv_heads"])
    return layers.MultiHeadAttention(sizes["heads"], sizes["key_dim"])


def call_kwargs(case, mask):
    if case == "causal":
        return {"use_causal_mask": True}
    return {"value_mask": mask} if mask is not None else {}


def torch_module(case, sizes, lamina_layer):
    """The attention a PyTorch user writes, with the lamina layer's weights."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    heads, key_dim, dim = sizes["heads"], sizes["key_dim"], sizes["dim"]
    kv_heads = sizes["kv_heads"] if case == "gqa" else heads

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = nn.Linear(dim, heads * key_dim)
            self.k = nn.Linear(dim, kv_heads * key_dim)
            self.v = nn.Linear(dim, kv_heads * key_dim)
            self.o = nn.Linear(heads * key_dim, dim)

        def forward(self, query, value, key_padding=None):
            batch, length_q, length_v = query.shape[0], query.shape[1], value.shape[1]
            q = self.q(query).view(batch, length_q, heads, key_dim).transpose(1, 2)
            k = self.k(value).view(batch, length_v, kv_heads, key_dim).transpose(1, 2)
            v = self.v(value).view(batch, length_v, kv_heads, key_dim).transpose(1, 2)
            mask = None if key_padding is None else key_padding[:, None, None, :]
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=case == "causal",
                                                 enable_gqa=kv_heads != heads)
            return self.o(out.transpose(1, 2).reshape(batch, length_q, heads * key_dim))

    net = Attention()
    dense = [lamina_layer._query_dense, lamina_layer._key_dense, lamina_layer._value_dense,
             lamina_layer._output_dense]
    with torch.no_grad():
        for linear, source in zip((net.q, net.k, net.v, net.o), dense):
            kernel, bias = source.get_weights()
            linear.weight.copy_(torch.as_tensor(kernel.reshape(linear.in_features, -1)).t())
            linear.bias.copy_(torch.as_tensor(bias.reshape(-1)))
    return net


def timed(step, warmup, repeats):
    for _ in range(warmup):
        step()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def measure(framework, case, repeats, sizes):
    import torch

    torch.set_num_threads(1)  # two shared cores: one thread each keeps the runs comparable
    torch.manual_seed(0)
    query, value, mask, target = make_data(case, sizes)
    kwargs = call_kwargs(case, mask)
    if framework == "keras":
        import keras

        inputs = [keras.Input(tuple(query.shape[1:])), keras.Input(tuple(value.shape[1:]))]
        layer = keras_like_layer(keras, case, sizes)
        if mask is not None:
            mask_input = keras.Input(tuple(mask.shape[1:]), dtype="bool")
            model = keras.Model([*inputs, mask_input], layer(*inputs, value_mask=mask_input))
            data = [query, value, mask]
        else:
            model = keras.Model(inputs, layer(*inputs, **kwargs))
            data = [query, value]
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        train = lambda: model.train_on_batch(data, target)  # noqa: E731
        forward = lambda: model(data, training=False)  # noqa: E731
    else:
        import lamina

        layer = keras_like_layer(lamina, case, sizes)
        layer(query, value, **kwargs)
        if framework == "lamina":
            model, run = layer, lambda: layer(query, value, **kwargs)  # noqa: E731
        else:
            model = torch_module(case, sizes, layer)
            run = lambda: model(query, value, mask)  # noqa: E731
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

        def train():
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(run(), target).backward()
            optimizer.step()

        def forward():
            model.eval()
            result = run()
            model.train()
            return result
    train_time = timed(train, 3, repeats)
    with torch.no_grad():
        infer_time = timed(forward, 3, repeats)
    return {"train": train_time * 1e3, "infer": infer_time * 1e3}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="rotations of the frameworks' processes")
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "CASE"))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="workloads to run")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke run, not a measurement")
    args = parser.parse_args()
    sizes = TINY if args.tiny else SIZES
    if args.worker:
        print(json.dumps(measure(*args.worker, args.repeats, sizes)))
        return
    import torch

    env = {**os.environ, **ENV}
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, 1 torch thread per run; {sizes}; median of "
          f"{args.rounds} rounds in rotation")
    print("env: " + " ".join(f"{k}={v}" for k, v in ENV.items()))
    print(f"{'case':<8} {'mode':<6} {'torch':>9} {'lamina':>9} {'keras':>9}   torch/lamina  keras/lamina   (ms per step)")
    extra = ["--tiny"] if args.tiny else []
    for case in args.cases:
        runs = {framework: [] for framework in FRAMEWORKS}
        for _ in range(args.rounds):
            for framework in FRAMEWORKS:
                output = subprocess.run([sys.executable, __file__, "--worker", framework, case, "--repeats",
                                         str(args.repeats), *extra], env=env, check=True, capture_output=True,
                                        text=True)
                runs[framework].append(json.loads(output.stdout.strip().splitlines()[-1]))
        for mode in ("train", "infer"):
            t, la, k = (statistics.median(run[mode] for run in runs[f]) for f in FRAMEWORKS)
            print(f"{case:<8} {mode:<6} {t:>9.3f} {la:>9.3f} {k:>9.3f}   {t / la:>11.2f}x {k / la:>12.2f}x")


if __name__ == "__main__":
    main()
