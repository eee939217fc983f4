"""Per-call time of lamina Dense vs torch.nn.Linear on a batch of 8 (CPU, one thread).

Each measurement runs in a fresh process: warm-up, then the median of many timed
blocks, timed in thread CPU time so other processes on a busy machine disturb it
less. Rounds alternate the contenders; the reported ratio lamina / torch is the
median over rounds (target <= 1.2).

    python bench/layer_overhead.py [--in-features 64] [--units 64] [--batch 8]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

CONTENDERS = ("torch.nn.Linear", "lamina Dense")


def measure(contender, batch, in_features, units, calls, blocks):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    if contender == "torch.nn.Linear":
        layer = torch.nn.Linear(in_features, units)
    else:
        from lamina import layers

        layer = layers.Dense(units)
        layer.build((None, in_features))
    x = torch.randn(batch, in_features)
    with torch.no_grad():
        for _ in range(calls):
            layer(x)
        timings = []
        for _ in range(blocks):
            start = time.thread_time()
            for _ in range(calls):
                layer(x)
            timings.append((time.thread_time() - start) / calls)
    return statistics.median(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--in-features", type=int, default=64)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", choices=CONTENDERS)
    args = parser.parse_args()
    sizes = (args.batch, args.in_features, args.units, args.calls, args.blocks)
    if args.worker:
        print(json.dumps(measure(args.worker, *sizes)))
        return
    results = {contender: [] for contender in CONTENDERS}
    for _ in range(args.rounds):
        for contender in CONTENDERS:
            command = [sys.executable, __file__, "--worker", contender, "--batch", str(args.batch), "--in-features",
                       str(args.in_features), "--units", str(args.units), "--calls", str(args.calls), "--blocks",
                       str(args.blocks)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[contender].append(json.loads(output))
    for contender, times in results.items():
        print(f"{contender:>16}: {statistics.median(times) * 1e6:7.2f} us/call (median of {args.rounds} processes)")
    ratio = statistics.median(mine / reference for reference, mine in zip(*results.values()))
    print(f"ratio lamina/torch: {ratio:.3f} (batch {args.batch}, {args.in_features} -> {args.units})")


if __name__ == "__main__":
    main()
