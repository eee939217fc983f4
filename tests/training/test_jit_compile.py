"""``compile(jit_compile=True)``: the whole step under torch.compile gives eager's numbers, compiles a bounded
number of times (the bound is in lamina/training/compiled.py), and falls back to eager on a compiler failure.

Most cases trace with the "aot_eager" backend (Dynamo and AOTAutograd, as inductor gets them, run by
PyTorch's own kernels: the recompilation behaviour is the same, and it compiles in a fraction of the
time); one MLP runs through inductor itself.
"""

import logging
import shutil
import warnings

import numpy as np
import pytest
import torch
from torch._dynamo.utils import counters

import lamina
from fit_reference import guide_custom_model
from lamina.training import compiled

layers = lamina.layers


@pytest.fixture
def aot_eager(monkeypatch):
    monkeypatch.setattr(compiled, "BACKEND", "aot_eager")


def _graphs():
    return counters["stats"]["unique_graphs"], sum(counters["graph_break"].values())


def _mlp():
    return lamina.Sequential([layers.Input((16,)), layers.Dense(32, activation="relu"), layers.Dense(1)])


def _cnn():
    return lamina.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
                              layers.Flatten(), layers.Dense(1)])


def _batch_norm_dropout():
    return lamina.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, use_bias=False),
                              layers.BatchNormalization(), layers.ReLU(), layers.Flatten(),
                              layers.Dropout(0.3, seed=3), layers.Dense(1)])


def _data(build, rng, samples=70):
    shape = (16,) if build is _mlp else (8, 8, 1)
    x = rng.standard_normal((samples,) + shape).astype("float32")
    return x, x.reshape(samples, -1)[:, :1] * 0.5 + 0.1


def _train(build, data, jit_compile, optimizer="adam"):
    """fit (batch 16: a partial last batch; validation), evaluate and predict; the results and the graphs
    (and graph breaks) Dynamo compiled meanwhile."""
    x, y = data
    lamina.utils.set_random_seed(1)
    model = build()
    model.compile(optimizer() if callable(optimizer) else optimizer, "mse", metrics=["mae"], jit_compile=jit_compile)
    before = _graphs()
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_data=(x[:30], y[:30]))
    results = {"history": history.history, "weights": model.get_weights(),
               "evaluate": model.evaluate(x, y, batch_size=16, verbose=0),
               "predict": model.predict(x, batch_size=16, verbose=0)}
    after = _graphs()
    return model, results, (after[0] - before[0], after[1] - before[1])


def _assert_same(actual, expected, tolerance=1e-5):
    for key in expected["history"]:
        np.testing.assert_allclose(actual["history"][key], expected["history"][key], rtol=tolerance, atol=1e-7)
    for got, want in zip(actual["weights"], expected["weights"]):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * max(1.0, np.abs(want).max()))
    np.testing.assert_allclose(actual["evaluate"], expected["evaluate"], rtol=tolerance)
    np.testing.assert_allclose(actual["predict"], expected["predict"], rtol=tolerance, atol=1e-6)


@pytest.mark.skipif(not (shutil.which("c++") or shutil.which("g++")), reason="inductor needs a C++ compiler on CPU")
def test_inductor_mlp_matches_eager_and_compiles_each_step_once(rng):
    data = _data(_mlp, rng)
    _, eager, _ = _train(_mlp, data, jit_compile=False)
    model, jit, (graphs, breaks) = _train(_mlp, data, jit_compile=True)
    _assert_same(jit, eager)
    assert model.jit_compile is True
    assert (graphs, breaks) == (3, 0)  # train, test, predict: one whole graph each, for 3 epochs and partial batches


@pytest.mark.parametrize("build, bound", [(_mlp, 3), (_cnn, 6)], ids=["mlp", "cnn"])
def test_compiled_matches_eager_within_the_bound(aot_eager, rng, build, bound):
    """CPU convolutions pick their kernel by batch size (< 16 or not), so a CNN whose partial batch falls on
    the other side compiles each step twice."""
    data = _data(build, rng)
    _, eager, _ = _train(build, data, jit_compile=False)
    model, jit, (graphs, breaks) = _train(build, data, jit_compile=True)
    _assert_same(jit, eager)
    assert graphs <= bound and breaks == 0
    more = _graphs()
    model.fit(*data, batch_size=16, epochs=2, verbose=0)
    assert _graphs()[0] == more[0]  # later epochs, partial batches included, compile nothing


