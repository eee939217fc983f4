"""The small fixes of the architecture issue: each one a behaviour that used to be wrong."""

import numpy as np
import torch

import lamina
from keras_reference import assert_close
from lamina import layers


def test_callback_list_append_registers_the_hooks():
    class Counter(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

    callbacks = lamina.callbacks.CallbackList([], model=None, epochs=1)
    counter = Counter()
    callbacks.append(counter)
    callbacks.on_train_batch_end(0, {})
    assert counter.batches == 1 and counter.params == callbacks.params


def test_sequential_passes_an_explicit_mask_on(keras, rng):
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    keras_model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4)])
    model = lamina.Sequential([lamina.Input((5, 3)), layers.LSTM(4)])
    model.set_weights(keras_model.get_weights())
    expected = keras_model(x, mask=mask)
    assert_close(model(x, mask=mask), expected)
    assert not np.allclose(model(x).detach().numpy(), expected.detach().numpy())


def test_a_cell_subclass_that_redefines_its_step_is_not_fused():
    class Doubled(layers.LSTMCell):
        def recurrence(self, projected, states, recurrent_mask=None):
            output, new_states = super().recurrence(projected, states, recurrent_mask)
            return output * 2, new_states

    class Renamed(layers.LSTMCell):
        pass

    assert layers.LSTMCell.fusable and Renamed.fusable and not Doubled.fusable
    x = torch.randn(2, 3, 4)
    plain, doubled = layers.RNN(layers.LSTMCell(2)), layers.RNN(Doubled(2))
    plain(x)
    doubled(x)
    doubled.set_weights(plain.get_weights())
    assert_close(doubled(x), plain(x) * 2)


def test_sequential_input_dtype_from_the_first_layer():
    model = lamina.Sequential([layers.Embedding(10, 2, input_shape=(3,)), layers.Flatten()])
    assert model.inputs[0].dtype == "int64"
    assert lamina.Sequential([layers.Dense(2, input_shape=(3,))]).inputs[0].dtype == "float32"
