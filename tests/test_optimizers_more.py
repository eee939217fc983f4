"""ScheduleFreeAdamW, MultiOptimizer and OptimizerMap vs Keras 3.15: updates step by step, fit, variables,
configs, files, errors.

Keras 3.15 on torch computes ScheduleFreeAdamW's ``x_old`` from the *updated* momentum (its
``momentum.value`` aliases the tensor the update writes into); Keras on JAX and Keras's own comments use
the old one, and so does lamina (docs/keras_torch_departures.md). The reference here is Keras's own
ScheduleFreeAdamW with that aliasing removed (``_keras_rule``), checked against numbers from Keras on JAX.
"""

import functools

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers
from lamina.optimizers import schedules
from lamina.saving.slots import optimizer_values
from test_optimizers import _assert_close, _data, step_both


pytestmark = pytest.mark.usefixtures("names_from_zero")  # variable paths compare whatever ran before

STEPS = 8
SHAPES = [(3, 4), (5,), ()]


def _numpy(keras, value):
    return keras.ops.convert_to_numpy(getattr(value, "value", value))


def _without_names(config):
    """A config without its (process-dependent) optimizer names, module paths and registered names: Keras-torch
    writes its backend classes (keras.src.backend.torch...), lamina writes keras.optimizers."""
    if isinstance(config, dict):
        return {key: _without_names(value) for key, value in config.items()
                if key not in ("name", "module", "registered_name")}
    if isinstance(config, list):
        return [_without_names(value) for value in config]
    return config


@functools.lru_cache(maxsize=None)
def _keras_rule(keras):
    """Keras's ScheduleFreeAdamW with its torch aliasing removed: ``assign_sub`` gives the momentum a new
    tensor instead of writing into the one ``momentum_old`` holds, so ``x_old`` uses the old momentum, as on
    JAX. Everything else (weight decay, clipping, EMA, schedules, warmup) is Keras's own code."""

    class KerasScheduleFreeAdamWRule(keras.optimizers.ScheduleFreeAdamW):
        def assign_sub(self, variable, value):
            variable._value = torch.nn.Parameter(variable.value - value, requires_grad=False)

    return KerasScheduleFreeAdamWRule


# ------------------------------------------------------------------------------------------ ScheduleFreeAdamW
def _lr(lib, spec):
    """A learning rate for both libraries from a spec: a float, or (schedule class name, kwargs)."""
    if isinstance(spec, tuple):
        name, kwargs = spec
        return getattr(lib.optimizers.schedules, name)(**kwargs)
    return spec


