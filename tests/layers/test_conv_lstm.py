"""ConvLSTM1D/2D/3D and ConvLSTMCell against Keras 3 (torch backend): convolution arguments x return
flags, masks, initial and carried states, dropout (Keras's masks injected), gradients, configs."""

import itertools

import numpy as np
import pytest
import torch
from keras_reference import assert_close, assert_matches_keras, to_numpy

import lamina
from lamina.layers import RNN, ConvLSTM1D, ConvLSTM2D, ConvLSTMCell

BATCH, TIME, FILTERS = 2, 3, 3


def sequences(rng, rank, data_format, size=6, channels=2, batch=BATCH, time=TIME):
    spatial = (size, size - 1, size - 2)[:rank]
    per_step = (*spatial, channels) if data_format == "channels_last" else (channels, *spatial)
    return rng.standard_normal((batch, time, *per_step)).astype("float32")


def outputs(value):
    return [to_numpy(v) for v in value] if isinstance(value, (list, tuple)) else to_numpy(value)


@pytest.mark.parametrize("padding,strides,data_format,return_sequences,return_state", list(itertools.product(
    ["same", "valid"], [1, 2], ["channels_last", "channels_first"], [False, True], [False, True])))
def test_conv_lstm2d_grid_matches_keras(keras, rng, padding, strides, data_format, return_sequences, return_state):
    inputs = sequences(rng, 2, data_format)
    kwargs = dict(filters=FILTERS, kernel_size=(3, 2), padding=padding, strides=strides, data_format=data_format,
                  return_sequences=return_sequences, return_state=return_state)
    layer, _, actual = assert_matches_keras(keras, "ConvLSTM2D", kwargs, inputs)
    eager = [tuple(t.shape) for t in actual] if return_state else tuple(actual.shape)
    assert layer.compute_output_shape(inputs.shape) == eager
    symbolic = layer(lamina.Input(batch_shape=(None, *inputs.shape[1:])))
    assert [t.shape for t in symbolic] == [(None, *s[1:]) for s in eager] if return_state \
        else symbolic.shape == (None, *eager[1:])


@pytest.mark.parametrize("class_name,rank,kwargs", [
    ("ConvLSTM1D", 1, dict(kernel_size=3, padding="same", dilation_rate=2, go_backwards=True)),
    ("ConvLSTM1D", 1, dict(kernel_size=2, strides=2, data_format="channels_first", return_sequences=True)),
    ("ConvLSTM2D", 2, dict(kernel_size=(2, 3), padding="same", dilation_rate=(2, 1), go_backwards=True,
                           return_sequences=True)),
    ("ConvLSTM2D", 2, dict(kernel_size=3, use_bias=False, unit_forget_bias=False, activation="relu",
                           recurrent_activation="hard_sigmoid", unroll=True)),
    ("ConvLSTM2D", 2, dict(kernel_size=2, recurrent_activation="softmax", data_format="channels_first",
                           return_sequences=True)),  # not elementwise: activated gate by gate, as Keras
    ("ConvLSTM3D", 3, dict(kernel_size=2, padding="same", strides=2, return_state=True)),
    ("ConvLSTM3D", 3, dict(kernel_size=(1, 2, 3), data_format="channels_first", return_sequences=True)),
])
def test_ranks_and_arguments_match_keras(keras, rng, class_name, rank, kwargs):
    inputs = sequences(rng, rank, kwargs.get("data_format", "channels_last"))
    assert_matches_keras(keras, class_name, dict(filters=FILTERS, **kwargs), inputs)


@pytest.mark.parametrize("return_sequences,go_backwards,data_format", list(itertools.product(
    [False, True], [False, True], ["channels_last", "channels_first"])))