def test_batch_norm_and_seeded_dropout_match_eager_in_bounded_pieces(aot_eager, rng):
    """A seeded Dropout draws from its own torch.Generator, which Dynamo cannot trace: the train step runs
    in pieces around the draw (the same masks as eagerly), a bounded number of them."""
    data = _data(_batch_norm_dropout, rng)
    _, eager, _ = _train(_batch_norm_dropout, data, jit_compile=False)
    model, jit, _ = _train(_batch_norm_dropout, data, jit_compile=True)
    _assert_same(jit, eager)
    before = _graphs()[0]
    model.fit(*data, batch_size=16, epochs=3, verbose=0)
    assert _graphs()[0] == before


@pytest.mark.parametrize("optimizer", [
    "nadam", "adamw", lambda: lamina.optimizers.Adam(use_ema=True, ema_overwrite_frequency=3),
    lambda: lamina.optimizers.SGD(lamina.optimizers.schedules.PiecewiseConstantDecay([4, 8], [0.1, 0.05, 0.01])),
    lambda: lamina.optimizers.LossScaleOptimizer(lamina.optimizers.SGD(0.05)),
], ids=["nadam", "adamw", "ema", "schedule", "loss_scale"])
def test_optimizer_scalars_are_read_in_the_graph_not_recompiled_for(aot_eager, rng, optimizer):
    """Step counts and learning rates change every step: read as Python numbers, each step would compile
    anew. A schedule (and the loss scale's finite check) are computed between two pieces of the step."""
    data = _data(_mlp, rng)
    _, eager, _ = _train(_mlp, data, jit_compile=False, optimizer=optimizer)
    _, jit, (graphs, _) = _train(_mlp, data, jit_compile=True, optimizer=optimizer)
    _assert_same(jit, eager)
    assert graphs <= 6


def test_a_custom_train_step_reading_grad_compiles_in_pieces(aot_eager, rng, caplog):
    def build():
        inputs = layers.Input((16,))
        return guide_custom_model(lamina)(inputs, layers.Dense(1)(layers.Dense(8, activation="relu")(inputs)))

    data = _data(_mlp, rng)
    _, eager, _ = _train(build, data, jit_compile=False)
    with caplog.at_level(logging.INFO, logger="lamina"):
        _, jit, _ = _train(build, data, jit_compile=True)
    _assert_same(jit, eager)
    assert "in pieces" in caplog.text and "runs eagerly" not in caplog.text


def test_under_data_parallelism_backward_stays_out_of_the_graph(aot_eager, rng, monkeypatch, caplog):
    """DDP averages gradients in autograd-engine hooks, which a backward traced into the graph would skip."""
    data = _data(_mlp, rng)
    _, eager, _ = _train(_mlp, data, jit_compile=False)
    monkeypatch.setattr(compiled, "_data_parallel", lambda: True)
    with caplog.at_level(logging.INFO, logger="lamina"):
        _, jit, (_, breaks) = _train(_mlp, data, jit_compile=True)
    _assert_same(jit, eager)
    assert breaks and "in pieces" in caplog.text


def test_each_model_has_a_compile_cache_of_its_own(aot_eager, rng):
    """Dynamo keeps 8 compilations per code object; the step of every model compiles under its own."""
    x, y = _data(_mlp, rng, samples=32)
    before = _graphs()[0]
    for _ in range(10):
        model = _mlp()
        model.compile("sgd", "mse", jit_compile=True)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert _graphs()[0] - before == 10


def test_auto_runs_short_fits_eagerly_and_run_eagerly_wins(rng):
    x, y = _data(_mlp, rng, samples=32)
    for kwargs in ({}, {"jit_compile": "auto"}, {"jit_compile": True, "run_eagerly": True}):
        model = _mlp()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.compile("sgd", "mse", **kwargs)
        assert any("Disabling `jit_compile`" in str(w.message) for w in caught) == ("run_eagerly" in kwargs)
        before = _graphs()[0]
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        model.predict(x, verbose=0)
        assert model.jit_compile is False and _graphs()[0] == before
    with pytest.raises(ValueError, match="jit_compile"):
        _mlp().compile("sgd", "mse", jit_compile="xla")


