"""The ``lamina`` command: ``lamina demo``, ``lamina run script.py``, ``lamina inspect FILE``,
``lamina convert IN OUT`` (also ``python -m lamina ...``)."""

import argparse
import sys

from lamina.cli import run as run_command
from lamina.demo import run
from lamina.saving import cli as saving_cli


def _demo(arguments):
    result = run(output_dir=arguments.output_dir, epochs=arguments.epochs)
    return 0 if result["accuracy"] >= 0.95 else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lamina", description="lamina: the Keras API on PyTorch.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a small CNN on scikit-learn's digits, save, reload, plot")
    demo.add_argument("--epochs", type=int, default=12)
    demo.add_argument("--output-dir", default=".", help="where the model file and the PNG go (default: .)")
    demo.set_defaults(handler=_demo)
    saving_cli.add_commands(commands)  # inspect, convert
    run_command.add_parser(commands)  # run
    arguments = parser.parse_args(argv)
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