SF_CASES = [
    {},
    dict(learning_rate=0.05),
    dict(learning_rate=0.5),
    dict(learning_rate=0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3),
    dict(learning_rate=0.05, beta_1=1.0),
    dict(learning_rate=0.05, beta_2=0.0),
    dict(learning_rate=0.1, warmup_steps=3),
    dict(learning_rate=0.1, warmup_steps=20, beta_1=0.95),
    dict(learning_rate=0.05, weight_decay=0.1),
    dict(learning_rate=0.05, weight_decay=0.01, warmup_steps=2),
    dict(learning_rate=0.1, clipnorm=0.5),
    dict(learning_rate=0.1, clipvalue=0.2),
    dict(learning_rate=0.1, global_clipnorm=1.0),
    dict(learning_rate=0.05, use_ema=True, ema_momentum=0.9),
    dict(learning_rate=0.05, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=3),
    dict(learning_rate=0.05, loss_scale_factor=4.0),
    dict(learning_rate=("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5))),
    dict(learning_rate=("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=6, warmup_target=0.1,
                                            warmup_steps=2)), warmup_steps=4),
    dict(learning_rate=("PiecewiseConstantDecay", dict(boundaries=[2, 5], values=[0.1, 0.05, 0.01])),
         weight_decay=0.05, clipnorm=1.0, use_ema=True),
]


@pytest.mark.parametrize("kwargs", SF_CASES, ids=[f"case{i}" for i in range(len(SF_CASES))])
def test_schedule_free_updates_match_keras(keras, rng, kwargs):
    initial, grads = _data(rng, SHAPES, STEPS)
    reference = _keras_rule(keras)(**{**kwargs, "learning_rate": _lr(keras, kwargs.get("learning_rate", 0.0025))})
    ours = optimizers.ScheduleFreeAdamW(**{**kwargs, "learning_rate": _lr(lamina, kwargs.get("learning_rate", 0.0025))})
    step_both(keras, reference, ours, initial, grads)
    # Three small CPU variables: the update runs on flat buffers (per variable when clipping by norm).
    assert ours._flat is not None
    assert int(ours.iterations) == STEPS
    assert [tuple(v.shape) for v in ours.variables] == [tuple(v.shape) for v in reference.variables]
    for mine, theirs in zip(ours.variables, reference.variables):
        _assert_close(mine.numpy(), _numpy(keras, theirs))
    stock = keras.optimizers.ScheduleFreeAdamW(**{**kwargs, "learning_rate": _lr(keras, kwargs.get("learning_rate",
                                                                                                   0.0025))})
    config, expected = ours.get_config(), stock.get_config()
    config.pop("name"), expected.pop("name")
    assert config == expected


def test_schedule_free_single_variable_runs_per_variable_like_keras(keras):
    """One variable (no flat buffer): the per-variable update, and Keras's test_single_step/test_multiple_steps."""
    reference, ours = _keras_rule(keras)(learning_rate=0.5), optimizers.ScheduleFreeAdamW(learning_rate=0.5)
    keras_var, param = keras.Variable([1.0, 2.0, 3.0, 4.0]), torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    for _ in range(10):
        grad = torch.tensor([1.0, 6.0, 7.0, 2.0])
        reference.apply_gradients([(grad, keras_var)])
        ours.apply_gradients([(grad, param)])
        _assert_close(param.detach().numpy(), _numpy(keras, keras_var))
    assert ours._flat is None
    assert np.all(param.detach().numpy() < [1.0, 2.0, 3.0, 4.0])


# Keras 3.15 on JAX (KERAS_BACKEND=jax), ScheduleFreeAdamW(learning_rate=0.1, beta_1=0.8, weight_decay=0.05,
# warmup_steps=3, clipnorm=1.0), w0 = (arange(6).reshape(2, 3) - 2.5) / 2, gradient k (k = 0..3) =
# cos(arange(6).reshape(2, 3) * (k + 1)), all float32: the weights and the momentum after the 4 steps.
JAX_WEIGHTS = [[-1.4171509742736816, -0.613462507724762, -0.2147860825061798],
               [0.24047771096229553, 0.7770180106163025, 1.3085986375808716]]
JAX_MOMENTUM = [[-1.535825252532959, -0.492855429649353, -0.2334323525428772],
                [0.20532768964767456, 0.8225318193435669, 1.3327627182006836]]


def _fixture_run(optimizer, variable):
    base = np.arange(6, dtype="float32").reshape(2, 3)
    for k in range(4):
        grad = torch.from_numpy(np.cos(base * (k + 1)))
        optimizer.apply_gradients([(grad, variable)])
    return variable


def test_schedule_free_matches_keras_on_jax(keras):
    kwargs = dict(learning_rate=0.1, beta_1=0.8, weight_decay=0.05, warmup_steps=3, clipnorm=1.0)
    w0 = (np.arange(6, dtype="float32").reshape(2, 3) - 2.5) / 2
    ours = optimizers.ScheduleFreeAdamW(**kwargs)
    param = _fixture_run(ours, torch.nn.Parameter(torch.from_numpy(w0.copy())))
    _assert_close(param.detach().numpy(), JAX_WEIGHTS)
    _assert_close(ours.variables[2].numpy(), JAX_MOMENTUM)
    # The reference the other tests use gives Keras-on-JAX's numbers too.
    reference = _keras_rule(keras)(**kwargs)
    keras_var = _fixture_run(reference, keras.Variable(w0))
    _assert_close(_numpy(keras, keras_var), JAX_WEIGHTS)


def _numpy_schedule_free(initial, grads, lr, beta_1, beta_2, epsilon, old_momentum):
    """The Schedule-Free AdamW step in float32 NumPy; ``old_momentum=False`` recovers x from the updated
    momentum, as Keras 3.15 on torch does."""
    f = np.float32
    y, z, v = initial.copy(), initial.copy(), np.zeros_like(initial)
    for t, g in enumerate(grads, 1):
        z_old = z.copy()
        v = v + (g * g - v) * (f(1) - f(beta_2))
        z = z - f(lr) * g / (np.sqrt(v / (f(1) - f(beta_2) ** f(t))) + f(epsilon))
        x = (y - (f(1) - f(beta_1)) * (z_old if old_momentum else z)) / f(beta_1)
        x = (f(1) - f(1) / f(t)) * x + f(1) / f(t) * z
        y = (f(1) - f(beta_1)) * z + f(beta_1) * x
    return y


def test_schedule_free_departs_from_keras_torch_aliasing(keras, rng):
    """The departure, measured: stock Keras-torch follows the aliased formula, lamina the documented one."""
    initial = rng.standard_normal((3, 4)).astype("float32")
    grads = [rng.standard_normal((3, 4)).astype("float32") for _ in range(5)]
    stock, ours = keras.optimizers.ScheduleFreeAdamW(learning_rate=0.1), optimizers.ScheduleFreeAdamW(learning_rate=0.1)
    keras_var, param = keras.Variable(initial), torch.nn.Parameter(torch.from_numpy(initial.copy()))
    for g in grads:
        stock.apply_gradients([(torch.from_numpy(g), keras_var)])
        ours.apply_gradients([(torch.from_numpy(g), param)])
    args = (initial, grads, 0.1, 0.9, 0.999, 1e-8)
    _assert_close(_numpy(keras, keras_var), _numpy_schedule_free(*args, old_momentum=False))
    _assert_close(param.detach().numpy(), _numpy_schedule_free(*args, old_momentum=True))
    assert np.abs(param.detach().numpy() - _numpy(keras, keras_var)).max() > 1e-3


def _conv_lstm_model(lib):
    inputs = lib.Input((6,))
    hidden = lib.layers.Embedding(10, 4, name="embedding")(inputs)
    hidden = lib.layers.Conv1D(3, 2, name="conv")(hidden)
    hidden = lib.layers.LSTM(5, name="lstm")(hidden)
    return lib.Model(inputs, lib.layers.Dense(2, name="head")(hidden))


def _dense_model(lib):
    return lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="tanh", name="dense_1"),
                           lib.layers.Dense(2, name="dense_2"), lib.layers.Dense(1, name="head")])


def _model_data(rng, conv):
    if conv:
        return rng.integers(0, 10, (12, 6)), rng.standard_normal((12, 2)).astype("float32")
    return rng.standard_normal((12, 4)).astype("float32"), rng.standard_normal((12, 1)).astype("float32")


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv_lstm"])
@pytest.mark.parametrize("kwargs", [dict(learning_rate=0.01),
                                    dict(learning_rate=0.02, warmup_steps=3, weight_decay=0.01, use_ema=True)],
                         ids=["plain", "warmup_decay_ema"])
def test_schedule_free_fit_evaluate_predict_match_keras(keras, rng, conv, kwargs):
    """fit, then evaluate and predict on the weights fit leaves (Keras swaps in no averaged weights for
    evaluation, and neither does lamina): kernels stored in torch layouts train as Keras's."""
    build = _conv_lstm_model if conv else _dense_model
    reference, model = build(keras), build(lamina)
    model.set_weights(reference.get_weights())
    x, y = _model_data(rng, conv)
    reference.compile(optimizer=_keras_rule(keras)(**kwargs), loss="mse")
    model.compile(optimizer=optimizers.ScheduleFreeAdamW(**kwargs), loss="mse")
    for net in (reference, model):
        net.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        _assert_close(mine, theirs)
    before = [w.copy() for w in model.get_weights()]
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=1e-5)
    _assert_close(model.predict(x, verbose=0), reference.predict(x, verbose=0))
    for kept, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(kept, now)
    assert int(model.optimizer.iterations) == int(reference.optimizer.iterations) == 6


def test_schedule_free_averaged_weights_recover_x(keras, rng):
    initial, grads = _data(rng, SHAPES, STEPS)
    ours = optimizers.ScheduleFreeAdamW(learning_rate=0.1, beta_1=0.7)
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in initial]
    for step_grads in grads:
        ours.apply_gradients([(torch.from_numpy(g), p) for g, p in zip(step_grads, params)])
    momentums = ours.variables[2::2]
    for x, y, z in zip(ours.averaged_weights(), params, momentums):
        _assert_close(x.numpy(), (y.detach().numpy() - np.float32(0.3) * z.numpy()) / np.float32(0.7))
    # y is the interpolation of z and x, as the optimizer keeps it.
    for x, y, z in zip(ours.averaged_weights(), params, momentums):
        _assert_close(y.detach().numpy(), np.float32(0.3) * z.numpy() + np.float32(0.7) * x.numpy())


