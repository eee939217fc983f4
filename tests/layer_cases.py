"""One ``run_layer_test`` case (or more) for every registered layer class: a new layer joins by adding a row.

tests/layers/test_layer_contract.py runs every row and fails when a class registered under
"keras.layers" has none (``EXEMPT`` says why a class has no row). The family test files hold the
wider grids (differential against Keras); this table is the contract every layer must keep.
"""

from dataclasses import dataclass, field

import numpy as np

from lamina import activations, layers

MASK = np.array([[True, True, False, False], [True, True, True, True]])


@dataclass
class LayerCase:
    cls: type
    init_kwargs: dict
    input_shape: object
    expected_output_shape: object = None
    input_dtype: str = "float32"
    call_kwargs: dict = field(default_factory=dict)
    input_mask: object = None
    expected_mask_shape: tuple = None
    covers: tuple = ()  # other classes this row exercises (cells inside an RNN)

    @property
    def id(self):
        return self.cls.__name__

    def run_kwargs(self):
        return dict(init_kwargs=self.init_kwargs, input_shape=self.input_shape, input_dtype=self.input_dtype,
                    expected_output_shape=self.expected_output_shape, call_kwargs=self.call_kwargs,
                    input_mask=self.input_mask, expected_mask_shape=self.expected_mask_shape)


