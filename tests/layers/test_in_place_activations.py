"""Convolutions and Dense apply relu/sigmoid/tanh to their own outputs in place (``activations.in_place_form``):
the values and every gradient are those of the out-of-place activation on the same layer without one."""

import pytest
import torch

import lamina
from lamina import activations, layers


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("make, shape", [
    (lambda **kw: layers.Dense(3, **kw), (4, 5)),
    (lambda **kw: layers.Dense(3, use_bias=False, **kw), (2, 3, 5)),
    (lambda **kw: layers.Conv1D(2, 3, padding="causal", dilation_rate=2, **kw), (2, 9, 3)),
    (lambda **kw: layers.Conv2D(4, 3, padding="same", **kw), (2, 6, 6, 3)),
    (lambda **kw: layers.Conv2D(2, 3, data_format="channels_first", **kw), (2, 3, 6, 6)),
    (lambda **kw: layers.Conv3D(2, 2, use_bias=False, **kw), (2, 4, 4, 4, 3)),
    (lambda **kw: layers.SeparableConv2D(2, 3, **kw), (2, 6, 6, 3)),
    (lambda **kw: layers.DepthwiseConv2D(3, depth_multiplier=2, **kw), (2, 6, 6, 3)),
    (lambda **kw: layers.Conv2DTranspose(2, 3, strides=2, padding="same", **kw), (2, 4, 4, 3)),  # cropped
    (lambda **kw: layers.Conv1DTranspose(2, 3, strides=2, **kw), (2, 5, 3)),
    (lambda **kw: layers.LocallyConnected2D(2, 3, **kw), (2, 5, 5, 3)),
])
def test_an_activation_applied_in_place_gives_the_out_of_place_values_and_gradients(make, shape, activation):
    lamina.utils.set_random_seed(3)
    layer, plain = make(activation=activation), make()
    x = torch.randn(shape)
    layer(x), plain(x)
    plain.set_weights(layer.get_weights())
    assert layer._activation is activations.in_place_form(activations.get(activation))
    ours_x, theirs_x = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours = layer(ours_x)
    theirs = getattr(torch, activation)(plain(theirs_x))
    assert torch.equal(ours, theirs)
    upstream = torch.randn_like(ours)
    ours.backward(upstream)
    theirs.backward(upstream)
    assert torch.equal(ours_x.grad, theirs_x.grad)
    for mine, reference in zip(layer.trainable_weights, plain.trainable_weights):
        assert torch.equal(mine.grad, reference.grad)
    with torch.inference_mode():
        assert torch.equal(layer(x), getattr(torch, activation)(plain(x)))


def test_only_keras_default_relu_sigmoid_and_tanh_have_an_in_place_form():
    assert activations.in_place_form(activations.relu) is torch.relu_
    assert activations.in_place_form(activations.sigmoid) is torch.sigmoid_
    assert activations.in_place_form(activations.tanh) is torch.tanh_
    for name in ("linear", "softmax", "elu", "gelu", "relu6", "silu", "hard_sigmoid"):
        assert activations.in_place_form(activations.get(name)) is None
    layer = layers.Dense(2, activation="softmax")
    assert layer._activation is activations.softmax
