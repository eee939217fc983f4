"""RNN with cells, StackedRNNCells, Bidirectional, TimeDistributed and masks from models, against Keras 3."""

import itertools

import numpy as np
import pytest
import torch
from keras_reference import assert_close, to_numpy

import lamina
from lamina import layers
from lamina.testing import run_layer_test

BATCH, TIME, FEATURES, UNITS = 3, 5, 4, 3
RIGHT_MASK = np.arange(TIME)[None, :] < np.array([5, 2, 3])[:, None]
HOLES_MASK = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [0, 1, 1, 0, 1]], dtype=bool)


def randomize(keras_object, seed=0):
    generator = np.random.default_rng(seed)
    keras_object.set_weights([generator.standard_normal(w.shape).astype("float32") * 0.5
                              for w in keras_object.get_weights()])
    return keras_object.get_weights()


def compare(keras_layer, lamina_layer, inputs, **call_kwargs):
    keras_layer(inputs, **call_kwargs)
    lamina_layer(inputs, **call_kwargs)
    lamina_layer.set_weights(randomize(keras_layer))
    expected = keras_layer(inputs, **call_kwargs)
    actual = lamina_layer(inputs, **call_kwargs)
    if isinstance(expected, (list, tuple)):
        expected, actual = [to_numpy(e) for e in expected], list(actual)
    assert_close(actual, expected)
    assert set(lamina_layer.get_config()) == set(keras_layer.get_config())
    return actual


@pytest.mark.parametrize("merge_mode,return_sequences,mask,inner", list(itertools.product(
    ["concat", "sum", "mul", "ave", None], [False, True], [None, RIGHT_MASK, HOLES_MASK], ["LSTM", "GRU"])))
def test_bidirectional_matches_keras(keras, rng, merge_mode, return_sequences, mask, inner):
    inputs = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    make = lambda module: module.layers.Bidirectional(  # noqa: E731
        getattr(module.layers, inner)(UNITS, return_sequences=return_sequences, return_state=True),
        merge_mode=merge_mode)
    compare(make(keras), make(lamina), inputs, **({} if mask is None else {"mask": mask}))


def test_bidirectional_initial_state_and_backward_layer(keras, rng):
    inputs = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    states = [rng.standard_normal((BATCH, UNITS)).astype("float32") for _ in range(4)]
    make = lambda module: module.layers.Bidirectional(  # noqa: E731
        module.layers.LSTM(UNITS, return_sequences=True),
        backward_layer=module.layers.SimpleRNN(UNITS, go_backwards=True, return_sequences=True))
    compare(make(keras), make(lamina), inputs)
    make = lambda module: module.layers.Bidirectional(module.layers.LSTM(UNITS))  # noqa: E731
    compare(make(keras), make(lamina), inputs, initial_state=states)
    with pytest.raises(ValueError, match="different `go_backwards`"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
    with pytest.raises(ValueError, match="same value for attribute \"return_sequences\""):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="invalid merge_mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")


@pytest.mark.parametrize("cells", ["LSTMCell", "GRUCell", "SimpleRNNCell", "stacked"])
def test_rnn_with_cells_matches_keras(keras, rng, cells):
    inputs = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")

    def make(module):
        if cells == "stacked":
            cell = module.layers.StackedRNNCells([module.layers.LSTMCell(UNITS), module.layers.GRUCell(2)])
        else:
            cell = getattr(module.layers, cells)(UNITS)
        return module.layers.RNN(cell, return_sequences=True, return_state=True)

    for mask in (None, RIGHT_MASK, HOLES_MASK):
        compare(make(keras), make(lamina), inputs, **({} if mask is None else {"mask": mask}))
    assert make(lamina).cell.get_config().keys() == make(keras).cell.get_config().keys()


