"""Recurrent layers: SimpleRNN, LSTM, GRU, ConvLSTM1D/2D/3D, their cells, RNN, StackedRNNCells, Bidirectional,
TimeDistributed."""

from lamina.layers.rnn.base_rnn import RNN
from lamina.layers.rnn.bidirectional import Bidirectional
from lamina.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, ConvLSTMCell
from lamina.layers.rnn.gru import GRU, GRUCell
from lamina.layers.rnn.lstm import LSTM, LSTMCell
from lamina.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from lamina.layers.rnn.stacked_cells import StackedRNNCells
from lamina.layers.rnn.time_distributed import TimeDistributed

__all__ = ["RNN", "SimpleRNN", "SimpleRNNCell", "LSTM", "LSTMCell", "GRU", "GRUCell", "StackedRNNCells", "Bidirectional",
           "TimeDistributed", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell"]