def _cases():
    seq, image, volume = (2, 4, 3), (2, 4, 5, 3), (1, 3, 4, 4, 2)
    return [
        # core
        LayerCase(layers.Dense, {"units": 5, "activation": "relu"}, (2, 3, 4), (2, 3, 5)),
        LayerCase(layers.Embedding, {"input_dim": 6, "output_dim": 3, "mask_zero": True}, (2, 4), (2, 4, 3),
                  input_dtype="int64", expected_mask_shape=(2, 4)),
        LayerCase(layers.Activation, {"activation": "tanh"}, seq, seq),
        LayerCase(layers.Identity, {}, seq, seq),
        LayerCase(layers.Lambda, {"function": activations.relu}, seq, seq),
        LayerCase(layers.Masking, {"mask_value": 0.0}, seq, seq, expected_mask_shape=(2, 4)),
        # activations
        LayerCase(layers.ReLU, {"max_value": 2.0, "negative_slope": 0.1}, seq, seq),
        LayerCase(layers.LeakyReLU, {"negative_slope": 0.2}, seq, seq),
        LayerCase(layers.ELU, {"alpha": 0.5}, seq, seq),
        LayerCase(layers.PReLU, {"shared_axes": [1]}, seq, seq),
        LayerCase(layers.Softmax, {"axis": -1}, seq, seq),
        LayerCase(layers.ThresholdedReLU, {"theta": 0.5}, seq, seq),
        # convolutional
        LayerCase(layers.Conv1D, {"filters": 3, "kernel_size": 2, "padding": "causal"}, seq, (2, 4, 3)),
        LayerCase(layers.Conv2D, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, image,
                  (2, 2, 3, 2)),
        LayerCase(layers.Conv3D, {"filters": 2, "kernel_size": 2}, volume, (1, 2, 3, 3, 2)),
        LayerCase(layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, seq,
                  (2, 8, 2)),
        LayerCase(layers.Conv2DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2}, image, (2, 8, 10, 2)),
        LayerCase(layers.Conv3DTranspose, {"filters": 1, "kernel_size": 2}, volume, (1, 4, 5, 5, 1)),
        LayerCase(layers.SeparableConv1D, {"filters": 2, "kernel_size": 2}, seq, (2, 3, 2)),
        LayerCase(layers.SeparableConv2D, {"filters": 2, "kernel_size": 2, "depth_multiplier": 2}, image,
                  (2, 3, 4, 2)),
        LayerCase(layers.DepthwiseConv1D, {"kernel_size": 2}, seq, (2, 3, 3)),
        LayerCase(layers.DepthwiseConv2D, {"kernel_size": 2, "depth_multiplier": 2}, image, (2, 3, 4, 6)),
        LayerCase(layers.LocallyConnected1D, {"filters": 2, "kernel_size": 2}, seq, (2, 3, 2)),
        LayerCase(layers.LocallyConnected2D, {"filters": 2, "kernel_size": 2}, image, (2, 3, 4, 2)),
        LayerCase(layers.LocallyConnected1D, {"filters": 2, "kernel_size": 2, "padding": "same", "implementation": 2},
                  seq, (2, 4, 2)),
        LayerCase(layers.LocallyConnected2D, {"filters": 2, "kernel_size": 2, "strides": 2, "implementation": 3},
                  image, (2, 2, 2, 2)),
        LayerCase(layers.Cropping1D, {"cropping": (1, 1)}, seq, (2, 2, 3)),
        LayerCase(layers.Cropping2D, {"cropping": ((1, 0), (1, 2))}, image, (2, 3, 2, 3)),
        LayerCase(layers.Cropping3D, {"cropping": 1}, volume, (1, 1, 2, 2, 2)),
        LayerCase(layers.UpSampling1D, {"size": 2}, seq, (2, 8, 3)),
        LayerCase(layers.UpSampling2D, {"size": 2}, image, (2, 8, 10, 3)),
        LayerCase(layers.UpSampling3D, {"size": 2}, volume, (1, 6, 8, 8, 2)),
        LayerCase(layers.ZeroPadding1D, {"padding": 1}, seq, (2, 6, 3)),
        LayerCase(layers.ZeroPadding2D, {"padding": (1, 2)}, image, (2, 6, 9, 3)),
        LayerCase(layers.ZeroPadding3D, {"padding": 1}, volume, (1, 5, 6, 6, 2)),
        # pooling
        LayerCase(layers.MaxPooling1D, {"pool_size": 2, "padding": "same"}, (2, 5, 3), (2, 3, 3)),
        LayerCase(layers.MaxPooling2D, {"pool_size": 2}, image, (2, 2, 2, 3)),
        LayerCase(layers.MaxPooling3D, {"pool_size": 2, "padding": "same"}, volume, (1, 2, 2, 2, 2)),
        LayerCase(layers.AveragePooling1D, {"pool_size": 2, "padding": "same"}, (2, 5, 3), (2, 3, 3)),
        LayerCase(layers.AveragePooling2D, {"pool_size": 2, "padding": "same"}, image, (2, 2, 3, 3)),
        LayerCase(layers.AveragePooling3D, {"pool_size": 2}, volume, (1, 1, 2, 2, 2)),
        LayerCase(layers.GlobalMaxPooling1D, {}, seq, (2, 3)),
        LayerCase(layers.GlobalMaxPooling2D, {"keepdims": True}, image, (2, 1, 1, 3)),
        LayerCase(layers.GlobalMaxPooling3D, {}, volume, (1, 2)),
        LayerCase(layers.GlobalAveragePooling1D, {}, seq, (2, 3), input_mask=MASK),
        LayerCase(layers.GlobalAveragePooling2D, {}, image, (2, 3)),
        LayerCase(layers.GlobalAveragePooling3D, {"data_format": "channels_first"}, volume, (1, 3)),
        # merging
        LayerCase(layers.Add, {}, [seq, seq], seq),
        LayerCase(layers.Subtract, {}, [seq, seq], seq),
        LayerCase(layers.Multiply, {}, [seq, seq], seq),
        LayerCase(layers.Average, {}, [seq, seq], seq),
        LayerCase(layers.Maximum, {}, [seq, seq], seq),
        LayerCase(layers.Minimum, {}, [seq, seq], seq),
        LayerCase(layers.Concatenate, {"axis": 1}, [seq, (2, 2, 3)], (2, 6, 3)),
        LayerCase(layers.Dot, {"axes": (2, 2)}, [seq, (2, 5, 3)], (2, 4, 5)),
        # normalization
        LayerCase(layers.BatchNormalization, {"momentum": 0.5}, seq, seq),
        LayerCase(layers.LayerNormalization, {"axis": [1, 2]}, seq, seq),
        LayerCase(layers.GroupNormalization, {"groups": 3}, (2, 4, 6), (2, 4, 6)),
        LayerCase(layers.UnitNormalization, {"axis": -1}, seq, seq),
        # regularization
        LayerCase(layers.Dropout, {"rate": 0.5, "seed": 1}, seq, seq),
        LayerCase(layers.SpatialDropout1D, {"rate": 0.5}, seq, seq),
        LayerCase(layers.SpatialDropout2D, {"rate": 0.5}, image, image),
        LayerCase(layers.SpatialDropout3D, {"rate": 0.5}, volume, volume),
        LayerCase(layers.GaussianNoise, {"stddev": 0.1}, seq, seq),
        LayerCase(layers.GaussianDropout, {"rate": 0.3}, seq, seq),
        LayerCase(layers.AlphaDropout, {"rate": 0.3}, seq, seq),
        LayerCase(layers.ActivityRegularization, {"l1": 0.1, "l2": 0.1}, seq, seq),
        # reshaping
        LayerCase(layers.Flatten, {}, image, (2, 60)),
        LayerCase(layers.Reshape, {"target_shape": (-1, 2)}, (2, 4, 2), (2, 4, 2)),
        LayerCase(layers.Permute, {"dims": (2, 1)}, seq, (2, 3, 4)),
        LayerCase(layers.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4)),
        # recurrent
        LayerCase(layers.SimpleRNN, {"units": 2, "return_sequences": True}, seq, (2, 4, 2), input_mask=MASK,
                  expected_mask_shape=(2, 4)),
        LayerCase(layers.LSTM, {"units": 2, "return_state": True}, seq, [(2, 2), (2, 2), (2, 2)]),
        LayerCase(layers.GRU, {"units": 2, "go_backwards": True}, seq, (2, 2), input_mask=MASK),
        LayerCase(layers.RNN, {"cell": layers.GRUCell(3)}, seq, (2, 3), covers=(layers.GRUCell,)),
        LayerCase(layers.RNN, {"cell": [layers.LSTMCell(2), layers.SimpleRNNCell(3)], "return_sequences": True},
                  seq, (2, 4, 3), covers=(layers.LSTMCell, layers.SimpleRNNCell, layers.StackedRNNCells)),
        LayerCase(layers.Bidirectional, {"layer": layers.LSTM(2, return_sequences=True), "merge_mode": "sum"},
                  seq, (2, 4, 2), input_mask=MASK, expected_mask_shape=(2, 4)),
        LayerCase(layers.TimeDistributed, {"layer": layers.Dense(3)}, seq, (2, 4, 3)),
    ]


LAYER_CASES = _cases()

# Registered layer classes without a row, and why.
EXEMPT = {
    "InputLayer": "not a layer one calls: lamina.Input's producer, tested in tests/engine",
}
