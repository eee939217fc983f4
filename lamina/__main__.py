"""The ``lamina`` command: ``lamina demo`` (also ``python -m lamina demo``), ``lamina run script.py``."""

import argparse
import sys

from lamina.cli import run as run_command
from lamina.demo import run


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lamina", description="lamina: the Keras API on PyTorch.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a small CNN on scikit-learn's digits, save, reload, plot")
    demo.add_argument("--epochs", type=int, default=12)
    demo.add_argument("--output-dir", default=".", help="where the model file and the PNG go (default: .)")
    run_command.add_parser(commands)
    arguments = parser.parse_args(argv)
    if getattr(arguments, "handler", None) is not None:
        return arguments.handler(arguments)
    result = run(output_dir=arguments.output_dir, epochs=arguments.epochs)
    return 0 if result["accuracy"] >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
