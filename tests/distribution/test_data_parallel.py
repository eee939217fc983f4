"""The same script on 2 processes (gloo, 127.0.0.1) gives the weights, History, evaluations and
predictions of a single process, on every process."""

import json

import numpy as np
import pytest

import lamina
from distribution.launch import run_processes
from distribution.scenarios import SCENARIOS, _classifier, _data

NAMES = list(SCENARIOS)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    directory = tmp_path_factory.mktemp("data_parallel")
    codes, outputs = run_processes(["tests/distribution/worker.py", str(directory), *NAMES], timeout=150)
    assert codes == [0, 0], "\n".join(outputs)
    return directory


def assert_same(got, expected, path="result"):
    """Equal structures; numbers within 1e-5 x max(1, |value|) (the order of reductions differs)."""
    if isinstance(expected, dict):
        assert set(got) == set(expected), f"{path}: keys {sorted(got)} != {sorted(expected)}"
        for key in expected:
            assert_same(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, bool) or expected is None:
        assert got == expected, f"{path}: {got} != {expected}"
    elif _ragged(expected):  # a list of arrays of several shapes (weights)
        assert len(got) == len(expected), f"{path}: {len(got)} items != {len(expected)}"
        for index, (item, reference) in enumerate(zip(got, expected)):
            assert_same(item, reference, f"{path}[{index}]")
    else:
        got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        assert got.shape == expected.shape, f"{path}: shape {got.shape} != {expected.shape}"
        tolerance = 1e-5 * max(1.0, float(np.abs(expected).max(initial=0.0)))
        np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance, err_msg=path)


def _ragged(value):
    try:
        np.asarray(value, dtype=np.float64)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize("name", NAMES)
def test_two_processes_train_as_one(job, name, tmp_path):
    function = SCENARIOS[name]
    alone = function(str(tmp_path)) if function.__code__.co_argcount else function()
    for rank in range(2):
        with open(job / f"{name}.{rank}.json") as handle:
            assert_same(json.load(handle), alone, f"{name}[process {rank}]")


def test_synchronized_batch_norm_on_two_processes_gives_keras_numbers_on_the_whole_batch(job, keras):
    """Keras (torch backend, one process) trains the same model on whole batches; lamina's
    BatchNormalization(synchronized=True) on 2 processes, each with part of every batch, agrees."""
    initial = _classifier(lamina.optimizers.SGD(0.1), batch_norm=True).get_weights()
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(8, activation="relu", kernel_regularizer="l2")(inputs)
    hidden = keras.layers.BatchNormalization(momentum=0.9)(hidden)
    reference = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    reference.set_weights(initial)
    reference.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy",
                      metrics=["accuracy", keras.metrics.AUC(name="auc")])
    x, y = _data(71, seed=5)
    history = reference.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    expected = {"weights": [w.tolist() for w in reference.get_weights()], "history": history.history}
    for rank in range(2):
        with open(job / f"synchronized_batch_norm.{rank}.json") as handle:
            assert_same(json.load(handle), expected, f"synchronized_batch_norm[process {rank}] vs Keras")