class MinimalCell(lamina.layers.Layer):
    """A user cell as in Keras's RNN docs: state_size and call(inputs, states)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        output = inputs @ self.kernel + states[0] @ self.recurrent_kernel
        return output, [output]


def test_rnn_with_user_cell(rng):
    inputs = torch.as_tensor(rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32"))
    layer = layers.RNN(MinimalCell(UNITS), return_sequences=True)
    outputs = layer(inputs, mask=torch.as_tensor(RIGHT_MASK))
    kernel, recurrent = layer.cell.kernel, layer.cell.recurrent_kernel
    h = torch.zeros(BATCH, UNITS)
    for t in range(TIME):
        h = torch.where(torch.as_tensor(RIGHT_MASK)[:, t, None], inputs[:, t] @ kernel + h @ recurrent, h)
        assert_close(outputs[:, t], h)
    stacked = layers.RNN([MinimalCell(2), layers.LSTMCell(UNITS)])
    assert tuple(stacked(inputs).shape) == (BATCH, UNITS)


@pytest.mark.parametrize("class_name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("source", ["masking", "embedding"])
def test_masks_from_models_match_keras(keras, rng, class_name, source):
    if source == "masking":
        data = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")
        data[~RIGHT_MASK] = 0.0
        data[0, 1] = 0.0  # a hole inside a sequence: the step loop path
        first = lambda module: module.layers.Masking(0.0)  # noqa: E731
        shape = (TIME, FEATURES)
    else:
        data = (rng.integers(1, 9, (BATCH, TIME)) * RIGHT_MASK).astype("int64")
        first = lambda module: module.layers.Embedding(9, FEATURES, mask_zero=True)  # noqa: E731
        shape = (TIME,)

    def functional(module):
        inputs = module.Input(shape, dtype="int64" if source == "embedding" else "float32")
        hidden = first(module)(inputs)
        sequences = getattr(module.layers, class_name)(UNITS, return_sequences=True)(hidden)
        return module.Model(inputs, getattr(module.layers, class_name)(UNITS, go_backwards=True)(sequences))

    def sequential(module):
        return module.Sequential([module.Input(shape, dtype="int64" if source == "embedding" else "float32"),
                                  first(module), module.layers.Bidirectional(
                                      getattr(module.layers, class_name)(UNITS, return_sequences=True))])

    for make in (functional, sequential):
        keras_model, lamina_model = make(keras), make(lamina)
        lamina_model.set_weights(randomize(keras_model))
        assert_close(lamina_model(data), keras_model(data))


def test_time_distributed_dense_matches_keras(keras, rng):
    inputs = rng.standard_normal((BATCH, TIME, 2, FEATURES)).astype("float32")
    make = lambda module: module.layers.TimeDistributed(module.layers.Dense(UNITS))  # noqa: E731
    compare(make(keras), make(lamina), inputs)
    compare(make(keras), make(lamina), inputs[:, :, 0])
    with pytest.raises(ValueError, match="at least 3"):
        make(lamina)(torch.zeros(2, 3))


def test_time_distributed_conv2d_matches_keras(keras, rng):
    if not hasattr(layers, "Conv2D"):
        pytest.skip("Conv2D is not in lamina yet")
    inputs = rng.standard_normal((2, 3, 6, 6, 2)).astype("float32")
    make = lambda module: module.layers.TimeDistributed(module.layers.Conv2D(4, 3, strides=2, padding="same"))  # noqa
    compare(make(keras), make(lamina), inputs)


def test_time_distributed_passes_mask(rng):
    model = lamina.Sequential([lamina.Input((TIME, FEATURES)), layers.Masking(0.0),
                               layers.TimeDistributed(layers.Dense(UNITS)), layers.LSTM(UNITS)])
    data = rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    data[~RIGHT_MASK] = 0.0
    assert_close(model(data)[1], model(data[1:2, :2])[0])  # row 1 has 2 valid steps


LAYER_CASES = [
    (layers.SimpleRNN, {"units": UNITS}, (BATCH, TIME, FEATURES), (BATCH, UNITS)),
    (layers.LSTM, {"units": UNITS, "return_sequences": True}, (BATCH, TIME, FEATURES), (BATCH, TIME, UNITS)),
    (layers.GRU, {"units": UNITS, "reset_after": False}, (BATCH, TIME, FEATURES), (BATCH, UNITS)),
    (layers.RNN, {"cell": layers.LSTMCell(UNITS)}, (BATCH, TIME, FEATURES), (BATCH, UNITS)),
    (layers.RNN, {"cell": layers.StackedRNNCells([layers.GRUCell(2), layers.SimpleRNNCell(UNITS)])},
     (BATCH, TIME, FEATURES), (BATCH, UNITS)),
    (layers.Bidirectional, {"layer": layers.GRU(UNITS)}, (BATCH, TIME, FEATURES), (BATCH, 2 * UNITS)),
    (layers.TimeDistributed, {"layer": layers.Dense(UNITS)}, (BATCH, TIME, FEATURES), (BATCH, TIME, UNITS)),
]


@pytest.mark.parametrize("layer_cls,kwargs,input_shape,output_shape", LAYER_CASES)
def test_run_layer_test(layer_cls, kwargs, input_shape, output_shape):
    run_layer_test(layer_cls, kwargs, input_shape=input_shape, expected_output_shape=output_shape,
                   supports_masking=True)


@pytest.mark.parametrize("cell_cls,output_shape", [(layers.SimpleRNNCell, (BATCH, UNITS)),
                                                   (layers.LSTMCell, (BATCH, UNITS)),
                                                   (layers.GRUCell, (BATCH, UNITS))])
def test_cells_step_match_keras(keras, rng, cell_cls, output_shape):
    inputs = rng.standard_normal((BATCH, FEATURES)).astype("float32")
    keras_cell = getattr(keras.layers, cell_cls.__name__)(UNITS)
    cell = cell_cls(UNITS)
    states = [rng.standard_normal((BATCH, UNITS)).astype("float32") for _ in range(2 if cell_cls is layers.LSTMCell
                                                                                    else 1)]
    keras_cell(inputs, states)
    cell(inputs, states)
    cell.set_weights(randomize(keras_cell))
    expected_output, expected_states = keras_cell(inputs, states)
    output, new_states = cell(inputs, states)
    assert tuple(output.shape) == output_shape
    assert_close([output, *new_states], [to_numpy(expected_output), *[to_numpy(s) for s in expected_states]])


def test_encoder_decoder_initial_state_in_functional_model(keras, rng):
    def make(module):
        encoder_inputs, decoder_inputs = module.Input((TIME, FEATURES)), module.Input((6, 2))
        _, h, c = module.layers.LSTM(UNITS, return_state=True)(encoder_inputs)
        outputs = module.layers.LSTM(UNITS, return_sequences=True)(decoder_inputs, initial_state=[h, c])
        return module.Model([encoder_inputs, decoder_inputs], outputs)

    data = [rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32"),
            rng.standard_normal((BATCH, 6, 2)).astype("float32")]
    keras_model, lamina_model = make(keras), make(lamina)
    lamina_model.set_weights(randomize(keras_model))
    assert lamina_model.output_shape == (None, 6, UNITS)
    assert_close(lamina_model(data), keras_model(data))


@pytest.mark.parametrize("layer_name", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("return_state", [True, False])
def test_bidirectional_fused_pair_equals_separate_directions(layer_name, merge_mode, return_sequences,
                                                             return_state, monkeypatch):
    """Both directions in one fused kernel call give the numbers (and gradients) of two separate calls."""
    import lamina

    torch.manual_seed(0)
    layer = lamina.layers.Bidirectional(getattr(lamina.layers, layer_name)(
        5, return_sequences=return_sequences, return_state=return_state), merge_mode=merge_mode)
    x = torch.randn(3, 7, 4, requires_grad=True)
    layer(x)
    assert layer._directions_fusable(training=False)

    def run():
        x.grad = None
        result = layer(x)
        flat = [t for t in (result if isinstance(result, (list, tuple)) else [result])]
        sum(t.square().sum() for t in flat).backward()
        return [t.detach().clone() for t in flat], x.grad.clone()

    fused_outputs, fused_grad = run()
    monkeypatch.setattr(type(layer), "_directions_fusable", lambda self, training: False)
    separate_outputs, separate_grad = run()
    assert len(fused_outputs) == len(separate_outputs)
    for a, b in zip(fused_outputs, separate_outputs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fused_grad, separate_grad, rtol=1e-5, atol=1e-6)
