"""Runs every script in tests/data/keras_scripts with real Keras 3 (torch backend) and records its RESULT line,
for tests/test_keras_scripts.py (which runs them through `lamina run` and compares).

    python tests/data/make_keras_scripts_reference.py     # Keras 3.15.1, torch 2.13.0; a few minutes
Scripts that need TensorFlow even on the torch backend (Keras's TensorBoard callback, its dataset
utilities and TextVectorization) run in the TensorFlow venv instead (Keras 3.15.1 on TensorFlow 2.21). It writes
keras_scripts_reference.json beside this file: {script: {"backend": ..., "result": ...}}.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
TF_PYTHON = "/work/tfenv/bin/python"


def result_line(output):
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT "):]) if lines else None


def main():
    reference = {}
    for script in sorted((HERE / "keras_scripts").glob("*.py")):
        for python, backend in ((sys.executable, "torch"), (TF_PYTHON, "tensorflow")):
            environment = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ""}
            with tempfile.TemporaryDirectory() as work:
                run = subprocess.run([python, str(script)], cwd=work, env=environment, capture_output=True,
                                     text=True, timeout=600)
            if run.returncode == 0:
                reference[script.name] = {"backend": backend, "result": result_line(run.stdout)}
                break
            if "tensorflow" not in run.stderr:
                break
        print(f"{script.name}: {reference.get(script.name)}\n{'' if script.name in reference else run.stderr[-3000:]}",
              file=sys.stderr)
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    reference["_keras_version"] = keras.__version__
    (HERE / "keras_scripts_reference.json").write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