def test_masks_and_initial_state_match_keras(keras, rng, return_sequences, go_backwards, data_format):
    inputs = sequences(rng, 2, data_format, batch=3, time=5)
    mask = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 0, 0]], dtype=bool)
    kwargs = dict(filters=2, kernel_size=3, padding="same", data_format=data_format, return_state=True,
                  return_sequences=return_sequences, go_backwards=go_backwards)
    state_shape = (3, 6, 5, 2) if data_format == "channels_last" else (3, 2, 6, 5)
    initial = [rng.standard_normal(state_shape).astype("float32") for _ in range(2)]
    for call_kwargs in ({"mask": mask}, {"initial_state": initial}, {"mask": mask, "initial_state": initial}):
        assert_matches_keras(keras, "ConvLSTM2D", kwargs, inputs, call_kwargs)


def test_stateful_matches_keras_over_calls(keras, rng):
    chunks = [sequences(rng, 2, "channels_last", size=5) for _ in range(3)]
    kwargs = dict(filters=2, kernel_size=3, padding="same", stateful=True, return_sequences=True)
    layer, keras_layer = ConvLSTM2D(**kwargs), keras.layers.ConvLSTM2D(**kwargs)
    keras_layer(chunks[0])
    layer(chunks[0])
    layer.set_weights([np.random.default_rng(2).standard_normal(w.shape).astype("float32") * 0.5
                       for w in keras_layer.get_weights()])
    keras_layer.set_weights(layer.get_weights())
    layer.reset_states()
    keras_layer.reset_states()
    for chunk in chunks:
        assert_close(layer(chunk), keras_layer(chunk))
    assert [tuple(s.shape) for s in layer.states] == [(BATCH, 5, 4, 2)] * 2
    layer.reset_states()
    keras_layer.reset_states()
    assert_close(layer(chunks[1]), keras_layer(chunks[1]))
    with pytest.raises(ValueError, match="batch size"):
        layer(sequences(rng, 2, "channels_last", size=5, batch=3))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_dropout_uses_keras_masks_per_gate(keras, rng, data_format):
    """Keras draws four masks per sequence (one per gate) of the step input's and the state's full
    shape; injected into Keras's cell, lamina's masks give Keras's training output."""
    inputs = sequences(rng, 2, data_format, time=4)
    kwargs = dict(filters=2, kernel_size=3, padding="same", data_format=data_format, return_sequences=True,
                  dropout=0.4, recurrent_dropout=0.3, seed=7)
    layer, keras_layer, _ = assert_matches_keras(keras, "ConvLSTM2D", kwargs, inputs)
    twin = ConvLSTM2D(**kwargs)
    twin(inputs)
    input_masks, recurrent_masks = twin.cell.make_dropout_masks(BATCH, torch.as_tensor(inputs), True)
    assert input_masks.shape == (4, BATCH, *inputs.shape[2:])
    assert len({tuple(m.flatten().tolist()) for m in input_masks}) == 4  # one mask per gate
    keras_layer.cell._dropout_mask = list(input_masks.unbind(0))
    keras_layer.cell._recurrent_dropout_mask = list(recurrent_masks.unbind(0))
    expected = keras_layer(inputs, training=True)
    assert_close(layer(inputs, training=True), expected)
    assert_close(layer(inputs), keras_layer(inputs))  # inference: no dropout


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_gradients_match_keras(keras, rng, data_format):
    inputs = sequences(rng, 2, data_format)
    kwargs = dict(filters=2, kernel_size=3, padding="same", strides=1, data_format=data_format,
                  return_sequences=True)
    layer, keras_layer, _ = assert_matches_keras(keras, "ConvLSTM2D", kwargs, inputs)
    weights = np.random.default_rng(3).standard_normal(outputs(layer(inputs)).shape).astype("float32")
    gradients = []
    for model, variables in ((keras_layer, [w.value for w in keras_layer.trainable_weights]),
                             (layer, layer.trainable_weights)):
        x = torch.tensor(inputs, requires_grad=True)
        loss = (model(x) * torch.as_tensor(weights)).sum()
        gradients.append(torch.autograd.grad(loss, [x, *variables]))
    (keras_x, *keras_w), (x_grad, *w_grads) = gradients
    assert_close(x_grad, keras_x, 1e-5, "input gradient")
    slots = layer._weight_slots()
    assert_close([spec.layout.to_keras(g) for (_, _, spec), g in zip(slots, w_grads)], list(keras_w), 1e-5,
                 "weight gradients")


