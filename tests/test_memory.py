"""The training memory policy: an opt-in (``lamina.config.set_memory_policy``); ``fit`` leaves it alone; steps
free their tensors as they end."""

import gc
import subprocess
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

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


def _tensors_in_reference_cycles(run):
    """The tensors that ``run()`` leaves for the garbage collector (held by reference cycles)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return [item for item in gc.garbage if isinstance(item, torch.Tensor)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@pytest.mark.parametrize("functional", [False, True])
def test_training_and_prediction_steps_free_their_tensors_without_the_garbage_collector(functional):
    """A step's activations (and their autograd graph) are freed when the step ends, not when the garbage
    collector next runs: a reference cycle holding them made a U-Net's fit take 2.8x PyTorch's memory."""
    if functional:
        inputs = layers.Input((6, 6, 2))
        branch = layers.Conv2D(3, 3, padding="same")(inputs)
        merged = layers.Concatenate()([branch, layers.Conv2D(3, 1)(inputs)])
        model = lamina.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling2D()(merged)))
        x = np.random.default_rng(0).random((8, 6, 6, 2), dtype="float32")
    else:
        model = lamina.Sequential([layers.Input((4,)), layers.Dense(5, activation="relu"), layers.Dense(1)])
        x = np.random.default_rng(0).random((8, 4), dtype="float32")
    y = np.ones((8, 1), "float32")
    model.compile("adam", "mse", metrics=["mae"])

    def steps():
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        model.evaluate(x, y, verbose=0)
        model.predict(x, verbose=0)
        model.train_on_batch(x, y)

    steps()  # builds
    assert _tensors_in_reference_cycles(steps) == []
