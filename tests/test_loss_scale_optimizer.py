"""LossScaleOptimizer: dynamic loss scaling, differential against Keras 3's."""

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close


def _pair(keras, **kwargs):
    start = np.array([1.0, -2.0, 0.5], "float32")
    keras_variable = keras.Variable(start)
    lamina_variable = torch.nn.Parameter(torch.from_numpy(start.copy()))
    keras_optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.1), **kwargs)
    keras_optimizer.build([keras_variable])
    lamina_optimizer = lamina.optimizers.LossScaleOptimizer(lamina.optimizers.Adam(0.1), **kwargs)
    return (keras_variable, keras_optimizer), (lamina_variable, lamina_optimizer)


@pytest.mark.parametrize("gradients", [
    [[0.5, 1.0, -1.0]] * 3,
    [[0.5, 1.0, -1.0], [np.inf, 0.0, 0.0], [0.1, np.nan, 0.2], [0.3, 0.3, 0.3]],
])
def test_matches_keras_with_finite_and_non_finite_gradients(keras, gradients):
    (kv, ko), (lv, lo) = _pair(keras, initial_scale=8.0, dynamic_growth_steps=2)
    for gradient in gradients:
        scaled = np.array(gradient, "float32") * 8.0
        ko.apply([keras.ops.convert_to_tensor(scaled * float(ko.dynamic_scale.numpy()) / 8.0)], [kv])
        lo.apply([torch.from_numpy(scaled * float(lo.dynamic_scale) / 8.0)], [lv])
        assert float(lo.dynamic_scale) == pytest.approx(float(ko.dynamic_scale.numpy()))
        assert int(lo.iterations) == int(ko.iterations.numpy())
        assert_close(lv.detach().numpy(), kv.numpy(), 1e-6, "variable")


def test_scale_loss_and_config_round_trip(keras):
    (_, ko), (_, lo) = _pair(keras, initial_scale=4.0)
    assert float(lo.scale_loss(torch.tensor(2.0))) == float(ko.scale_loss(keras.ops.convert_to_tensor(2.0)))
    config = lo.get_config()
    assert set(config) == set(ko.get_config()) == {"name", "inner_optimizer", "initial_scale", "dynamic_growth_steps"}
    restored = lamina.optimizers.deserialize(lamina.optimizers.serialize(lo))
    assert isinstance(restored.inner_optimizer, lamina.optimizers.Adam) and restored.initial_scale == 4.0


def test_unsupported_arguments_name_the_inner_optimizer():
    with pytest.raises(ValueError, match="clipnorm.*inner_optimizer"):
        lamina.optimizers.LossScaleOptimizer(lamina.optimizers.SGD(), clipnorm=1.0)