@pytest.mark.parametrize("data_format,kernel_size,dropout", [("channels_last", 2, 0.0),
                                                             ("channels_first", 3, 0.3)])
def test_float64_gradcheck(rng, data_format, kernel_size, dropout):
    layer = ConvLSTM2D(2, kernel_size, padding="same", data_format=data_format, return_sequences=True,
                       dtype="float64", dropout=dropout, recurrent_dropout=dropout, seed=1)
    inputs = torch.tensor(sequences(rng, 2, data_format, size=4), dtype=torch.float64, requires_grad=True)
    layer(inputs)
    training = dropout > 0

    def run(x, *weights):
        layer.cell._generator = None  # the same dropout masks at every evaluation
        with torch.nn.utils.stateless._reparametrize_module(layer, dict(zip(names, weights))):
            return layer(x, training=training)

    names = [name for name, _ in layer.named_parameters()]
    parameters = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    assert torch.autograd.gradcheck(run, (inputs, *parameters), eps=1e-6, atol=1e-6)


def test_rnn_of_conv_lstm_cell_is_conv_lstm(rng):
    inputs = torch.as_tensor(sequences(rng, 2, "channels_last"))
    layer = ConvLSTM2D(FILTERS, 3, strides=2, return_state=True)
    expected = layer(inputs)
    rnn = RNN(ConvLSTMCell(2, FILTERS, 3, strides=2), return_state=True)
    rnn(inputs)
    rnn.set_weights(layer.get_weights())
    assert_close(list(rnn(inputs)), list(expected))
    assert rnn.compute_output_shape(tuple(inputs.shape)) == [tuple(t.shape) for t in expected]
    step, states = layer.cell(inputs[:, 0], layer.get_initial_state(BATCH))
    assert tuple(step.shape) == (BATCH, 2, 2, FILTERS) and len(states) == 2


def test_symbolic_variable_time_and_functional_model(rng):
    inputs = lamina.Input((None, 6, 5, 2))
    outputs_ = ConvLSTM2D(FILTERS, 3, padding="same", return_sequences=True)(inputs)
    assert outputs_.shape == (None, None, 6, 5, FILTERS)
    model = lamina.Model(inputs, ConvLSTM1D(2, 2)(lamina.layers.Reshape((-1, 6, 5 * FILTERS))(outputs_)))
    assert model.output_shape == (None, 5, 2)
    for time in (2, 4):
        assert tuple(model(sequences(rng, 2, "channels_last", time=time)).shape) == (BATCH, 5, 2)


def test_configs_cross_load_with_keras(keras, rng):
    inputs = sequences(rng, 2, "channels_first")
    kwargs = dict(filters=2, kernel_size=(3, 1), strides=(2, 1), data_format="channels_first",
                  recurrent_activation="hard_sigmoid", kernel_regularizer="l2", dropout=0.1, seed=3,
                  return_state=True)
    layer, keras_layer, _ = assert_matches_keras(keras, "ConvLSTM2D", kwargs, inputs)
    from_keras = ConvLSTM2D.from_config(keras_layer.get_config())
    from_keras(inputs)
    from_keras.set_weights(keras_layer.get_weights())
    assert_close(outputs(from_keras(inputs)), outputs(keras_layer(inputs)))
    to_keras = keras.layers.ConvLSTM2D.from_config(layer.get_config())
    to_keras(inputs)
    to_keras.set_weights(layer.get_weights())
    assert_close(outputs(layer(inputs)), outputs(to_keras(inputs)))
    assert [w.shape for w in layer.get_weights()] == [(3, 1, 2, 8), (3, 1, 2, 8), (8,)]
    # Keras's cell config has no `rank`: kernel_size gives it
    cell = ConvLSTMCell.from_config(keras_layer.cell.get_config())
    assert cell.rank == 2 and set(cell.get_config()) == set(keras_layer.cell.get_config())
    forget = ConvLSTM2D(2, 3)
    forget(sequences(rng, 2, "channels_last"))
    assert np.array_equal(forget.get_weights()[2], np.repeat([0.0, 1.0, 0.0, 0.0], 2))