def test_schedule_free_momentum_starts_at_the_weights(keras):
    weights = [torch.nn.Parameter(torch.arange(6.0).reshape(2, 3)), torch.nn.Parameter(torch.ones(4))]
    ours = optimizers.ScheduleFreeAdamW(use_ema=True)
    ours.build(weights)
    reference = keras.optimizers.ScheduleFreeAdamW(use_ema=True)
    reference.build([keras.Variable(w.detach().numpy()) for w in weights])
    assert len(ours.variables) == len(reference.variables) == 8
    for mine, theirs in zip(ours.variables, reference.variables):
        np.testing.assert_array_equal(mine.numpy(), _numpy(keras, theirs))


@pytest.mark.parametrize("identifier", ["schedulefreeadamw", "ScheduleFreeAdamW"])
def test_schedule_free_get_serialize_like_keras(keras, identifier):
    ours, reference = optimizers.get(identifier), keras.optimizers.get(identifier)
    assert type(ours).__name__ == type(reference).__name__ == "ScheduleFreeAdamW"
    assert _without_names(optimizers.serialize(ours)) == _without_names(keras.optimizers.serialize(reference))
    configured = keras.optimizers.ScheduleFreeAdamW(learning_rate=0.005, beta_1=0.95, beta_2=0.99, epsilon=1e-6,
                                                   warmup_steps=100, weight_decay=0.01)
    restored = optimizers.deserialize(keras.optimizers.serialize(configured))
    assert isinstance(restored, optimizers.ScheduleFreeAdamW)
    assert _without_names(restored.get_config()) == _without_names(configured.get_config())
    schedule = schedules.CosineDecay(0.1, 10)
    again = optimizers.deserialize(optimizers.serialize(optimizers.ScheduleFreeAdamW(learning_rate=schedule)))
    assert again.get_config()["learning_rate"] == optimizers.serialize(schedule)


def test_schedule_free_state_round_trips_through_keras_files(keras, rng, tmp_path):
    reference, model = _dense_model(keras), _dense_model(lamina)
    model.set_weights(reference.get_weights())
    x, y = _model_data(rng, conv=False)
    reference.compile(optimizer=_keras_rule(keras)(learning_rate=0.01), loss="mse")
    model.compile(optimizer=optimizers.ScheduleFreeAdamW(learning_rate=0.01), loss="mse")
    for net in (reference, model):
        net.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "ours.keras")
    loaded = keras.models.load_model(tmp_path / "ours.keras")  # Keras reads lamina's file, state included
    assert type(loaded.optimizer).__name__ == "ScheduleFreeAdamW"
    restored = lamina.models.load_model(tmp_path / "ours.keras")
    assert isinstance(restored.optimizer, optimizers.ScheduleFreeAdamW)
    assert len(loaded.optimizer.variables) == len(restored.optimizer.variables) == len(reference.optimizer.variables)
    for mine, read, theirs in zip(restored.optimizer.variables, loaded.optimizer.variables,
                                  reference.optimizer.variables):
        _assert_close(mine.numpy(), _numpy(keras, theirs))
        _assert_close(_numpy(keras, read), _numpy(keras, theirs))
    # Training on from the file continues as training on in memory.
    restored.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(restored.get_weights(), model.get_weights()):
        _assert_close(a, b)


@pytest.mark.parametrize("make,match", [
    (lambda: optimizers.ScheduleFreeAdamW(beta_1=0.0), r"ScheduleFreeAdamW.*`beta_1`.*\(0, 1\].*beta_1=0.0"),
    (lambda: optimizers.ScheduleFreeAdamW(beta_1=1.5), r"`beta_1`.*Received: beta_1=1.5"),
    (lambda: optimizers.ScheduleFreeAdamW(beta_1="0.9"), r"`beta_1`.*Received: beta_1='0.9'"),
    (lambda: optimizers.ScheduleFreeAdamW(beta_2=1.0), r"ScheduleFreeAdamW.*`beta_2`.*\[0, 1\).*beta_2=1.0"),
    (lambda: optimizers.ScheduleFreeAdamW(beta_2=-0.1), r"`beta_2`.*beta_2=-0.1"),
    (lambda: optimizers.ScheduleFreeAdamW(epsilon=-1e-8), r"ScheduleFreeAdamW.*`epsilon`.*>= 0.*epsilon=-1e-08"),
    (lambda: optimizers.ScheduleFreeAdamW(warmup_steps=-1), r"`warmup_steps`.*integer >= 0.*warmup_steps=-1"),
    (lambda: optimizers.ScheduleFreeAdamW(warmup_steps=2.5), r"`warmup_steps`.*warmup_steps=2.5"),
    (lambda: optimizers.ScheduleFreeAdamW(learning_rate="fast"), r"ScheduleFreeAdamW.*`learning_rate`.*'fast'"),
    (lambda: optimizers.ScheduleFreeAdamW(clipnorm=1.0, clipvalue=1.0), "Only one of"),
    (lambda: optimizers.ScheduleFreeAdamW(use_ema=True, ema_momentum=1.5), "ema_momentum"),
    (lambda: optimizers.ScheduleFreeAdamW(bogus=1), r"ScheduleFreeAdamW.*not recognized.*bogus"),
    (lambda: optimizers.ScheduleFreeAdamW().averaged_weights(), r"averaged_weights\(\) needs a built optimizer"),
])
def test_schedule_free_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ------------------------------------------------------------------------------------------ MultiOptimizer
def _multi(lib, spec):
    """A MultiOptimizer for ``lib`` from ``spec(optimizers, schedule_free_class)``."""
    schedule_free = lib.optimizers.ScheduleFreeAdamW if lib is lamina else _keras_rule(lib)
    return spec(lib.optimizers, schedule_free)


def _mapped(default, mapping, **kwargs):
    return lambda o, sf: o.MultiOptimizer(o.OptimizerMap(default_optimizer=default(o, sf),
                                                        optimizer_map={k: make(o, sf) for k, make in mapping.items()}),
                                          **kwargs)


def _selector(o, sf):
    adam, sgd = o.Adam(learning_rate=0.01), o.SGD(learning_rate=0.05, momentum=0.5)
    return o.MultiOptimizer(lambda variable: adam if "kernel" in variable.path else sgd)


