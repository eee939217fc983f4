"""SimpleRNN, LSTM, GRU against Keras 3 (torch backend): flags, masks, states, fused vs step loop."""

import itertools
import warnings

import numpy as np
import pytest
import torch
from keras_reference import assert_close, to_numpy

import lamina
from lamina.layers import GRU, LSTM, RNN, SimpleRNN

LAYERS = ["SimpleRNN", "LSTM", "GRU"]
BATCH, TIME, FEATURES, UNITS = 3, 5, 4, 3


def make_mask(kind, rng):
    if kind is None:
        return None
    if kind == "right":
        lengths = np.array([5, 2, 3])
    else:  # holes anywhere, one row fully masked
        return np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [0, 1, 1, 0, 1]], dtype=bool)
    return np.arange(TIME)[None, :] < lengths[:, None]


def keras_pair(keras, class_name, kwargs, inputs, call_kwargs=None, seed=0):
    """(lamina layer, Keras layer, Keras output) with Keras's randomized weights copied into lamina."""
    call_kwargs = call_kwargs or {}
    keras_layer = getattr(keras.layers, class_name)(**kwargs)
    keras_layer(inputs, **call_kwargs)
    generator = np.random.default_rng(seed)
    keras_layer.set_weights([generator.standard_normal(w.shape).astype("float32") * 0.5
                             for w in keras_layer.get_weights()])
    expected = keras_layer(inputs, **call_kwargs)
    layer = getattr(lamina.layers, class_name)(**kwargs)
    layer(inputs, **call_kwargs)
    layer.set_weights(keras_layer.get_weights())
    assert set(layer.get_config()) == set(keras_layer.get_config())
    return layer, keras_layer, expected


@pytest.mark.parametrize("class_name,return_sequences,go_backwards,mask_kind", list(itertools.product(
    LAYERS, [False, True], [False, True], [None, "right", "holes"])))
