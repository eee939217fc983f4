"""Shared test set-up: Keras 3 runs on the torch backend and shares our torch."""

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "torch")
# Keras writes keras.json into KERAS_HOME, and lamina reads it: keep both away from the user's ~/.keras.
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="lamina-tests-keras-home-")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def keras():
    """Real Keras 3 on the torch backend, the reference for differential tests."""
    import keras as keras_module

    assert keras_module.backend.backend() == "torch", "differential tests need KERAS_BACKEND=torch"
    return keras_module


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def names_from_zero(keras):
    """Automatic names (layers, ops, metrics, optimizers, and the variable paths built from them) count from
    zero in both libraries, whatever ran before in the process."""
    import lamina

    keras.utils.clear_session()
    lamina.utils.clear_session()
