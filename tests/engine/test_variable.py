"""Layer weights are lamina Variables: torch.nn.Parameters that answer to Keras's Variable API."""

import copy
import io
import pickle

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _paths(model):
    return [weight.path for weight in model.weights]


def test_weights_are_parameters_with_keras_names_and_paths(keras):
    built = [lambda lib: lib.Sequential([lib.Input((3,)), lib.layers.Dense(2), lib.layers.BatchNormalization()])]

    def functional(lib):
        inputs = lib.Input((3,))
        hidden = lib.layers.Dense(2, name="d")(inputs)
        return lib.Model(inputs, lib.Sequential([lib.layers.Dense(1)], name="inner")(hidden))

    built.append(functional)
    for build in built:
        keras.utils.clear_session()
        lamina.utils.clear_session()
        reference, model = build(keras), build(lamina)
        assert _paths(model) == [v.path for v in reference.weights]
        assert [w.name for w in model.weights] == [v.name for v in reference.weights]
        assert [w.trainable for w in model.weights] == [v.trainable for v in reference.weights]
        assert all(isinstance(w, torch.nn.Parameter) for w in model.weights)


def test_value_assign_and_numpy_speak_keras_layouts():
    conv = layers.Conv2D(4, 3, name="conv")
    conv.build((None, 5, 5, 2))
    kernel = conv.kernel
    assert kernel.value is kernel and tuple(kernel.shape) == (4, 2, 3, 3)  # stored as PyTorch's conv weight
    assert kernel.numpy().shape == (3, 3, 2, 4)  # read in Keras's layout
    new = np.arange(72, dtype="float32").reshape(3, 3, 2, 4)
    kernel.assign(new)
    np.testing.assert_array_equal(conv.get_weights()[0], new)
    kernel.assign_add(np.ones((3, 3, 2, 4), "float32"))
    kernel.assign_sub(2.0)
    np.testing.assert_array_equal(kernel.numpy(), new - 1)
    with pytest.raises(ValueError, match=r"conv/kernel.*\(4, 2, 3, 3\).*\(3, 3, 2, 4\)"):
        kernel.assign(torch.zeros(4, 2, 3, 3))
    np.testing.assert_array_equal(np.asarray(kernel), kernel.numpy())


def test_assign_runs_outside_autograd_and_keeps_the_parameter():
    dense = layers.Dense(2)
    dense.build((None, 3))
    bias = dense.bias
    bias.assign(torch.ones(2, requires_grad=True) * 3)
    assert bias is dense.bias and bias.requires_grad and bias.grad_fn is None
    assert bias.numpy().tolist() == [3.0, 3.0]


def test_trainable_follows_the_layer():
    dense = layers.Dense(2)
    dense.build((None, 3))
    assert dense.kernel.trainable
    dense.trainable = False
    assert not dense.kernel.trainable and not dense.kernel.requires_grad
    dense.trainable = True
    norm = layers.BatchNormalization()
    norm.build((None, 3))
    assert norm.gamma.trainable and not norm.moving_mean.trainable


def test_regularizer_and_constraint_are_readable():
    dense = layers.Dense(2, kernel_regularizer="l2", kernel_constraint="non_neg")
    dense.build((None, 3))
    assert isinstance(dense.kernel.regularizer, lamina.regularizers.L2)
    assert isinstance(dense.kernel.constraint, lamina.constraints.NonNeg)
    assert dense.bias.regularizer is None


def test_state_dict_copies_and_pickles_keep_variables():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2), layers.BatchNormalization()])
    assert list(model.state_dict()) == ["0.kernel", "0.bias", "1.gamma", "1.beta", "1.moving_mean",
                                        "1.moving_variance"]
    assert all(type(value) is torch.Tensor for value in model.state_dict().values())
    clone = copy.deepcopy(model)
    restored = pickle.loads(pickle.dumps(model))
    for other in (clone, restored):
        assert [w.path for w in other.weights] == _paths(model)
        assert all(isinstance(w, lamina.variables.Variable) for w in other.weights)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    model.load_state_dict(torch.load(buffer))
    model.double()
    assert all(isinstance(w, lamina.variables.Variable) for w in model.weights)  # buffers too
    assert model.layers[1].moving_mean.dtype == torch.float64 and model.layers[1].moving_mean.path


def test_a_functional_model_copied_or_pickled_runs_and_trains_on_its_own():
    inputs = lamina.Input((3,))
    left, right = layers.Dense(4, activation="relu")(inputs), layers.Dense(4)(inputs)
    outputs = layers.Dense(2)(layers.Concatenate()([left, layers.Add()([left, right])]))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_allclose(other.predict(x, verbose=0), expected, rtol=1e-6)
        np.testing.assert_allclose(other(x, training=True).detach().numpy(), expected, rtol=1e-6)
        other.fit(x, np.ones((5, 2), "float32"), verbose=0)
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)  # the original is untouched
        assert not np.allclose(other.predict(x, verbose=0), expected)


def test_a_plain_pytorch_optimizer_trains_variables():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(1)])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.get_weights()[0].copy()
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    assert not np.allclose(model.get_weights()[0], before)
