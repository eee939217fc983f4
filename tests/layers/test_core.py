"""Core layers against Keras 3: Dense, Embedding, Activation, Identity, Masking, Lambda."""

import itertools

import numpy as np
import pytest
import torch
from keras_reference import assert_close, assert_matches_keras

import lamina
from lamina import layers
from lamina.testing import run_layer_test

ACTIVATIONS = [None, "relu", "tanh", "sigmoid", "softmax", "gelu", "elu", "selu", "swish", "softplus"]


def _floats(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _ids(shape, high, seed=0, zero_fraction=0.3):
    ids = np.random.default_rng(seed).integers(1, high, shape)
    ids[np.random.default_rng(seed + 1).random(shape) < zero_fraction] = 0
    return ids


# ---------------------------------------------------------------- Dense
@pytest.mark.parametrize("shape,activation,use_bias", list(itertools.product(
    [(4, 3), (2, 5, 3), (2, 3, 4, 6), (1, 2, 2, 2, 3)], ACTIVATIONS, [True, False])))
def test_dense_matches_keras(keras, shape, activation, use_bias):
    assert_matches_keras(keras, "Dense", {"units": 5, "activation": activation, "use_bias": use_bias}, _floats(shape))


@pytest.mark.parametrize("rank,shape", list(itertools.product([1, 2, 4], [(4, 6), (2, 3, 6)])))
def test_dense_lora_matches_keras(keras, rank, shape):
    lamina_layer, keras_layer, _ = assert_matches_keras(keras, "Dense", {"units": 3, "lora_rank": rank}, _floats(shape))
    assert [w.shape for w in lamina_layer.get_weights()] == [tuple(w.shape) for w in keras_layer.get_weights()]
    assert lamina_layer.get_config()["lora_rank"] == rank


@pytest.mark.parametrize("rank,alpha", [(1, 3.0), (2, 0.5), (4, 8)])
def test_dense_enable_lora_alpha_matches_keras(keras, rank, alpha):
    x = _floats((3, 5))
    keras_layer, lamina_layer = keras.layers.Dense(4), layers.Dense(4)
    keras_layer.build((None, 5))
    lamina_layer.build((None, 5))
    keras_layer.enable_lora(rank, lora_alpha=alpha, b_initializer="random_normal")
    lamina_layer.enable_lora(rank, lora_alpha=alpha)
    lamina_layer.set_weights(keras_layer.get_weights())
    assert_close(lamina_layer(x), keras_layer(x))
    assert lamina_layer.get_config()["lora_alpha"] == keras_layer.get_config()["lora_alpha"]


def test_dense_lora_alpha_argument_scales_delta():
    """Keras 3.15 drops a constructor ``lora_alpha`` at build (a bug); lamina applies it as documented."""
    layer = layers.Dense(3, lora_rank=2, lora_alpha=6)
    x = _floats((4, 5))
    layer(x)
    kernel, bias, a, b = [_floats(w.shape, seed=i) for i, w in enumerate(layer.get_weights())]
    layer.set_weights([kernel, bias, a, b])
    assert_close(layer(x), x @ (kernel + 3.0 * a @ b) + bias)


def test_dense_lora_freezes_kernel_and_trains_factors():
    layer = layers.Dense(3)
    layer(_floats((2, 4)))
    layer.enable_lora(2)
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(3,), (4, 2), (2, 3)]
    assert [tuple(w.shape) for w in layer.non_trainable_weights] == [(4, 3)]  # stored in Keras's (in, units) layout
    assert [n for n, _ in layer.named_parameters()] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    layer.trainable = True
    assert not layer.kernel.requires_grad
    np.testing.assert_array_equal(layer.get_weights()[3], 0)  # B starts at zero: output unchanged


@pytest.mark.parametrize("kwargs,match", [
    ({"units": 0}, "units"), ({"units": 2.5}, "units"), ({"units": 2, "quantization_config": "int8"}, "quantization")])
def test_dense_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Dense(**kwargs)


