"""Optimizers and schedules vs Keras 3: five updates on the same variables and gradients, configs, errors."""

import numpy as np
import pytest
import torch

from lamina import optimizers
from lamina.optimizers import schedules

SHAPES = [(3, 4), (5,)]
STEPS = 5

SCHEDULES = {
    "exponential": ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5)),
    "exponential_staircase": ("ExponentialDecay",
                              dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5, staircase=True)),
    "piecewise": ("PiecewiseConstantDecay", dict(boundaries=[1, 3], values=[0.1, 0.05, 0.01])),
    "cosine": ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=4, alpha=0.1)),
    "cosine_warmup": ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=4, warmup_target=0.1,
                                          warmup_steps=2)),
    "inverse_time": ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=1, decay_rate=0.5)),
    "inverse_time_staircase": ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5,
                                                        staircase=True)),
    "polynomial": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=3, power=2.0)),
    "polynomial_cycle": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=2, cycle=True)),
    "restarts": ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=2)),
    "restarts_t_mul_1": ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3, t_mul=1.0,
                                                     m_mul=0.5, alpha=0.1)),
    "restarts_decaying": ("CosineDecayRestarts", dict(initial_learning_rate=0.05, first_decay_steps=1, t_mul=1.5,
                                                      m_mul=0.8, alpha=0.2)),
}