MULTI_CASES = {
    "three_kinds": _mapped(lambda o, sf: o.SGD(0.05, momentum=0.9),
                           {".*dense_1/.*": lambda o, sf: o.Adam(0.01),
                            ".*dense_2/kernel": lambda o, sf: o.RMSprop(0.01)}),
    "decay_and_clipping": _mapped(lambda o, sf: o.SGD(0.05, global_clipnorm=0.5, weight_decay=0.01),
                                  {".*dense_1/.*": lambda o, sf: o.AdamW(0.02, clipnorm=0.3),
                                   ".*head/.*": lambda o, sf: o.Adam(0.02, clipvalue=0.05, amsgrad=True)}),
    "ema": _mapped(lambda o, sf: o.Adam(0.01, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3),
                   {".*dense_2/.*": lambda o, sf: o.Lion(0.001), ".*head/bias": lambda o, sf: o.Adagrad(0.1)}),
    "schedules": _mapped(lambda o, sf: o.SGD(o.schedules.CosineDecay(0.1, decay_steps=5, alpha=0.1)),
                         {".*dense_1/.*": lambda o, sf: o.Adam(o.schedules.ExponentialDecay(0.05, 2, 0.5)),
                          ".*dense_2/.*": lambda o, sf: o.Nadam(o.schedules.PiecewiseConstantDecay([2, 4],
                                                                                                  [0.1, 0.05, 0.01]))}),
    "loss_scale": _mapped(lambda o, sf: o.SGD(0.1), {".*dense_1/.*": lambda o, sf: o.Adam(0.01)},
                          loss_scale_factor=4.0),
    "default_only": _mapped(lambda o, sf: o.RMSprop(0.01, momentum=0.5, centered=True), {}),
    "schedule_free_inside": _mapped(lambda o, sf: o.Adamax(0.02),
                                    {".*dense_1/.*": lambda o, sf: sf(0.05, warmup_steps=2, weight_decay=0.01),
                                     ".*dense_2/.*": lambda o, sf: o.Adadelta(1.0)}),
    "more_kinds": _mapped(lambda o, sf: o.Ftrl(0.1, l1_regularization_strength=0.01),
                          {".*dense_1/kernel": lambda o, sf: o.Lamb(0.01),
                           ".*dense_2/kernel": lambda o, sf: o.Adafactor(),
                           ".*head/kernel": lambda o, sf: o.Muon(0.02)}),
    "selector": _selector,
}


@pytest.mark.parametrize("case", sorted(MULTI_CASES))
def test_multi_optimizer_updates_match_keras(keras, rng, case):
    reference, model = _dense_model(keras), _dense_model(lamina)
    model.set_weights(reference.get_weights())
    keras_opt, ours = _multi(keras, MULTI_CASES[case]), _multi(lamina, MULTI_CASES[case])
    keras_weights, weights = reference.trainable_weights, model.trainable_weights
    assert [w.path for w in weights] == [w.path for w in keras_weights]
    for _ in range(6):
        grads = [rng.standard_normal(tuple(w.shape)).astype("float32") for w in keras_weights]
        keras_opt.apply([torch.from_numpy(g) for g in grads], keras_weights)
        ours.apply([torch.from_numpy(g) for g in grads], weights)
        for mine, theirs in zip(model.get_weights(), reference.get_weights()):
            _assert_close(mine, theirs)
    assert [type(o).__name__ for o in ours.optimizers] == [type(o).__name__.replace("KerasScheduleFreeAdamWRule",
                                                                                    "ScheduleFreeAdamW")
                                                          for o in keras_opt.optimizers]
    assert int(ours.iterations) == int(keras_opt.iterations) == 6
    assert [int(o.iterations) for o in ours.optimizers] == [int(o.iterations) for o in keras_opt.optimizers]
    assert [tuple(v.shape) for v in ours.variables] == [tuple(v.shape) for v in keras_opt.variables]
    for mine, theirs in zip(ours.variables, keras_opt.variables):
        _assert_close(mine.numpy(), _numpy(keras, theirs))
    if case != "selector":  # a lambda serializes by its name on both sides, and is not worth comparing
        expected = _without_names(keras.optimizers.serialize(_multi(keras, MULTI_CASES[case])))
        if case == "schedule_free_inside":
            expected = _without_names(keras.optimizers.serialize(
                MULTI_CASES[case](keras.optimizers, keras.optimizers.ScheduleFreeAdamW)))
        assert _without_names(optimizers.serialize(ours)) == expected


FIT_CASES = {
    "keras_test": lambda o: o.MultiOptimizer(o.OptimizerMap(
        default_optimizer=o.SGD(learning_rate=0.1),
        optimizer_map={".*dense_1/.*": o.SGD(learning_rate=1e-3), ".*dense_2/.*": o.SGD(learning_rate=1e-2)})),
    "adam_rmsprop_ema": lambda o: o.MultiOptimizer(o.OptimizerMap(
        default_optimizer=o.RMSprop(0.01),
        optimizer_map={".*(dense_1|conv)/.*": o.Adam(0.01, use_ema=True, ema_momentum=0.9),
                       ".*(dense_2|lstm)/.*": o.SGD(0.05, momentum=0.9, nesterov=True, clipnorm=1.0)})),
    "schedule_and_decay": lambda o: o.MultiOptimizer(o.OptimizerMap(
        default_optimizer=o.AdamW(o.schedules.ExponentialDecay(0.02, 3, 0.7), weight_decay=0.05),
        optimizer_map={".*embedding/.*": o.Adagrad(0.1), ".*head/.*": o.Lion(0.001)}), loss_scale_factor=2.0),
}


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv_lstm"])
@pytest.mark.parametrize("case", sorted(FIT_CASES))
def test_multi_optimizer_fit_matches_keras(keras, rng, case, conv):
    build = _conv_lstm_model if conv else _dense_model
    reference, model = build(keras), build(lamina)
    model.set_weights(reference.get_weights())
    x, y = _model_data(rng, conv)
    reference.compile(optimizer=FIT_CASES[case](keras.optimizers), loss="mse")
    model.compile(optimizer=FIT_CASES[case](optimizers), loss="mse")
    for net in (reference, model):
        net.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        _assert_close(mine, theirs)
    assert [int(o.iterations) for o in model.optimizer.optimizers] == \
        [int(o.iterations) for o in reference.optimizer.optimizers]
    assert int(model.optimizer.iterations) == int(reference.optimizer.iterations) == 6
    for mine, theirs in zip(optimizer_values(model.optimizer), reference.optimizer.variables):
        _assert_close(mine, _numpy(keras, theirs))  # the slots of torch-layout kernels, in Keras's layout
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=1e-5)


