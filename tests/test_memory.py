"""The training memory policy: an opt-in (``lamina.config.set_memory_policy``); ``fit`` leaves it alone."""

import subprocess
import sys

import pytest

import lamina

CHECK = ("import numpy as np, lamina; from lamina import layers; "
         "m = lamina.Sequential([layers.Input((2,)), layers.Dense(1)]); m.compile('sgd', 'mse'); "
         "m.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0); after_fit = lamina.config.memory_policy(); "
         "applied = lamina.config.set_memory_policy('retain'); again = lamina.config.set_memory_policy('retain'); "
         "print(after_fit, applied, again, lamina.config.memory_policy())")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc policy")
def test_fit_leaves_the_policy_and_the_opt_in_applies_it_once():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert result.stdout.split()[-4:] == ["system", "True", "True", "retain"]


def test_unknown_policy_and_undo_are_refused():
    with pytest.raises(ValueError, match="policy"):
        lamina.config.set_memory_policy("keep-everything")
    assert lamina.config.set_memory_policy("system")  # the default: nothing to do
