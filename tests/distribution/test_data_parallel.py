"""The same script on 2 processes (gloo, 127.0.0.1) gives the weights, History, evaluations and
predictions of a single process, on every process."""

import json

import numpy as np
import pytest

from distribution.launch import run_processes
from distribution.scenarios import SCENARIOS

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
    alone = function(str(tmp_path)) if name == "callbacks" else function()
    for rank in range(2):
        with open(job / f"{name}.{rank}.json") as handle:
            assert_same(json.load(handle), alone, f"{name}[process {rank}]")
