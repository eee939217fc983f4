"""``lamina.backend``: Keras 3's ``keras.backend`` names, and Keras 2's backend functions against
fixtures made with tf_keras 2.21 (tests/data/backend/make_k_fixtures.py)."""

import json
import pathlib

import numpy as np
import pytest
import torch

import lamina
from lamina import backend as K
from tests.keras_reference import assert_close

FIXTURES = np.load(pathlib.Path(__file__).parent / "data" / "backend" / "k_functions.npz")
NAMES = sorted({key.split("/")[0] for key in FIXTURES.files})


def _argument(item):
    if isinstance(item, dict) and "array" in item:
        return torch.from_numpy(FIXTURES[item["array"]])
    if isinstance(item, list) and item and isinstance(item[0], dict):
        return [_argument(v) for v in item]
    return tuple(_argument(v) for v in item) if isinstance(item, list) else item


@pytest.mark.parametrize("name", NAMES)
def test_keras2_function_matches_tf_keras(name):
    recipe = json.loads(str(FIXTURES[f"{name}/recipe"]))
    args = [_argument(item) for item in recipe["args"]]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in recipe["kwargs"].items()}
    result = getattr(K, recipe["function"])(*args, **kwargs)
    expected = FIXTURES[f"{name}/output"]
    assert tuple(np.shape(result)) == expected.shape, f"{name}: shape {tuple(np.shape(result))} != {expected.shape}"
    assert_close(torch.as_tensor(np.asarray(result, dtype="float64")), expected.astype("float64"), 1e-5, name)


def test_keras3_backend_names_match_keras(keras):
    assert K.backend() == "torch"
    assert (K.floatx(), K.epsilon(), K.image_data_format()) == \
        (keras.backend.floatx(), keras.backend.epsilon(), keras.backend.image_data_format())
    for dtype in ("int8", "float16", "bool"):
        assert K.is_float_dtype(dtype) == keras.backend.is_float_dtype(dtype)
        assert K.is_int_dtype(dtype) == keras.backend.is_int_dtype(dtype)
    assert K.is_keras_tensor(lamina.Input((2,))) and not K.is_keras_tensor(torch.ones(2))
    K.set_epsilon(1e-4)
    assert lamina.config.epsilon() == 1e-4
    K.set_epsilon(1e-7)
    assert [K.get_uid("x"), K.get_uid("x"), K.get_uid("y")] == [1, 2, 1]


def test_variables_and_values():
    v = K.variable(np.ones((2, 3)), name="v")
    assert isinstance(v, torch.nn.Parameter) and v.dtype == torch.float32 and v.name == "v"
    K.set_value(v, np.full((2, 3), 2.0))
    K.update_add(v, 1.0)
    assert np.array_equal(K.get_value(v), np.full((2, 3), 3.0)) and K.eval(v).shape == (2, 3)
    K.moving_average_update(v, np.zeros((2, 3)), 0.9)
    assert np.allclose(K.get_value(v), 2.7)
    assert K.int_shape(v) == (2, 3) and K.ndim(v) == 2 and K.count_params(v) == 6
    assert K.int_shape(K.placeholder(shape=(None, 4))) == (None, 4)
    assert K.cast_to_floatx([1, 2]).dtype == np.float32


def test_learning_phase_follows_the_call():
    class Phase(lamina.layers.Layer):
        def call(self, inputs, training=None):
            return K.in_train_phase(inputs * 0, inputs, training=training) + K.learning_phase()

    layer = Phase()
    x = torch.ones(2)
    assert torch.equal(layer(x), x) and torch.equal(layer(x, training=True), x * 0 + 1)


def test_gradients_function_and_control_flow():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (grad,) = K.gradients(K.sum(K.square(x)), [x])
    assert torch.equal(grad, 2 * x.detach())
    inputs = lamina.Input((3,))
    f = K.function([inputs], [K.sum(inputs, axis=-1)])
    assert np.allclose(f([np.ones((2, 3), "float32")])[0], [3.0, 3.0])
    assert torch.equal(K.switch(torch.tensor([True, False]), torch.ones(2, 2), torch.zeros(2, 2)),
                       torch.tensor([[1.0, 1.0], [0.0, 0.0]]))
    assert float(K.foldl(lambda a, b: a + b, torch.arange(5.0))) == 10.0
    last, outputs, states = K.rnn(lambda x_t, s: (x_t + s[0], [x_t + s[0]]), torch.ones(2, 4, 3),
                                  [torch.zeros(2, 3)])
    assert outputs.shape == (2, 4, 3) and torch.equal(last, torch.full((2, 3), 4.0))


def test_batch_dot_errors_name_the_problem():
    with pytest.raises(ValueError, match="rank < 2"):
        K.batch_dot(torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match="axis 0"):
        K.batch_dot(torch.ones(2, 3), torch.ones(2, 3), axes=0)
    with pytest.raises(ValueError, match="1D"):
        K.softmax(torch.ones(3))
