"""Keras guide "Working with RNNs": built-in RNN layers, states, cells, bidirectional and stateful layers."""

import json

import keras
import numpy as np
from keras import layers

model = keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.LSTM(128))
model.add(layers.Dense(10))
model.build((None, 12))
model.summary()

model = keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.GRU(256, return_sequences=True))
model.add(layers.SimpleRNN(128))
model.add(layers.Dense(10))
gru_output = model(np.random.randint(0, 1000, (2, 7)))

encoder_vocab, decoder_vocab = 1000, 2000
encoder_input = layers.Input(shape=(None,))
encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(encoder_input)
output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoder_embedded)
encoder_state = [state_h, state_c]
decoder_input = layers.Input(shape=(None,))
decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(decoder_input)
decoder_output = layers.LSTM(64, name="decoder")(decoder_embedded, initial_state=encoder_state)
output = layers.Dense(10)(decoder_output)
seq2seq = keras.Model([encoder_input, decoder_input], output)
seq2seq.summary()

paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)
lstm_layer = layers.LSTM(64, stateful=True)
output = lstm_layer(paragraph1)
output = lstm_layer(paragraph2)
output = lstm_layer(paragraph3)
lstm_layer.reset_states()

cell_rnn = keras.Sequential([keras.Input((5, 8)), layers.RNN(layers.LSTMCell(16))])
bidirectional = keras.Sequential()
bidirectional.add(layers.Input(shape=(5, 10)))
bidirectional.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True)))
bidirectional.add(layers.Bidirectional(layers.LSTM(32)))
bidirectional.add(layers.Dense(10))
bidirectional.summary()

batch_size = 32
units = 64
output_size = 10


def build_model():
    lstm = keras.layers.LSTM(units)
    return keras.models.Sequential([lstm, keras.layers.BatchNormalization(), keras.layers.Dense(output_size)])


x_train = np.random.uniform(size=(64, 28, 28)).astype("float32")  # instead of keras.datasets.mnist
y_train = np.random.randint(0, 10, 64)
model = build_model()
model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="sgd",
              metrics=["accuracy"])
history = model.fit(x_train, y_train, validation_data=(x_train[:32], y_train[:32]), batch_size=batch_size,
                    epochs=1, verbose=2)
print("RESULT", json.dumps({"gru_output": list(gru_output.shape), "seq2seq": seq2seq.count_params(),
                            "cell_rnn": list(cell_rnn.output_shape), "bidirectional": bidirectional.count_params(),
                            "history": sorted(history.history), "stateful": list(output.shape)}))