def _auto_fit(monkeypatch, data, min_gain, epochs=6):
    """A fit under jit_compile="auto" whose eager steps are taken as long enough to compile for."""
    monkeypatch.setattr(compiled, "AUTO_MIN_SECONDS", 0.0)
    monkeypatch.setattr(compiled, "AUTO_MIN_GAIN", min_gain)
    monkeypatch.setattr(compiled, "AUTO_TIMED_STEPS", 3)
    monkeypatch.setattr(compiled, "AUTO_WARM_UP_STEPS", 2)
    x, y = data
    lamina.utils.set_random_seed(1)
    model = _mlp()
    model.compile("adam", "mse")
    before = _graphs()[0]
    history = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0)
    return model, history, _graphs()[0] - before


def test_auto_compiles_a_long_fit_whose_compiled_step_is_faster(aot_eager, monkeypatch, rng):
    data = _data(_mlp, rng, samples=64)
    model, history, graphs = _auto_fit(monkeypatch, data, min_gain=0.0)
    step = model.train_function
    assert step.settled and step.current is step.compiled and graphs >= 1
    _, eager, _ = _auto_fit(monkeypatch, data, min_gain=float("inf"))
    np.testing.assert_allclose(history.history["loss"], eager.history["loss"], rtol=1e-5)


def test_auto_returns_to_eager_when_the_compiled_step_is_not_faster(aot_eager, monkeypatch, rng):
    model, _, _ = _auto_fit(monkeypatch, _data(_mlp, rng, samples=64), min_gain=float("inf"))
    step = model.train_function
    assert step.settled and step.current is step.step and step.compiled is not None
    calls = step.compiled.calls
    model.fit(np.zeros((16, 16), "float32"), np.zeros((16, 1), "float32"), batch_size=8, verbose=0)
    assert step.compiled.calls == calls  # settled eager: the compiled step is not tried again


def test_auto_stays_eager_for_a_fit_too_short_to_pay(aot_eager, monkeypatch, rng):
    monkeypatch.setattr(compiled, "AUTO_TIMED_STEPS", 3)
    monkeypatch.setattr(compiled, "AUTO_WARM_UP_STEPS", 2)
    x, y = _data(_mlp, rng, samples=64)
    model = _mlp()
    model.compile("adam", "mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert model.train_function.settled and model.train_function.compiled is None


def _failing_backend(graph, example_inputs):
    raise RuntimeError("no compiler here")


def _no_torch_compile(function, **kwargs):
    raise RuntimeError("no compiler here")


@pytest.mark.parametrize("failure", ["backend", "no_torch_compile"])
def test_a_compiler_failure_falls_back_to_eager_with_one_warning(monkeypatch, rng, caplog, failure):
    data = _data(_mlp, rng)
    _, eager, _ = _train(_mlp, data, jit_compile=False)
    if failure == "backend":
        monkeypatch.setattr(compiled, "BACKEND", _failing_backend)
    else:
        monkeypatch.setattr(torch, "compile", _no_torch_compile)
    with caplog.at_level(logging.WARNING, logger="lamina"):
        _, jit, _ = _train(_mlp, data, jit_compile=True)
    _assert_same(jit, eager, tolerance=0)
    warnings = [record for record in caplog.records if "runs eagerly" in record.getMessage()]
    assert len(warnings) == 1 and "no compiler here" in warnings[0].getMessage()


def test_an_error_of_the_step_itself_is_raised_not_logged(aot_eager, rng, caplog):
    x, y = _data(_mlp, rng, samples=48)
    model = _mlp()
    model.compile("sgd", "mse", jit_compile=True)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    with caplog.at_level(logging.WARNING, logger="lamina"), pytest.raises(ValueError, match="16"):
        model.fit(x[:, :8], y, batch_size=16, epochs=1, verbose=0)
    assert "runs eagerly" not in caplog.text
