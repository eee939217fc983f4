"""The training memory policy: applied once by fit, skipped when the user chose their own."""

import os
import subprocess
import sys

import pytest

CHECK = ("import numpy as np, lamina; from lamina import layers, memory; "
         "m = lamina.Sequential([layers.Input((2,)), layers.Dense(1)]); m.compile('sgd', 'mse'); "
         "before = memory._state['applied']; m.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0); "
         "print(before, memory._state['applied'])")


def _run(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "LAMINA_RETAIN_FREED_MEMORY"}
    result = subprocess.run([sys.executable, "-c", CHECK], env={**clean, **env}, capture_output=True, text=True,
                            check=True)
    return result.stdout.split()[-2:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc policy")
def test_fit_applies_the_policy_once():
    assert _run() == ["False", "True"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc policy")
def test_user_choices_win():
    assert _run(LAMINA_RETAIN_FREED_MEMORY="0") == ["False", "False"]
    assert _run(MALLOC_ARENA_MAX="2") == ["False", "False"]