def test_quantize_says_lamina_does_not_provide_it():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2, name="d")])
    before = model.get_weights()
    for target, call in ((model, lambda: model.quantize("int8")), (model.layers[0], lambda: model.layers[0].quantize(
            "int4", type_check=False))):
        with pytest.raises(NotImplementedError, match=rf"'{target.name}': quantize\(mode='int\d'\) is Keras's "
                                                      "post-training quantization, which lamina does not provide"):
            call()
    assert all((a == b).all() for a, b in zip(model.get_weights(), before))


def test_dense_lora_errors():
    with pytest.raises(ValueError, match="isn't built"):
        layers.Dense(2).enable_lora(2)
    layer = layers.Dense(2, kernel_constraint="non_neg")
    layer.build((None, 3))
    with pytest.raises(ValueError, match="kernel_constraint"):
        layer.enable_lora(2)
    layer = layers.Dense(2, lora_rank=1)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="already enabled"):
        layer.enable_lora(2)


def test_dense_input_checks_and_first_layer_input_dim():
    layer = layers.Dense(2)
    layer(_floats((2, 3)))
    with pytest.raises(ValueError, match="axis -1"):
        layer(lamina.Input((4,)))
    with pytest.raises(ValueError, match="min_ndim=2"):
        layers.Dense(2)(_floats((3,)))
    model = lamina.Sequential([layers.Dense(4, input_dim=3), layers.Dense(2)])
    assert model.output_shape == (None, 2)


def test_dense_regularizers_and_activity_loss_match_keras(keras):
    kwargs = {"units": 3, "kernel_regularizer": "l2", "bias_regularizer": "l1", "activity_regularizer": "l2"}
    lamina_layer, keras_layer, _ = assert_matches_keras(keras, "Dense", kwargs, _floats((4, 5)))
    assert_close(sum(lamina_layer.losses), sum(keras_layer.losses))


@pytest.mark.parametrize("kwargs", [{"units": 3}, {"units": 2, "activation": "relu", "use_bias": False},
                                    {"units": 3, "lora_rank": 2}, {"units": 1, "kernel_regularizer": "l1"}])
def test_dense_layer_test(kwargs):
    run_layer_test(layers.Dense, kwargs, input_shape=(2, 3, 4), expected_output_shape=(2, 3, kwargs["units"]),
                   expected_num_trainable_weights=(2 if kwargs.get("use_bias", True) else 1) + ("lora_rank" in kwargs))


# ---------------------------------------------------------------- Embedding
@pytest.mark.parametrize("shape,mask_zero,lora_rank", list(itertools.product(
    [(5,), (3, 4), (2, 3, 4), (2, 2, 2, 3)], [False, True], [None, 1, 3])))
def test_embedding_matches_keras(keras, shape, mask_zero, lora_rank):
    kwargs = {"input_dim": 7, "output_dim": 4, "mask_zero": mask_zero, "lora_rank": lora_rank}
    ids = _ids(shape, 7)
    lamina_layer, keras_layer, output = assert_matches_keras(keras, "Embedding", kwargs, ids)
    keras_output = keras_layer(ids)
    keras_mask = getattr(keras_output, "_keras_mask", None)
    mask = getattr(output, "_keras_mask", None)
    assert (mask is None) == (keras_mask is None)
    if mask is not None:
        np.testing.assert_array_equal(mask.numpy(), keras_mask.cpu().numpy())
    assert [w.shape for w in lamina_layer.get_weights()] == [tuple(w.shape) for w in keras_layer.get_weights()]


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_embedding_index_dtypes(keras, dtype):
    assert_matches_keras(keras, "Embedding", {"input_dim": 9, "output_dim": 3}, _ids((2, 5), 9).astype(dtype))


