"""Recurrent layers: SimpleRNN, LSTM, GRU, their cells, RNN, StackedRNNCells, Bidirectional, TimeDistributed."""

from lamina.layers.rnn.base_rnn import RNN
from lamina.layers.rnn.gru import GRU, GRUCell
from lamina.layers.rnn.lstm import LSTM, LSTMCell
from lamina.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell

__all__ = ["RNN", "SimpleRNN", "SimpleRNNCell", "LSTM", "LSTMCell", "GRU", "GRUCell"]
