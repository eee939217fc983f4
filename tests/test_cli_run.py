"""``lamina run``: the import hook, its messages for Keras names lamina lacks, argv, and the command line."""

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import sys
import keras
from keras import layers
import keras.layers as L
from keras.preprocessing.sequence import pad_sequences
import keras.utils
print("same", L.Dense is layers.Dense is keras.layers.Dense, pad_sequences is keras.utils.pad_sequences)
print("hasattr", hasattr(keras.layers, "NoSuchLayer"), hasattr(keras, "Sequential"))
print("argv", sys.argv[1:])
for statement in ("keras.metrics.NoSuchMetric", "from keras.layers import NoSuchLayer", "import keras.nosuchmodule",
                  "from keras.src.layers import Dense", "import keras.layers.Dense"):
    try:
        exec(statement)
    except (AttributeError, ImportError) as error:
        print("error", type(error).__name__, error)
"""


def _run(tmp_path, source, *args):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    environment = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "lamina", "run", str(script), *args], capture_output=True, text=True,
                          env=environment, cwd=tmp_path, timeout=300)


def test_keras_imports_resolve_to_lamina_and_missing_names_say_so(tmp_path):
    result = _run(tmp_path, SCRIPT, "--epochs", "3")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0].startswith("lamina run: `keras` resolves to lamina ")
    lines = result.stdout.splitlines()
    assert lines[:3] == ["same True True", "hasattr False True", "argv ['--epochs', '3']"]
    errors = lines[3:]
    assert errors[0] == ("error MissingKerasName `keras.metrics.NoSuchMetric` is a Keras name that lamina does not "
                         "provide (`lamina run` resolves `keras` to lamina 0.1.0). Close lamina names: Metric.")
    assert errors[1].startswith("error ImportError `keras.layers.NoSuchLayer` is a Keras name that lamina does not "
                                "provide")
    assert errors[2].startswith("error ImportError `keras.nosuchmodule` is a Keras name that lamina does not provide")
    assert errors[3] == ("error ImportError `keras.src` is Keras's private implementation, which lamina does "
                         "not provide; use the public `keras.*` names.")
    assert errors[4].startswith("error ImportError `keras.layers.Dense` is not a module")


def test_an_uncaught_missing_name_fails_the_run_with_the_message(tmp_path):
    result = _run(tmp_path, "import keras\nkeras.layers.NoSuchLayer(3)\n")
    assert result.returncode == 1
    assert "`keras.layers.NoSuchLayer` is a Keras name that lamina does not provide" in result.stderr.splitlines()[-1]


def test_a_missing_script_is_reported(tmp_path):
    from lamina.__main__ import main

    with pytest.raises(FileNotFoundError, match="lamina run: no such script: nope.py"):
        main(["run", "nope.py"])