def test_learning_rate_callbacks_walk_a_multi_optimizer_as_keras(keras, rng):
    """LearningRateScheduler and ReduceLROnPlateau set and log each inner optimizer's learning rate."""
    reference, model = _dense_model(keras), _dense_model(lamina)
    model.set_weights(reference.get_weights())
    x, y = _model_data(rng, False)
    histories = []
    for net, lib in ((reference, keras), (model, lamina)):
        o = lib.optimizers  # named: the logs' keys carry the inner optimizers' names
        net.compile(optimizer=o.MultiOptimizer(o.OptimizerMap(
            default_optimizer=o.SGD(learning_rate=0.1, name="rest"),
            optimizer_map={".*dense_1/.*": o.SGD(learning_rate=1e-3, name="first"),
                           ".*dense_2/.*": o.SGD(learning_rate=1e-2, name="second")})), loss="mse")
        callbacks = [lib.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr),
                     lib.callbacks.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=10.0)]
        histories.append(net.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0,
                                 callbacks=callbacks).history)
    expected, got = histories
    assert set(got) == set(expected) == {"loss", "learning_rate_rest", "learning_rate_first", "learning_rate_second"}
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, err_msg=key)
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        _assert_close(mine, theirs)


def test_swap_ema_weights_swaps_the_inner_optimizers_averages_as_keras(keras, rng):
    reference, model = _dense_model(keras), _dense_model(lamina)
    model.set_weights(reference.get_weights())
    x, y = _model_data(rng, False)
    results = []
    for net, lib in ((reference, keras), (model, lamina)):
        net.compile(optimizer=FIT_CASES["adam_rmsprop_ema"](lib.optimizers), loss="mse")
        for start in range(0, 12, 4):  # train_on_batch: no final copy of the averages into the weights
            net.train_on_batch(x[start:start + 4], y[start:start + 4])
        trained = net.get_weights()
        swap = lib.callbacks.SwapEMAWeights()
        results.append((net.evaluate(x, y, verbose=0, callbacks=[swap]), net.evaluate(x, y, verbose=0), trained))
        for before, after in zip(trained, net.get_weights()):
            np.testing.assert_array_equal(before, after)  # swapped back after evaluate
    (keras_ema, keras_plain, _), (ema, plain, _) = results
    np.testing.assert_allclose([ema, plain], [keras_ema, keras_plain], rtol=1e-5)
    assert ema != plain
    model.compile(optimizer=FIT_CASES["keras_test"](optimizers), loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="at least one inner optimizer has `use_ema=True`"):
        model.evaluate(x, y, verbose=0, callbacks=[lamina.callbacks.SwapEMAWeights()])


@pytest.mark.parametrize("name,kwargs", [("AdamW", {"learning_rate": 0.05, "weight_decay": 0.1}),
                                         ("SGD", {"learning_rate": 0.1, "weight_decay": 0.2, "momentum": 0.5}),
                                         ("Lion", {"learning_rate": 0.01, "weight_decay": 0.3}),
                                         ("Muon", {"learning_rate": 0.02, "weight_decay": 0.1,
                                                   "adam_weight_decay": 0.2})])
@pytest.mark.parametrize("exclude", ["names", "list", "both"])
def test_exclude_from_weight_decay_matches_keras(keras, rng, name, kwargs, exclude):
    """Biases by name, the first kernel by object, or both, kept out of weight decay over fit, as Keras."""
    def build(lib):
        return lib.Sequential([lib.Input((4,)), lib.layers.Dense(5, activation="tanh", name="first"),
                               lib.layers.Dense(3, name="second")])

    reference, model = build(keras), build(lamina)
    model.set_weights(reference.get_weights())
    x, y = rng.normal(size=(16, 4)).astype("float32"), rng.normal(size=(16, 3)).astype("float32")
    for net, lib in ((reference, keras), (model, lamina)):
        optimizer = getattr(lib.optimizers, name)(**kwargs)
        optimizer.exclude_from_weight_decay(var_list=[net.layers[0].kernel] if exclude != "names" else None,
                                            var_names=["bias"] if exclude != "list" else None)
        net.compile(optimizer=optimizer, loss="mse")
        net.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        _assert_close(mine, theirs)
    with pytest.raises(ValueError, match=r"can only be configured before the optimizer is built"):
        model.optimizer.exclude_from_weight_decay(var_names=["kernel"])


def _keras_style_optimizer(lib):
    """Keras's documented way to write an optimizer (base_optimizer.py's example): build adds variables from
    references, update_step updates one variable through assign and assign_add."""
    ops = lib.ops

    class MomentumSGD(lib.optimizers.Optimizer):
        def __init__(self, learning_rate=0.05, momentum=0.9, name="momentum_sgd", **kwargs):
            super().__init__(learning_rate=learning_rate, name=name, **kwargs)
            self.momentum = momentum

        def build(self, variables):
            super().build(variables)
            self.momentums = [self.add_variable_from_reference(reference_variable=v, name="momentum")
                              for v in variables]
            self.steps = self.add_variable((), initializer="zeros", dtype="float32", name="steps")

        def update_step(self, gradient, variable, learning_rate):
            learning_rate = ops.cast(learning_rate, variable.dtype)
            gradient = ops.cast(gradient, variable.dtype)
            m = self.momentums[self._get_variable_index(variable)]
            self.assign(m, ops.subtract(ops.multiply(m, ops.cast(self.momentum, variable.dtype)),
                                        ops.multiply(gradient, learning_rate)))
            self.assign_add(variable, m)
            self.assign_add(self.steps, 1.0)

        def get_config(self):
            return {**super().get_config(), "momentum": self.momentum}

    return MomentumSGD


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv_lstm"])
def test_a_keras_style_custom_optimizer_trains_as_in_keras(keras, rng, conv, tmp_path):
    build = _conv_lstm_model if conv else _dense_model
    reference, model = build(keras), build(lamina)
    model.set_weights(reference.get_weights())
    x, y = _model_data(rng, conv)
    for net, lib in ((reference, keras), (model, lamina)):
        net.compile(optimizer=_keras_style_optimizer(lib)(clipnorm=1.0), loss="mse")
        net.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        _assert_close(mine, theirs)
    assert len(model.optimizer.variables) == len(reference.optimizer.variables)
    for mine, theirs in zip(optimizer_values(model.optimizer), reference.optimizer.variables):
        _assert_close(mine, _numpy(keras, theirs))  # the momentums in Keras's layouts
    assert float(model.optimizer.steps) == 6 * len(model.trainable_weights)
    model.save(tmp_path / "custom.keras")
    restored = keras.saving.load_model(tmp_path / "custom.keras", custom_objects={
        "MomentumSGD": _keras_style_optimizer(keras)}, compile=False)
    for mine, theirs in zip(restored.get_weights(), model.get_weights()):
        _assert_close(mine, theirs)


