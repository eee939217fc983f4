"""EinsumDense against Keras 3 (torch backend): the equations of Keras's docs and of MultiHeadAttention,
ellipses on either side, bias_axes variants, activations, LoRA; shapes, configs, fans and gradients."""

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, assert_matches_keras

EQUATIONS = [
    # Keras's docs
    ("ab,bc->ac", 64, "c", (3, 32)),
    ("abc,cd->abd", (None, 64), "d", (3, 5, 32)),
    ("...x,xy->...y", 6, "y", (3, 4, 5, 7)),
    ("...b,bc->...c", 4, "c", (2, 5)),
    # MultiHeadAttention's projections (query/key/value to heads, heads back), rank 3 and 4
    ("abc,cde->abde", (None, 2, 3), "de", (2, 4, 5)),
    ("abcd,cde->abe", (None, 5), "e", (2, 4, 2, 3)),
    ("abcd,def->abcef", (None, None, 2, 3), "ef", (2, 3, 4, 5)),
    ("abcde,def->abcf", (None, None, 4), "f", (2, 3, 4, 2, 3)),
    # GroupQueryAttention's
    ("bqm,muh->bquh", (None, 4, 2), "uh", (2, 3, 5)),
    ("bquh,uhm->bqm", (None, 5), "m", (2, 3, 4, 2)),
    # bias on some output axes only, on a free axis, none; contraction not at the end; ellipsis on the right
    ("abc,cde->abde", (None, 2, 3), "d", (2, 4, 5)),
    ("abc,cde->abde", (None, 2, 3), "e", (2, 4, 5)),
    ("abc,cd->abd", (3, 4), "bd", (2, 3, 5)),
    ("abc,cd->abd", (None, 4), None, (2, 3, 5)),
    ("abc,bcd->ad", 4, "d", (2, 3, 5)),
    ("abc,cbd->ad", 4, "d", (2, 3, 5)),
    ("ab...,bc->ac...", (4,), "c", (2, 3, 5, 6)),
    ("abc...,cd->abd...", (3, 2), "bd", (2, 3, 4, 5)),
]


@pytest.mark.parametrize("equation,output_shape,bias_axes,input_shape", EQUATIONS)
def test_equations(keras, equation, output_shape, bias_axes, input_shape):
    inputs = np.random.default_rng(0).standard_normal(input_shape).astype("float32")
    layer, keras_layer, output = assert_matches_keras(
        keras, "EinsumDense", {"equation": equation, "output_shape": output_shape, "bias_axes": bias_axes,
                               "activation": "tanh"}, inputs)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    symbolic = layer.compute_output_shape((None,) + input_shape[1:])
    # Keras's symbolic shape keeps None for sizes output_shape leaves open; lamina takes them from the input,
    # as Keras's docs show: with eager outputs, the two agree where Keras knows the size.
    assert symbolic == (None,) + tuple(output.shape[1:])
    expected = keras_layer.compute_output_shape((None,) + input_shape[1:])
    if not (equation.startswith("...") and len(input_shape) > 3):  # Keras's slip: the test below
        assert all(e is None or e == s for e, s in zip(expected[1:], symbolic[1:]))


def test_reversed_left_ellipsis_shape_is_keras_s_slip():
    """Keras 3.15 lists two elided leading axes in reverse in compute_output_shape ((None, 5, 4, 6) for
    (None, 4, 5, 7) below); lamina gives the eager shape."""
    layer = lamina.layers.EinsumDense("...x,xy->...y", output_shape=6)
    assert layer.compute_output_shape((None, 4, 5, 7)) == (None, 4, 5, 6)
    assert tuple(layer(torch.ones(2, 4, 5, 7)).shape) == (2, 4, 5, 6)


@pytest.mark.parametrize("equation,output_shape,input_shape", [("ab,bc->ac", 5, (3, 4)),
                                                               ("abc,cde->abde", (None, 2, 3), (2, 4, 5))])
