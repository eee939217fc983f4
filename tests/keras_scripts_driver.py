"""Runs Keras scripts through ``lamina run`` in one process (one import of torch and lamina for all), each in
a fresh working folder with lamina's global state reset, and writes {script: outcome} as JSON.

    python tests/keras_scripts_driver.py OUT.json SCRIPT...
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import traceback

import torch

import lamina
from lamina.cli.run import run_script

torch.set_num_threads(1)  # as the test suite runs (tests/conftest.py)


def outcome(script):
    stdout, stderr = io.StringIO(), io.StringIO()
    home = os.getcwd()
    os.chdir(tempfile.mkdtemp(prefix="lamina-script-"))
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            run_script(script)
        lines = [line for line in stdout.getvalue().splitlines() if line.startswith("RESULT ")]
        return {"ok": True, "result": json.loads(lines[-1][len("RESULT "):]) if lines else None,
                "notice": stderr.getvalue().splitlines()[:1]}
    except BaseException as error:  # a failing script is an outcome to report, whatever it raised
        return {"ok": False, "error": f"{type(error).__name__}: {error}", "type": type(error).__name__,
                "traceback": traceback.format_exc()[-3000:], "notice": stderr.getvalue().splitlines()[:1]}
    finally:
        os.chdir(home)
        lamina.utils.clear_session()  # also the global dtype policy


def main(out, scripts):
    results = {os.path.basename(script): outcome(script) for script in scripts}
    with open(out, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