def test_an_optimizer_without_update_step_says_what_to_write():
    class Empty(optimizers.Optimizer):
        pass

    weight = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(NotImplementedError, match=r"Empty must implement update_step\(gradient, variable, "
                                                  "learning_rate\)"):
        Empty(0.1).apply([torch.ones(2)], [weight])


def test_multi_optimizer_fit_as_keras_unit_test():
    """Keras's test_multi_optimizer_with_model_fit, with its numbers."""
    optimizer = FIT_CASES["keras_test"](optimizers)
    model = lamina.Sequential([lamina.layers.Dense(2, kernel_initializer="ones", use_bias=False, name="dense_1"),
                               lamina.layers.Dense(1, kernel_initializer="ones", use_bias=False, name="dense_2")])
    model.compile(loss="mse", optimizer=optimizer, run_eagerly=True)
    model.fit(np.ones((1, 1), "float32"), np.zeros((1, 1), "float32"), batch_size=1, epochs=1, verbose=0)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), [[0.996, 0.996]], rtol=1e-6)
    np.testing.assert_allclose(model.layers[1].kernel.numpy(), [[0.96], [0.96]], rtol=1e-6)
    assert int(optimizer.iterations) == 1
    assert [int(o.iterations) for o in optimizer.optimizers] == [1, 1, 0]


def test_multi_optimizer_state_round_trips_through_keras_files(keras, rng, tmp_path):
    reference, model = _conv_lstm_model(keras), _conv_lstm_model(lamina)
    model.set_weights(reference.get_weights())
    x, y = _model_data(rng, conv=True)
    reference.compile(optimizer=FIT_CASES["adam_rmsprop_ema"](keras.optimizers), loss="mse")
    model.compile(optimizer=FIT_CASES["adam_rmsprop_ema"](optimizers), loss="mse")
    for net in (reference, model):
        net.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    reference.save(tmp_path / "keras.keras")
    model.save(tmp_path / "ours.keras")
    for path in ("keras.keras", "ours.keras"):  # a file Keras wrote, and lamina's own
        restored = lamina.models.load_model(tmp_path / path)
        assert isinstance(restored.optimizer, optimizers.MultiOptimizer)
        assert [type(o).__name__ for o in restored.optimizer.optimizers] == ["Adam", "SGD", "RMSprop"]
        for mine, theirs in zip(optimizer_values(restored.optimizer), reference.optimizer.variables):
            _assert_close(mine, _numpy(keras, theirs))
    restored.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    reference.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for mine, theirs in zip(restored.get_weights(), reference.get_weights()):
        _assert_close(mine, theirs)


def _scoped(lib, scope, value, name="kernel"):
    with lib.name_scope(scope):
        return lib.Variable(np.asarray(value, "float32"), name=name)


def test_optimizer_map_matching_as_keras(keras):
    adam, sgd, default = optimizers.Adam(), optimizers.SGD(), optimizers.RMSprop()
    opt_map = optimizers.OptimizerMap(default_optimizer=default)
    opt_map["^dense/.*"] = adam
    opt_map["^conv/.*"] = sgd
    opt_map["decoder"] = adam
    assert opt_map(_scoped(lamina, "dense", [[1.0]])) is adam
    assert opt_map(_scoped(lamina, "conv", [[1.0]])) is sgd
    assert opt_map(lamina.Variable(np.ones((1, 1), "float32"), name="bias")) is default
    assert opt_map["decoder"] is adam and opt_map["decoder/layer_0/dense"] is default
    assert len(opt_map) == 3 and list(opt_map) == ["^dense/.*", "^conv/.*", "decoder"]
    del opt_map["decoder"]
    assert opt_map["decoder"] is default
    conflict = optimizers.OptimizerMap(default_optimizer=default, optimizer_map={".*kernel.*": adam, ".*dense.*": sgd})
    with pytest.raises(ValueError, match=r"Multiple optimizers assigned to variable dense/kernel.*\.\*kernel"):
        conflict(_scoped(lamina, "dense", [[1.0]]))
    # The exact key wins over the patterns, as in Keras.
    conflict["dense/kernel"] = default
    assert conflict["dense/kernel"] is default
    reference = keras.optimizers.OptimizerMap(default_optimizer=keras.optimizers.RMSprop(),
                                              optimizer_map={".*kernel.*": keras.optimizers.Adam(),
                                                             ".*dense.*": keras.optimizers.SGD()})
    with pytest.raises(ValueError, match="Multiple optimizers"):
        reference(_scoped(keras, "dense", [[1.0]]))


def test_multi_optimizer_order_fallback_and_stateful_apply():
    """Keras's test_multi_optimizer_initialization, test_default_fallback and test_stateful_apply."""
    w1, w2, w3 = (_scoped(lamina, scope, value) for scope, value in
                  (("dense_1", [[2.0, 2.0]]), ("dense_2", [[3.0, 3.0]]), ("other", [[4.0, 4.0]])))
    sgd_1, sgd_2, default = optimizers.SGD(0.1), optimizers.SGD(1.0), optimizers.SGD(0.0)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(default, {"^dense_1/.*": sgd_1, "^dense_2/.*": sgd_2}))
    multi.build([w1, w2, w3])
    assert multi.optimizers == [sgd_1, sgd_2, default]
    assert [v.path for v in sgd_1._trainable_variables] == ["dense_1/kernel"]
    multi.apply([torch.ones(1, 2)] * 3, [w1, w2, w3])
    np.testing.assert_allclose(w1.numpy(), [[1.9, 1.9]], rtol=1e-6)
    np.testing.assert_allclose(w2.numpy(), [[2.0, 2.0]])
    np.testing.assert_allclose(w3.numpy(), [[4.0, 4.0]])
    assert int(multi.iterations) == 1 and [int(o.iterations) for o in multi.optimizers] == [1, 1, 1]
    multi.apply([torch.ones(1, 2)] * 3)  # the built variables
    np.testing.assert_allclose(w1.numpy(), [[1.8, 1.8]], rtol=1e-6)
    assert int(multi.iterations) == 2


