"""A torch.optim optimizer passed to compile: PyTorch's update rule inside lamina's fit."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _data():
    generator = np.random.default_rng(0)
    x = generator.standard_normal((64, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")


def _model():
    lamina.utils.set_random_seed(0)
    return lamina.Sequential([layers.Input((3,)), layers.Dense(1)])


def test_fit_with_a_torch_optimizer_equals_the_hand_written_loop():
    x, y = _data()
    model = _model()
    reference = _model()
    model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), loss="mse")
    model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        for start in range(0, 64, 16):
            optimizer.zero_grad()
            prediction = reference(torch.from_numpy(x[start:start + 16]))
            torch.nn.functional.mse_loss(prediction, torch.from_numpy(y[start:start + 16])).backward()
            optimizer.step()
    for got, expected in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert model.optimizer.iterations == 12


def test_learning_rate_callbacks_reach_the_torch_param_groups():
    x, y = _data()
    model = _model()
    model.compile(optimizer=torch.optim.Adam(model.parameters(), lr=0.01), loss="mse")
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[lamina.callbacks.LearningRateScheduler(lambda epoch, lr: 0.001 * (epoch + 1))])
    assert model.optimizer.optimizer.param_groups[0]["lr"] == pytest.approx(0.002)


def test_a_torch_optimizer_must_hold_the_model_weights():
    model = _model()
    model.compile(optimizer=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), loss="mse")
    with pytest.raises(ValueError, match="does not hold 2 of the model's trainable weights"):
        model.fit(*_data(), verbose=0)


def test_saved_model_with_a_torch_optimizer_loads_uncompiled(tmp_path):
    x, y = _data()
    model = _model()
    model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss="mse")
    model.fit(x, y, verbose=0)
    path = tmp_path / "m.lamina"
    model.save(path)
    restored = lamina.models.load_model(path)
    assert not restored.compiled
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