CASES = [
    ("SGD", {}),
    ("SGD", dict(learning_rate=0.1, momentum=0.9)),
    ("SGD", dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    ("RMSprop", {}),
    ("RMSprop", dict(momentum=0.5, centered=True)),
    ("RMSprop", dict(rho=0.8, centered=True, epsilon=1e-3)),
    ("Adam", {}),
    ("Adam", dict(learning_rate=0.01, amsgrad=True)),
    ("Adam", dict(beta_1=0.5, beta_2=0.9, epsilon=1e-3, weight_decay=0.1)),
    ("AdamW", {}),
    ("AdamW", dict(learning_rate=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adagrad", {}),
    ("Adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.5)),
    ("Adadelta", {}),
    ("Adadelta", dict(learning_rate=1.0, rho=0.5)),
    ("Adamax", {}),
    ("Adamax", dict(learning_rate=0.01, beta_2=0.9)),
    ("Nadam", {}),
    ("Nadam", dict(learning_rate=0.01, beta_1=0.5)),
    ("Ftrl", {}),
    ("Ftrl", dict(learning_rate=0.1, learning_rate_power=-0.7, l1_regularization_strength=0.01,
                  l2_regularization_strength=0.02, l2_shrinkage_regularization_strength=0.03, beta=0.1)),
    ("Lion", {}),
    ("Lion", dict(learning_rate=0.01, beta_1=0.5, beta_2=0.9)),
    ("SGD", dict(learning_rate=0.1, clipnorm=0.5)),
    ("Adam", dict(learning_rate=0.01, clipvalue=0.3)),
    ("RMSprop", dict(global_clipnorm=1.0)),
    ("SGD", dict(weight_decay=0.05, momentum=0.5)),
    ("Adam", dict(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=2)),
    ("SGD", dict(learning_rate=0.1, loss_scale_factor=4.0)),
    ("Adafactor", {}),
    ("Adafactor", dict(learning_rate=0.5, beta_2_decay=-0.5, epsilon_2=1e-2, clip_threshold=0.5)),
    ("Adafactor", dict(learning_rate=0.5, relative_step=False, weight_decay=0.01)),
    ("Lamb", {}),
    ("Lamb", dict(learning_rate=0.01, beta_1=0.5, beta_2=0.9, epsilon=1e-3, weight_decay=0.1)),
    ("Muon", {}),
    ("Muon", dict(learning_rate=0.02, nesterov=False, ns_steps=3, rms_rate=None, adam_lr_ratio=0.5,
                  weight_decay=0.1, adam_weight_decay=0.2)),
    ("Muon", dict(learning_rate=0.02, momentum=0.8, exclude_embeddings=False)),
]


def _data(rng, shapes=SHAPES, steps=STEPS):
    initial = [rng.standard_normal(shape).astype("float32") for shape in shapes]
    grads = [[rng.standard_normal(shape).astype("float32") for shape in shapes] for _ in range(steps)]
    return initial, grads


def _assert_close(actual, expected):
    """The project's float32 bar: max abs error <= 1e-5 * max(1, max |expected|)."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5 * max(1.0, float(np.max(np.abs(expected)))))


def step_both(keras, reference, ours, initial, grads):
    """Applies each step's gradients with Keras's ``reference`` and lamina's ``ours`` to copies of ``initial``,
    comparing the weights after every step."""
    keras_vars = [keras.Variable(w) for w in initial]
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in initial]
    for step_grads in grads:
        reference.apply_gradients([(torch.from_numpy(g), v) for g, v in zip(step_grads, keras_vars)])
        ours.apply_gradients([(torch.from_numpy(g), p) for g, p in zip(step_grads, params)])
        for p, v in zip(params, keras_vars):
            _assert_close(p.detach().numpy(), keras.ops.convert_to_numpy(v.value))
    assert int(ours.iterations) == len(grads)


def _run_both(keras, rng, name, kwargs, keras_kwargs=None):
    reference = getattr(keras.optimizers, name)(**(keras_kwargs or kwargs))
    ours = getattr(optimizers, name)(**kwargs)
    step_both(keras, reference, ours, *_data(rng))
    return reference, ours


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_updates_match_keras(keras, rng, name, kwargs):
    reference, ours = _run_both(keras, rng, name, kwargs)
    assert len(ours.variables) == len(reference.variables)
    for mine, theirs in zip(ours.variables, reference.variables):
        _assert_close(mine.numpy(), keras.ops.convert_to_numpy(theirs.value))
    config, expected = ours.get_config(), reference.get_config()
    config.pop("name"), expected.pop("name")
    assert config == expected


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_schedule_values_and_config_match_keras(keras, schedule):
    class_name, kwargs = SCHEDULES[schedule]
    reference = getattr(keras.optimizers.schedules, class_name)(**kwargs)
    ours = getattr(schedules, class_name)(**kwargs)
    for step in range(8):
        _assert_close(float(ours(step)), float(reference(step)))
    assert ours.get_config() == reference.get_config()
    assert schedules.serialize(ours) == keras.optimizers.schedules.serialize(reference)
    assert schedules.deserialize(schedules.serialize(ours)).get_config() == ours.get_config()


@pytest.mark.parametrize("name", ["Adam", "SGD"])
@pytest.mark.parametrize("schedule", ["exponential", "piecewise", "cosine_warmup"])
def test_updates_with_schedule_match_keras(keras, rng, name, schedule):
    class_name, kwargs = SCHEDULES[schedule]
    reference, ours = _run_both(
        keras, rng, name,
        dict(learning_rate=getattr(schedules, class_name)(**kwargs)),
        dict(learning_rate=getattr(keras.optimizers.schedules, class_name)(**kwargs)))
    _assert_close(float(ours.learning_rate), float(reference.learning_rate))
    assert optimizers.serialize(ours)["config"]["learning_rate"] == \
        keras.optimizers.serialize(reference)["config"]["learning_rate"]
    restored = optimizers.deserialize(optimizers.serialize(ours))
    assert isinstance(restored.learning_rate, torch.Tensor)
    assert restored.get_config()["learning_rate"] == ours.get_config()["learning_rate"]


@pytest.mark.parametrize("identifier", ["sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta", "adamax",
                                        "nadam", "ftrl", "lion", "Adam"])
def test_get_by_name_and_serialize_like_keras(keras, identifier):
    ours, reference = optimizers.get(identifier), keras.optimizers.get(identifier)
    assert type(ours).__name__ == type(reference).__name__
    mine, theirs = optimizers.serialize(ours), keras.optimizers.serialize(reference)
    mine["config"].pop("name"), theirs["config"].pop("name")
    # Keras-torch writes its backend module (keras.src.backend.torch...); lamina writes keras.optimizers.
    assert (mine["class_name"], mine["config"]) == (theirs["class_name"], theirs["config"])
    theirs["config"]["clipnorm"] = 2.0
    assert optimizers.deserialize(theirs).clipnorm == 2.0
    assert optimizers.get(ours) is ours


def _multi_adam_sgd():
    adam, sgd = optimizers.Adam(0.05), optimizers.SGD(0.1)
    return optimizers.MultiOptimizer(lambda variable: adam if variable.ndim == 2 else sgd)


@pytest.mark.parametrize("make,steps", [(lambda: optimizers.Adam(learning_rate=0.05), 300),
                                        (lambda: optimizers.ScheduleFreeAdamW(learning_rate=0.05), 1000),
                                        (_multi_adam_sgd, 300)], ids=["Adam", "ScheduleFreeAdamW", "MultiOptimizer"])
def test_plain_pytorch_loop_trains_linear(make, steps):
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    model = torch.nn.Linear(3, 1)
    opt = make()
    opt.build(model.parameters())
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3
    assert int(opt.iterations) == steps
    assert all(int(inner.iterations) == steps for inner in getattr(opt, "optimizers", []))
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_step_skips_variables_without_grad():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = optimizers.SGD(learning_rate=0.5)
    opt.build([a, b])
    a.grad = torch.ones(2)
    opt.step()
    assert torch.equal(a.detach(), torch.full((2,), 0.5)) and torch.equal(b.detach(), torch.ones(2))
    opt.zero_grad(set_to_none=False)
    assert torch.equal(a.grad, torch.zeros(2))


def test_learning_rate_is_settable_and_saved_in_variables():
    opt = optimizers.RMSprop(learning_rate=0.01)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == 0.5 and float(opt.variables[1]) == 0.5
    assert opt.get_config()["learning_rate"] == 0.5
    scheduled = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.1


def test_apply_with_none_gradient_warns_and_skips():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = optimizers.SGD(learning_rate=1.0)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([torch.ones(2), None], [a, b])
    assert torch.equal(b.detach(), torch.ones(2))
    opt.apply([torch.ones(2), torch.ones(2)])
    assert torch.equal(a.detach(), -torch.ones(2))


@pytest.mark.parametrize("make,match", [
    (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0), "Only one of"),
    (lambda: optimizers.SGD(momentum=1.5), "momentum"),
    (lambda: optimizers.Adam(learning_rate="fast"), "learning_rate"),
    (lambda: optimizers.Adam(bogus=1), "not recognized"),
    (lambda: optimizers.AdamW(weight_decay=None), "weight_decay"),
    (lambda: optimizers.Lion(beta_1=0.0), "beta_1"),
    (lambda: optimizers.Ftrl(learning_rate_power=0.5), "learning_rate_power"),
    (lambda: optimizers.Ftrl(l1_regularization_strength=-1.0), "l1_regularization_strength"),
    (lambda: optimizers.Adam(use_ema=True, ema_momentum=2.0), "ema_momentum"),
    (lambda: optimizers.Adam(gradient_accumulation_steps=2), "gradient_accumulation_steps"),
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1]), "boundaries"),
    (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
    (lambda: optimizers.get("nope"), "Unknown optimizer"),
    (lambda: optimizers.SGD().step(), "build"),
    (lambda: optimizers.SGD().apply([torch.ones(1)]), "built"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_unknown_variable_and_no_gradients_raise():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = optimizers.Adam()
    opt.build([a])
    with pytest.raises(ValueError, match="unknown variable"):
        opt.apply([torch.ones(2)], [b])
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply([None], [a])


@pytest.mark.parametrize("name,kwargs", [("Adafactor", {}), ("Muon", dict(learning_rate=0.02)),
                                         ("Muon", dict(learning_rate=0.02, exclude_layers=["lstm"])),
                                         ("Lamb", dict(learning_rate=0.01))])
def test_layer_weights_in_torch_layouts_train_as_in_keras(keras, rng, name, kwargs):
    """Conv and recurrent kernels are stored in PyTorch's layout; Adafactor factors Keras's rows and columns,
    Muon orthogonalizes Keras's matrix and skips the embedding."""
    import lamina

    def build(lib):
        inputs = lib.Input((6,))
        hidden = lib.layers.Embedding(10, 4)(inputs)
        hidden = lib.layers.Conv1D(3, 2)(hidden)
        hidden = lib.layers.LSTM(5)(hidden)
        return lib.Model(inputs, lib.layers.Dense(2)(hidden))

    reference, model = build(keras), build(lamina)
    model.set_weights(reference.get_weights())
    x, y = rng.integers(0, 10, (8, 6)), rng.standard_normal((8, 2)).astype("float32")
    for lib, net in ((keras, reference), (lamina, model)):
        net.compile(optimizer=getattr(lib.optimizers, name)(**kwargs), loss="mse")
        net.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        _assert_close(mine, theirs)