def test_multi_optimizer_callable_discovers_optimizers():
    adam, sgd = optimizers.Adam(learning_rate=1e-3), optimizers.SGD(learning_rate=1e-2)
    multi = optimizers.MultiOptimizer(lambda variable: adam if "dense_1" in variable.path else sgd)
    w1, w2 = _scoped(lamina, "dense_1", [[1.0]]), _scoped(lamina, "dense_2", [[1.0]])
    multi.build([w1, w2])
    assert multi.optimizers == [adam, sgd]
    multi.apply([torch.ones(1, 1), torch.ones(1, 1)], [w1, w2])
    np.testing.assert_allclose(w2.numpy(), [[0.99]], rtol=1e-6)


def test_multi_optimizer_loss_scaling_as_keras():
    adam, sgd = optimizers.Adam(1e-3, loss_scale_factor=3.0), optimizers.SGD(1e-2, loss_scale_factor=4.0)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.RMSprop(loss_scale_factor=8.0),
                                                              {"^dense_1/.*": adam, "^dense_2/.*": sgd}),
                                      loss_scale_factor=5.0)
    assert [o.loss_scale_factor for o in multi.optimizers] == [5.0, 5.0, 5.0]
    assert float(multi.scale_loss(torch.tensor(2.0))) == 10.0
    # The gradient is divided once, by the MultiOptimizer's factor (Keras's test_gradient_unscaling).
    w = _scoped(lamina, "dense_1", [[2.0, 2.0]])
    sgd = optimizers.SGD(0.1, loss_scale_factor=2.0)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd, {"^dense_1/.*": sgd}), loss_scale_factor=5.0)
    assert multi.optimizers == [sgd]
    multi.apply([torch.full((1, 2), 10.0)], [w])
    np.testing.assert_allclose(w.numpy(), [[1.8, 1.8]], rtol=1e-6)
    multi.loss_scale_factor = None
    assert sgd.loss_scale_factor is None


def test_multi_optimizer_inside_loss_scale_optimizer():
    sgd_1, sgd_2 = optimizers.SGD(0.1), optimizers.SGD(0.1)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd_2, {".*dense_1/.*": sgd_1}), loss_scale_factor=5.0)
    wrapped = optimizers.LossScaleOptimizer(multi, initial_scale=10.0, dynamic_growth_steps=1000)
    w1, w2 = _scoped(lamina, "dense_1", [[2.0, 2.0]]), _scoped(lamina, "dense_2", [[2.0, 2.0]])
    wrapped.build([w1, w2])
    assert multi.loss_scale_factor is None and sgd_1.loss_scale_factor is None and sgd_2.loss_scale_factor is None
    assert float(wrapped.scale_loss(torch.tensor(2.0))) == 20.0
    wrapped.apply([torch.full((1, 2), 10.0)] * 2, [w1, w2])
    np.testing.assert_allclose(w1.numpy(), [[1.9, 1.9]], rtol=1e-6)
    np.testing.assert_allclose(w2.numpy(), [[1.9, 1.9]], rtol=1e-6)


def test_multi_optimizer_learning_rate_lives_on_the_inner_optimizers(keras):
    sgd_1, sgd_2 = optimizers.SGD(0.1), optimizers.SGD(0.01)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd_2, {".*dense_1/.*": sgd_1}))
    with pytest.raises(AttributeError, match="Learning rate cannot be accessed on a MultiOptimizer"):
        multi.learning_rate
    with pytest.raises(AttributeError, match="Learning rate cannot be set on a MultiOptimizer"):
        multi.learning_rate = 0.5
    for optimizer in multi.optimizers:
        optimizer.learning_rate = float(optimizer.learning_rate) * 0.5
    np.testing.assert_allclose([float(sgd_1.learning_rate), float(sgd_2.learning_rate)], [0.05, 0.005], rtol=1e-6)
    reference = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(keras.optimizers.SGD(0.01)))
    with pytest.raises(AttributeError, match="Learning rate cannot be accessed"):
        reference.learning_rate


def test_multi_optimizer_serialization_round_trip_and_keras_configs(keras):
    adam, sgd, default = optimizers.Adam(1e-3), optimizers.SGD(1e-2), optimizers.RMSprop(1e-4)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(default, {"^dense_1/.*": adam, "^dense_2/.*": sgd}))
    variables = [_scoped(lamina, scope, [[1.0]]) for scope in ("dense_1", "dense_2", "other")]
    multi.build(variables)
    restored = optimizers.deserialize(optimizers.serialize(multi))
    restored.build(variables)
    assert [type(o).__name__ for o in restored.optimizers] == ["Adam", "SGD", "RMSprop"]
    assert restored.optimizers[restored._owner[id(variables[0])]].__class__.__name__ == "Adam"
    assert restored.get_config() == multi.get_config()
    reference = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.RMSprop(1e-4), {"^dense_1/.*": keras.optimizers.Adam(1e-3),
                                         "^dense_2/.*": keras.optimizers.SGD(1e-2)}), loss_scale_factor=2.0)
    from_keras = optimizers.deserialize(keras.optimizers.serialize(reference))
    assert isinstance(from_keras, optimizers.MultiOptimizer) and from_keras.loss_scale_factor == 2.0
    assert [type(o).__name__ for o in from_keras.optimizers] == ["Adam", "SGD", "RMSprop"]
    assert _without_names(optimizers.serialize(from_keras)) == _without_names(keras.optimizers.serialize(reference))
    opt_map = optimizers.deserialize(optimizers.serialize(multi._optimizer_map))
    assert isinstance(opt_map, optimizers.OptimizerMap) and list(opt_map) == ["^dense_1/.*", "^dense_2/.*"]
    assert optimizers.get(multi) is multi


def test_multi_optimizer_finalizes_only_ema_optimizers():
    w1, w2 = _scoped(lamina, "dense_1", [[2.0, 2.0]]), _scoped(lamina, "dense_2", [[3.0, 3.0]])
    ema, plain = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), optimizers.SGD(0.1)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(plain, {".*dense_1/.*": ema}))
    multi.apply([torch.ones(1, 2)] * 2, [w1, w2])
    multi.apply([torch.ones(1, 2)] * 2, [w1, w2])
    # EMA: 1.9 after step 1 (momentum 0 at the first step), then 0.5 * 1.9 + 0.5 * 1.8
    multi.finalize_variable_values([w1, w2])
    np.testing.assert_allclose(w1.numpy(), [[1.85, 1.85]], rtol=1e-6)
    np.testing.assert_allclose(w2.numpy(), [[2.8, 2.8]], rtol=1e-6)