def test_flags_and_masks_match_keras(keras, rng, class_name, return_sequences, go_backwards, mask_kind):
    inputs = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    mask = make_mask(mask_kind, rng)
    call_kwargs = {} if mask is None else {"mask": mask}
    kwargs = dict(units=UNITS, return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    layer, _, expected = keras_pair(keras, class_name, kwargs, inputs, call_kwargs)
    assert_close(list(layer(inputs, **call_kwargs)), [to_numpy(e) for e in expected])


@pytest.mark.parametrize("class_name,use_bias,unroll,activation", list(itertools.product(
    LAYERS, [True, False], [False, True], ["tanh", "relu"])))
def test_bias_unroll_activation_match_keras(keras, rng, class_name, use_bias, unroll, activation):
    inputs = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    mask = make_mask("right", rng)
    kwargs = dict(units=UNITS, use_bias=use_bias, unroll=unroll, activation=activation, return_sequences=True)
    for call_kwargs in ({}, {"mask": mask}):
        layer, _, expected = keras_pair(keras, class_name, kwargs, inputs, call_kwargs)
        assert_close(layer(inputs, **call_kwargs), expected)


@pytest.mark.parametrize("reset_after,recurrent_activation,go_backwards", list(itertools.product(
    [True, False], ["sigmoid", "hard_sigmoid"], [False, True])))
def test_gru_variants_match_keras(keras, rng, reset_after, recurrent_activation, go_backwards):
    inputs = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    kwargs = dict(units=UNITS, reset_after=reset_after, recurrent_activation=recurrent_activation,
                  go_backwards=go_backwards, return_sequences=True)
    for call_kwargs in ({}, {"mask": make_mask("right", rng)}, {"mask": make_mask("holes", rng)}):
        layer, _, expected = keras_pair(keras, "GRU", kwargs, inputs, call_kwargs)
        assert_close(layer(inputs, **call_kwargs), expected)


@pytest.mark.parametrize("class_name", LAYERS)
def test_initial_state_and_return_state(keras, rng, class_name):
    inputs = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    count = 2 if class_name == "LSTM" else 1
    initial = [rng.standard_normal((BATCH, UNITS)).astype("float32") for _ in range(count)]
    mask = make_mask("right", rng)
    for call_kwargs in ({"initial_state": initial}, {"initial_state": initial, "mask": mask}):
        layer, _, expected = keras_pair(keras, class_name, dict(units=UNITS, return_state=True), inputs, call_kwargs)
        assert_close(list(layer(inputs, **call_kwargs)), [to_numpy(e) for e in expected])


@pytest.mark.parametrize("class_name", LAYERS)
def test_stateful_matches_keras_over_calls(keras, rng, class_name):
    chunks = [rng.standard_normal((2, 3, FEATURES)).astype("float32") for _ in range(3)]
    kwargs = dict(units=UNITS, stateful=True, return_sequences=True)
    keras_layer = getattr(keras.layers, class_name)(**kwargs)
    keras_layer(chunks[0])
    weights = [w * 0 + np.random.default_rng(2).standard_normal(w.shape).astype("float32") * 0.5
               for w in keras_layer.get_weights()]
    keras_layer.set_weights(weights)
    keras_layer.reset_states()
    layer = getattr(lamina.layers, class_name)(**kwargs)
    layer(chunks[0])
    layer.set_weights(weights)
    layer.reset_states()
    for chunk in chunks:
        assert_close(layer(chunk), keras_layer(chunk))
    layer.reset_states()
    keras_layer.reset_states()
    assert_close(layer(chunks[1]), keras_layer(chunks[1]))
    with pytest.raises(ValueError, match="batch size"):
        layer(rng.standard_normal((4, 3, FEATURES)).astype("float32"))


def test_stateful_model_reset_and_batch_from_batch_input_shape(rng):
    layer = LSTM(UNITS, stateful=True, batch_input_shape=(2, None, FEATURES))
    model = lamina.Sequential([layer])
    x = torch.as_tensor(rng.standard_normal((2, 4, FEATURES)).astype("float32"))
    first = model(x)
    assert not torch.allclose(model(x), first)
    model.reset_states()
    assert_close(model(x), first)
    assert [tuple(s.shape) for s in layer.states] == [(2, UNITS), (2, UNITS)]
    with pytest.raises(ValueError, match="batch size must be static"):
        LSTM(UNITS, stateful=True)(lamina.Input((4, FEATURES)))


@pytest.mark.parametrize("class_name", LAYERS)
def test_fused_path_equals_step_loop(rng, class_name):
    layer = getattr(lamina.layers, class_name)(UNITS, return_sequences=True, return_state=True)
    inputs = torch.as_tensor(rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32"))
    layer(inputs)
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in layer.get_weights()])
    loop = getattr(lamina.layers, class_name)(UNITS, return_sequences=True, return_state=True, use_cudnn=False)
    loop(inputs)
    loop.set_weights(layer.get_weights())
    assert layer._fused_allowed(False) and not loop._fused_allowed(False)
    for go_backwards, mask in itertools.product([False, True], [None, make_mask("right", rng)]):
        layer.go_backwards = loop.go_backwards = go_backwards
        mask = None if mask is None else torch.as_tensor(mask)
        fused_out, loop_out = layer(inputs, mask=mask), loop(inputs, mask=mask)
        assert_close(list(fused_out), list(loop_out))
        grads = [torch.autograd.grad(out[0].square().sum(), net.cell.kernel)[0]
                 for out, net in ((layer(inputs, mask=mask), layer), (loop(inputs, mask=mask), loop))]
        assert_close(grads[0], grads[1], tolerance=1e-4)


@pytest.mark.parametrize("class_name,kwargs", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}),
                                               ("GRU", {"reset_after": False}),
                                               ("LSTM", {"recurrent_activation": "hard_sigmoid"})])
def test_gradcheck_float64(rng, class_name, kwargs):
    layer = getattr(lamina.layers, class_name)(2, return_sequences=True, dtype="float64", **kwargs)
    inputs = torch.as_tensor(rng.standard_normal((2, 3, 2)), dtype=torch.float64).requires_grad_()
    layer(inputs)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    weights = list(layer.parameters())
    assert torch.autograd.gradcheck(lambda x, *w: layer(x, mask=mask), (inputs, *weights))


