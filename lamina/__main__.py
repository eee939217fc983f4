"""The ``lamina`` command: ``lamina demo``, ``lamina run script.py``, ``lamina inspect FILE``,
``lamina convert IN OUT`` (also ``python -m lamina ...``)."""

import argparse
import subprocess
import sys

from lamina.cli import run as run_command
from lamina.demo import run
from lamina.distribution import process_group
from lamina.saving import cli as saving_cli


def _demo(arguments):
    if arguments.processes > 1 and not process_group.launched():
        return _torchrun(arguments.processes, ["demo", "--epochs", str(arguments.epochs),
                                               "--output-dir", arguments.output_dir])
    result = run(output_dir=arguments.output_dir, epochs=arguments.epochs)
    return 0 if result["accuracy"] >= 0.95 else 1


def _torchrun(processes, command):
    """Runs ``lamina <command>`` on ``processes`` local processes with PyTorch's launcher; its exit status."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    return subprocess.call(launcher + ["-m", "lamina"] + command)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lamina", description="lamina: the Keras API on PyTorch.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a small CNN on scikit-learn's digits, save, reload, plot")
    demo.add_argument("--epochs", type=int, default=12)
    demo.add_argument("--output-dir", default=".", help="where the model file and the PNG go (default: .)")
    demo.add_argument("--processes", type=int, default=1,
                      help="train data-parallel on this many local processes, started by torchrun (default: 1)")
    demo.set_defaults(handler=_demo)
    saving_cli.add_commands(commands)  # inspect, convert
    run_command.add_parser(commands)  # run
    arguments = parser.parse_args(argv)
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