@pytest.mark.parametrize("make,error,match", [
    (lambda: optimizers.MultiOptimizer(optimizers.SGD()), TypeError,
     r"MultiOptimizer: `optimizer_map` must be an OptimizerMap or a callable.*Received: optimizer_map=<SGD.*SGD"),
    (lambda: optimizers.MultiOptimizer({".*": optimizers.SGD()}), TypeError,
     r"MultiOptimizer: `optimizer_map`.*of type dict"),
    (lambda: optimizers.OptimizerMap(default_optimizer="sgd"), TypeError,
     r"OptimizerMap: `default_optimizer` must be a lamina optimizer.*Received: default_optimizer='sgd'"),
    (lambda: optimizers.OptimizerMap(optimizers.SGD(), optimizer_map=[("a", optimizers.SGD())]), TypeError,
     r"OptimizerMap: `optimizer_map` must be a dictionary.*Received: optimizer_map=\[\("
    ),
    (lambda: optimizers.OptimizerMap(optimizers.LossScaleOptimizer(optimizers.SGD())), ValueError,
     r"OptimizerMap: `default_optimizer` cannot be LossScaleOptimizer"),
    (lambda: optimizers.OptimizerMap(optimizers.SGD(), {".*": optimizers.LossScaleOptimizer(optimizers.SGD())}),
     ValueError, r"OptimizerMap: optimizer cannot be LossScaleOptimizer\b.*Received: <LossScaleOptimizer"),
    (lambda: optimizers.OptimizerMap(optimizers.SGD(), {".*": optimizers.MultiOptimizer(lambda v: None)}),
     ValueError, r"OptimizerMap: optimizer cannot be MultiOptimizer\b"),
    (lambda: optimizers.OptimizerMap(optimizers.SGD(), {".*": "adam"}), ValueError,
     r"OptimizerMap: optimizer must be a lamina optimizer.*Received: 'adam' of type str"),
    (lambda: optimizers.OptimizerMap(optimizers.SGD(), {3: optimizers.SGD()}), ValueError,
     r"OptimizerMap: key must be a string.*Received: 3 of type int"),
    (lambda: optimizers.OptimizerMap(optimizers.SGD(), {"dense/(": optimizers.SGD()}), ValueError,
     r"OptimizerMap: key 'dense/\(' is not a valid regular expression"),
])
def test_multi_optimizer_bad_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_optimizer_map_refuses_duplicate_keys():
    opt_map = optimizers.OptimizerMap(optimizers.SGD())
    opt_map[".*"] = optimizers.Adam()
    with pytest.raises(ValueError, match=r"OptimizerMap: '\.\*' already exists in the OptimizerMap"):
        opt_map[".*"] = optimizers.SGD()


def test_multi_optimizer_build_and_apply_errors():
    w1, w2 = _scoped(lamina, "dense_1", [[1.0]]), _scoped(lamina, "dense_2", [[1.0]])
    sgd = optimizers.SGD()
    # A map whose entries bypassed __setitem__ (as Keras's own test does) is checked at build.
    smuggled = optimizers.OptimizerMap(sgd)
    smuggled._optimizer_map = {".*dense_1/.*": optimizers.LossScaleOptimizer(optimizers.SGD()),
                               ".*dense_2/.*": optimizers.MultiOptimizer(lambda v: sgd)}
    with pytest.raises(ValueError, match=r"MultiOptimizer: the optimizer of variable 'dense_1/kernel' cannot be "
                                         "LossScaleOptimizer"):
        optimizers.MultiOptimizer(smuggled).build([w1])
    with pytest.raises(ValueError, match=r"variable 'dense_2/kernel' cannot be MultiOptimizer"):
        optimizers.MultiOptimizer(smuggled).build([w2])
    with pytest.raises(ValueError, match=r"variable 'dense_1/kernel' must be a lamina optimizer.*Received: 'sgd'"):
        optimizers.MultiOptimizer(lambda variable: "sgd").build([w1])
    with pytest.raises(TypeError, match=r"MultiOptimizer.build expects torch tensors.*index 1: list"):
        optimizers.MultiOptimizer(lambda variable: sgd).build([w1, [1.0]])
    with pytest.raises(TypeError, match=r"OptimizerMap: the variable has no `path`.*Parameter of shape \(2,\)"):
        optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd)).build([torch.nn.Parameter(torch.ones(2))])
    unbuilt = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD()))
    with pytest.raises(ValueError, match="must already be built"):
        unbuilt.apply([torch.ones(1, 1)])
    with pytest.raises(ValueError, match=r"MultiOptimizer.step\(\) needs the variables first"):
        unbuilt.step()
    unbuilt.build([w1, w2])
    with pytest.raises(ValueError, match="Received 1 gradients and 2 variables"):
        unbuilt.apply([torch.ones(1, 1)], [w1])
    with pytest.raises(ValueError, match="MultiOptimizer: unknown variable at index 1"):
        unbuilt.apply([torch.ones(1, 1)] * 2, [w1, _scoped(lamina, "dense_3", [[1.0]])])
    with pytest.raises(ValueError, match="No gradients provided"):
        unbuilt.apply([None, None], [w1, w2])


# ------------------------------------------------------------------------------------------ jit_compile
COMPILED_CASES = {
    "schedule_free": lambda o: o.ScheduleFreeAdamW(0.01, warmup_steps=2, weight_decay=0.01, use_ema=True),
    "multi": lambda o: o.MultiOptimizer(o.OptimizerMap(o.SGD(0.05, momentum=0.9),
                                                       {".*dense_1/.*": o.ScheduleFreeAdamW(0.01, warmup_steps=2),
                                                        ".*dense_2/.*": o.Adam(0.01)})),
}


@pytest.mark.parametrize("case", sorted(COMPILED_CASES))
def test_compiled_fit_matches_eager_without_graph_breaks(monkeypatch, rng, case):
    """The optimizers' scalars stay in the graph (no ``.tolist()``/Python-number graph breaks or recompiles)."""
    from torch._dynamo.utils import counters

    from lamina.training import compiled

    monkeypatch.setattr(compiled, "BACKEND", "aot_eager")
    x, y = _model_data(rng, conv=False)
    eager, jitted = _dense_model(lamina), _dense_model(lamina)
    jitted.set_weights(eager.get_weights())
    eager.compile(optimizer=COMPILED_CASES[case](optimizers), loss="mse")
    jitted.compile(optimizer=COMPILED_CASES[case](optimizers), loss="mse", jit_compile=True)
    eager.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    counters.clear()
    jitted.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    assert sum(counters["graph_break"].values()) == 0 and counters["stats"]["unique_graphs"] == 1
    for a, b in zip(jitted.get_weights(), eager.get_weights()):
        _assert_close(a, b)