def test_lora(keras, equation, output_shape, input_shape):
    inputs = np.random.default_rng(1).standard_normal(input_shape).astype("float32")
    init = {"equation": equation, "output_shape": output_shape, "bias_axes": None, "lora_rank": 2, "lora_alpha": 3}
    layer, keras_layer, _ = assert_matches_keras(keras, "EinsumDense", init, inputs)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    assert [w.path.split("/")[-1] for w in layer.trainable_weights] == ["lora_kernel_a", "lora_kernel_b"]
    assert layer.get_config()["lora_rank"] == 2 and layer.get_config()["lora_alpha"] == 3
    torch.nn.functional.mse_loss(layer(inputs), torch.zeros(1)).backward()
    assert layer.kernel.grad is None and layer.lora_kernel_b.grad is not None
    late = lamina.layers.EinsumDense(equation, output_shape)
    late(inputs)
    late.enable_lora(1)
    assert tuple(late.lora_kernel_a.shape) == tuple(late.kernel.shape[:-1]) + (1,)


def test_variance_scaling_fans_come_from_the_equation():
    """A (dim, heads, key_dim) kernel has fan-in dim and fan-out heads * key_dim (Keras 3's rule), not the
    convolution reading of a 3-D shape."""
    layer = lamina.layers.EinsumDense("abc,cde->abde", (None, 8, 16), kernel_initializer="glorot_uniform")
    layer.build((None, 10, 64))
    limit = np.sqrt(6 / (64 + 8 * 16))
    kernel = layer.get_weights()[0]
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert layer.get_config()["kernel_initializer"]["config"]["input_axes"] is None  # the layer's own config


def test_gradcheck_float64():
    generator = torch.Generator().manual_seed(0)
    for equation, output_shape, bias_axes, shape in (("abc,cde->abde", (None, 2, 3), "d", (2, 3, 4)),
                                                     ("abc,cbd->ad", 2, "d", (2, 3, 4))):
        layer = lamina.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="tanh",
                                          dtype="float64")
        inputs = torch.randn(shape, dtype=torch.float64, generator=generator, requires_grad=True)
        layer(inputs)
        torch.nn.init.normal_(layer.bias)
        assert torch.autograd.gradcheck(layer, (inputs,))


def test_symbolic_and_config_round_trip(keras):
    inputs = lamina.Input((32, 128))
    layer = lamina.layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
    assert layer(inputs).shape == (None, 32, 64)
    keras_layer = keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
    keras_layer.build((None, 32, 128))
    rebuilt = lamina.layers.deserialize(keras.layers.serialize(keras_layer))
    rebuilt.set_weights(keras_layer.get_weights())
    data = torch.randn(2, 32, 128)
    assert_close(rebuilt(data), keras_layer(data))


@pytest.mark.parametrize("kwargs,match", [
    ({"equation": "ab->b", "output_shape": 2}, "invalid einsum equation"),
    ({"equation": "ab,bc->ac", "output_shape": (0,)}, "output_shape"),
    ({"equation": "ab,bc->ac", "output_shape": 2, "bias_axes": 3}, "bias_axes"),
    ({"equation": "ab,bc->ac", "output_shape": 2, "quantization_config": {"mode": "int8"}}, "quantization"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.layers.EinsumDense(**kwargs)


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape,match", [
    ("ab,bc->ac", 2, "d", (2, 3), "bias dimension 'd'"),
    ("abc,cd->abd", (4, 2), None, (2, 3, 5), "do not match at shared dimension"),
    ("ab,bc->ac", 2, None, (2, 3, 4), "rank 2"),
    ("ab,bcd->acd", (2,), None, (2, 3), "output_shape` must give 2 sizes"),
    ("abc,cd->abd", (None, None), None, (2, 3, 5), "unknown size"),
])
def test_bad_shapes(equation, output_shape, bias_axes, shape, match):
    with pytest.raises(ValueError, match=match):
        lamina.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes)(torch.ones(shape))
    if match == "rank 2":
        built = lamina.layers.EinsumDense(equation, output_shape)
        built(torch.ones(2, 3))
        with pytest.raises(ValueError, match="expected axis 1 of input shape to have value 3|incompatible"):
            built(torch.ones(2, 4))