def test_embedding_weights_argument_and_enable_lora_match_keras(keras):
    matrix = _floats((6, 3))
    lamina_layer = layers.Embedding(6, 3, weights=matrix)
    keras_layer = keras.layers.Embedding(6, 3, weights=matrix)
    np.testing.assert_array_equal(lamina_layer.get_weights()[0], matrix)
    np.testing.assert_array_equal(layers.Embedding(6, 3, weights=[matrix]).get_weights()[0], matrix)
    keras_layer.enable_lora(2, lora_alpha=5, b_initializer="random_normal")
    lamina_layer.enable_lora(2, lora_alpha=5)
    lamina_layer.set_weights(keras_layer.get_weights())
    ids = _ids((3, 4), 6)
    assert_close(lamina_layer(ids), keras_layer(ids))
    assert len(lamina_layer.trainable_weights) == 2 and len(lamina_layer.non_trainable_weights) == 1


@pytest.mark.parametrize("ids", [[[0, 7]], [[-1, 2]], [[100]]])
def test_embedding_out_of_range_raises(ids):
    layer = layers.Embedding(7, 2, name="words")
    with pytest.raises(ValueError, match=r"Layer 'words'.*\[0, 7\)"):
        layer(torch.tensor(ids))


def test_embedding_mask_survives_repeated_calls_and_input_length():
    layer = layers.Embedding(5, 2, mask_zero=True)
    ids = torch.tensor([[0, 1, 2]])
    for _ in range(3):
        np.testing.assert_array_equal(layer(ids)._keras_mask.numpy(), [[False, True, True]])
    model = lamina.Sequential([layers.Embedding(10, 4, input_length=6), layers.Flatten()])
    assert model.output_shape == (None, 24)


@pytest.mark.parametrize("kwargs,match", [({"input_dim": 0, "output_dim": 2}, "input_dim"),
                                          ({"input_dim": 3, "output_dim": -1}, "output_dim")])
def test_embedding_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Embedding(**kwargs)


@pytest.mark.parametrize("kwargs", [{"input_dim": 5, "output_dim": 3}, {"input_dim": 4, "output_dim": 2,
                                                                         "mask_zero": True, "lora_rank": 2}])
def test_embedding_layer_test(kwargs):
    run_layer_test(layers.Embedding, kwargs, input_shape=(2, 3), input_dtype="int64",
                   expected_output_shape=(2, 3, kwargs["output_dim"]))


# ---------------------------------------------------------------- Activation, Identity, Masking
@pytest.mark.parametrize("activation,shape", list(itertools.product(
    [a for a in ACTIVATIONS if a] + ["linear", "hard_sigmoid", "leaky_relu", "relu6", "mish"], [(3, 4), (2, 3, 5)])))
def test_activation_matches_keras(keras, activation, shape):
    lamina_layer, keras_layer, _ = assert_matches_keras(keras, "Activation", {"activation": activation},
                                                        _floats(shape))
    assert lamina_layer.get_config()["activation"] == keras_layer.get_config()["activation"]


@pytest.mark.parametrize("shape", [(3,), (2, 4), (2, 3, 4)])
def test_identity_matches_keras(keras, shape):
    assert_matches_keras(keras, "Identity", {}, _floats(shape))


@pytest.mark.parametrize("mask_value,shape", list(itertools.product([0.0, 1.5, -1.0], [(2, 5, 3), (2, 4, 3, 2)])))
def test_masking_matches_keras(keras, mask_value, shape):
    x = _floats(shape)
    x[:, 1] = mask_value
    x[0, -1] = mask_value
    x[1, 0, ..., 0] = mask_value  # partially equal: kept
    _, keras_layer, output = assert_matches_keras(keras, "Masking", {"mask_value": mask_value}, x)
    np.testing.assert_array_equal(output._keras_mask.numpy(), keras_layer(x)._keras_mask.cpu().numpy())


def test_masking_mask_reaches_the_next_layer():
    inputs = lamina.Input((4, 2))
    outputs = layers.Dense(3)(layers.Masking()(inputs))
    model = lamina.Model(inputs, outputs)
    x = _floats((2, 4, 2))
    x[0, 2] = 0
    np.testing.assert_array_equal(model(x)._keras_mask.numpy(), [[True, True, False, True], [True] * 4])