def test_dropout_only_in_training(rng):
    inputs = torch.as_tensor(rng.standard_normal((8, TIME, FEATURES)).astype("float32"))
    for kwargs in ({"dropout": 0.5}, {"recurrent_dropout": 0.5}):
        layer = LSTM(UNITS, seed=1, **kwargs)
        assert torch.equal(layer(inputs), layer(inputs))
        assert not torch.allclose(layer(inputs, training=True), layer(inputs))
        layer(inputs, training=True).sum().backward()
    twin_a, twin_b = GRU(UNITS, dropout=0.5, seed=3), GRU(UNITS, dropout=0.5, seed=3)
    twin_a(inputs)
    twin_b(inputs)
    twin_b.set_weights(twin_a.get_weights())
    assert torch.equal(twin_a(inputs, training=True), twin_b(inputs, training=True))


def test_weights_layouts_and_unit_forget_bias():
    layer = LSTM(UNITS)
    layer(torch.zeros(1, 2, FEATURES))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (FEATURES, 4 * UNITS) and recurrent.shape == (UNITS, 4 * UNITS)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(UNITS), np.ones(UNITS), np.zeros(2 * UNITS)])
    gru = GRU(UNITS, reset_after=False)
    gru(torch.zeros(1, 2, FEATURES))
    assert [w.shape for w in gru.get_weights()] == [(FEATURES, 3 * UNITS), (UNITS, 3 * UNITS), (3 * UNITS,)]
    assert set(layer.state_dict()) == {"cell.kernel", "cell.recurrent_kernel", "cell.bias"}


def test_errors():
    with pytest.raises(ValueError, match=r"LSTMCell: the `units` argument must be a positive int. Received: units="):
        LSTM(0)
    with pytest.raises(ValueError, match=r"the `dropout` argument must be a float in \[0, 1\]. Received: dropout="):
        GRU(2, dropout=1.5)
    with pytest.raises(ValueError, match="expected ndim=3"):
        SimpleRNN(2)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="initial_state must be 2 tensor"):
        LSTM(2)(torch.zeros(2, 3, 4), initial_state=[torch.zeros(2, 2)])
    with pytest.raises(ValueError, match="mask must have shape"):
        LSTM(2)(torch.zeros(2, 3, 4), mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="use_cudnn must be one of"):
        LSTM(2, use_cudnn="yes")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        LSTM(2, reset_after=True)
    with pytest.raises(ValueError, match="cannot unroll"):
        LSTM(2, unroll=True)(lamina.Input((None, 3)))
    with pytest.raises(ValueError, match="state_size"):
        RNN(object())
    with pytest.raises(AttributeError, match="not stateful"):
        LSTM(2).reset_states()


def test_legacy_keras2_arguments_warn_and_translate():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = LSTM(output_dim=4, inner_activation="hard_sigmoid", init="zeros", inner_init="zeros",
                     forget_bias_init="zero", W_regularizer="l2", U_regularizer="l1", b_regularizer="l2",
                     dropout_W=0.1, dropout_U=0.2, consume_less="gpu")
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert len(messages) == 11 and "`output_dim` is deprecated; use `units` instead" in messages[0]
    config = layer.get_config()
    assert config["units"] == 4 and config["recurrent_activation"] == "hard_sigmoid"
    assert config["unit_forget_bias"] is False and config["dropout"] == 0.1 and config["recurrent_dropout"] == 0.2
    assert config["kernel_regularizer"]["class_name"] == "L2" and config["kernel_initializer"]["class_name"] == "Zeros"
    with pytest.raises(TypeError, match="pass only `units`"):
        SimpleRNN(units=3, output_dim=3)
    with pytest.raises(ValueError, match="unit_forget_bias"):
        LSTM(3, forget_bias_init="glorot_uniform")
    with pytest.raises(ValueError, match="replaced by `implementation`"):
        GRU(3, consume_less="fast")