@pytest.mark.parametrize("make,match", [
    (lambda: ConvLSTM2D(2, 3, strides=2, dilation_rate=2), r"strides > 1.*dilation_rate > 1"),
    (lambda: ConvLSTM2D(2, 3, padding="causal"), r"ConvLSTMCell.*padding.*causal"),
    (lambda: ConvLSTM2D(0, 3), r"ConvLSTMCell.*filters.*positive.*filters=0"),
    (lambda: ConvLSTMCell(4, 2, 3), r"ConvLSTMCell.*rank.*1, 2 or 3.*rank=4"),
    (lambda: ConvLSTM2D(2, 3).build((None, 3, None, 5, 2)), r"static spatial"),
    (lambda: ConvLSTM2D(2, 5).build((None, 3, 4, 4, 2)), r"non-positive spatial size"),
    (lambda: ConvLSTM2D(2, 3)(np.zeros((1, 2, 5, 5), "float32")), r"expected ndim=5"),
    (lambda: ConvLSTM2D(2, 3, padding="same")(np.zeros((1, 2, 5, 5, 1), "float32"),
                                              initial_state=[np.zeros((1, 5, 5, 3))] * 2),
     r"initial_state.*\(1, 5, 5, 2\)"),
])
def test_errors_name_the_layer_and_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_other_spatial_size_after_build_is_refused(rng):
    layer = ConvLSTM2D(2, 3)
    layer(sequences(rng, 2, "channels_last"))
    with pytest.raises(ValueError, match="was built for sequences of shape"):
        layer(sequences(rng, 2, "channels_last", size=7))


def test_bidirectional_conv_lstm_matches_keras(keras, rng):
    inputs = sequences(rng, 2, "channels_last")
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
    kwargs = dict(layer=keras.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True))
    keras_layer = keras.layers.Bidirectional(**kwargs)
    keras_layer(inputs)
    generator = np.random.default_rng(1)
    keras_layer.set_weights([generator.standard_normal(w.shape).astype("float32") * 0.5
                             for w in keras_layer.get_weights()])
    layer = lamina.layers.Bidirectional(ConvLSTM2D(2, 3, padding="same", return_sequences=True))
    layer(inputs)
    layer.set_weights(keras_layer.get_weights())
    for call_kwargs in ({}, {"mask": mask}):
        assert_close(layer(inputs, **call_kwargs), keras_layer(inputs, **call_kwargs))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_no_layout_copies_in_the_step_loop(rng, data_format):
    """channels_last data reaches the convolutions as channels_last views: nothing is copied but the
    stacked outputs (an odd kernel size needs no explicit padding)."""
    layer = ConvLSTM2D(4, 3, padding="same", data_format=data_format, return_sequences=True)
    inputs = torch.as_tensor(sequences(rng, 2, data_format, time=4))
    layer(inputs)
    if data_format == "channels_last":
        assert layer.cell.kernel.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.profiler.profile() as profiler:
        layer(inputs)
    names = [event.name for event in profiler.events()]
    assert [n for n in names if n in ("aten::copy_", "aten::contiguous", "aten::clone", "aten::pad")] == []
    assert names.count("aten::convolution") == 1 + 4  # the inputs of all steps at once, then one per step