@pytest.mark.parametrize("cls,kwargs", [(layers.Activation, {"activation": "relu"}), (layers.Identity, {}),
                                        (layers.Masking, {"mask_value": 0.5})])
def test_simple_core_layer_test(cls, kwargs):
    run_layer_test(cls, kwargs, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4), supports_masking=True)


# ---------------------------------------------------------------- Lambda
@lamina.register_serializable(package="lamina_tests")
def double_plus(x, offset=0.0):
    return 2 * x + offset


@pytest.mark.parametrize("function,shape,expected", [
    (lambda x: x ** 2, (2, 3), (2, 3)), (lambda x: x.sum(-1), (2, 3, 4), (2, 3)),
    (lambda x: torch.cat([x, -x], dim=-1), (2, 3), (2, 6)), (lambda x: x.reshape(x.shape[0], -1), (2, 3, 4), (2, 12))])
def test_lambda_infers_output_shape(function, shape, expected):
    layer = layers.Lambda(function)
    assert tuple(layer(_floats(shape)).shape) == expected
    assert layer.compute_output_shape(shape) == expected
    assert layers.Lambda(function)(lamina.Input(shape[1:])).shape == (None,) + expected[1:]


def test_lambda_output_shape_mask_and_arguments():
    layer = layers.Lambda(double_plus, output_shape=(3,), arguments={"offset": 1.0},
                          mask=lambda inputs, mask: inputs[:, 0] > 0)
    x = _floats((4, 3))
    output = layer(x)
    assert_close(output, 2 * x + 1)
    np.testing.assert_array_equal(output._keras_mask.numpy(), x[:, 0] > 0)
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    assert layers.Lambda(double_plus, output_shape=lambda s: s[:1] + (7,)).compute_output_shape((2, 3)) == (2, 7)


def test_lambda_config_matches_keras(keras):
    for function in (double_plus, lambda x: x + 1):
        keras_config = keras.layers.Lambda(function, output_shape=(3,), arguments={"offset": 1.0}).get_config()
        config = layers.Lambda(function, output_shape=(3,), arguments={"offset": 1.0}).get_config()
        assert set(config) == set(keras_config)
        assert config["function"].keys() == keras_config["function"].keys()
        assert config["output_shape"] == keras_config["output_shape"]


def test_lambda_named_function_round_trip():
    layer = layers.Lambda(double_plus, output_shape=(3,), arguments={"offset": 2.0})
    restored = layers.deserialize(layers.serialize(layer))
    assert restored.function is double_plus and restored.get_config() == layer.get_config()
    assert layers.deserialize(layers.serialize(layers.Lambda(lamina.activations.relu))).function is \
        lamina.activations.relu


def test_lambda_bytecode_needs_safe_mode_false():
    offset = 3.0
    config = layers.serialize(layers.Lambda(lambda x, scale=2.0: x * scale + offset))
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.deserialize(config)
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.Lambda.from_config(config["config"])
    restored = layers.deserialize(config, safe_mode=False)
    assert_close(restored(torch.ones(2)), torch.full((2,), 5.0))


def test_lambda_loads_keras_configs(keras):
    keras_config = keras.layers.Lambda(keras.activations.relu).get_config()
    layer = layers.Lambda.from_config(keras_config)
    assert_close(layer(torch.tensor([-1.0, 2.0])), torch.tensor([0.0, 2.0]))
    keras_lambda = keras.layers.Lambda(lambda x: x * 3).get_config()
    assert_close(layers.Lambda.from_config(keras_lambda, safe_mode=False)(torch.ones(2)), torch.full((2,), 3.0))


def test_lambda_errors():
    with pytest.raises(ValueError, match="callable"):
        layers.Lambda(3)
    with pytest.raises(NotImplementedError, match="output_shape"):
        layers.Lambda(lambda x: x.numpy())(lamina.Input((3,)))


def test_lambda_layer_test():
    run_layer_test(layers.Lambda, {"function": double_plus, "arguments": {"offset": 1.0}}, input_shape=(2, 3),
                   expected_output_shape=(2, 3))
