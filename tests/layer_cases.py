"""One ``run_layer_test`` case (or more) for every registered layer class: a new layer joins by adding a row.

tests/layers/test_layer_contract.py runs every row and fails when a class registered under
"keras.layers" has none (``EXEMPT`` says why a class has no row). The family test files hold the
wider grids (differential against Keras); this table is the contract every layer must keep.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from lamina import activations, layers
from lamina.saving import register_serializable

MASK = np.array([[True, True, False, False], [True, True, True, True]])


@register_serializable(package="lamina_layer_cases")
class LinearNorm(torch.nn.Module):
    """A registered module with a config (TorchModuleWrapper's row): parameters and buffers."""

    def __init__(self, features, units):
        super().__init__()
        self.features, self.units = features, units
        self.linear, self.norm = torch.nn.Linear(features, units), torch.nn.LayerNorm(units)
        self.register_buffer("offset", torch.full((units,), 0.5))

    def forward(self, x):
        return self.norm(self.linear(x)) + self.offset

    def get_config(self):
        return {"features": self.features, "units": self.units}


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
    input_data: object = None  # given data instead of random data of input_shape (text, token ids)

    @property
    def id(self):
        return self.cls.__name__

    def run_kwargs(self):
        return dict(init_kwargs=self.init_kwargs, input_shape=self.input_shape, input_dtype=self.input_dtype,
                    expected_output_shape=self.expected_output_shape, call_kwargs=self.call_kwargs,
                    input_mask=self.input_mask, expected_mask_shape=self.expected_mask_shape,
                    input_data=self.input_data)


def _cases():
    seq, image, volume = (2, 4, 3), (2, 4, 5, 3), (1, 3, 4, 4, 2)
    picture = (2, 8, 7, 3)
    return [
        # core
        LayerCase(layers.Dense, {"units": 5, "activation": "relu"}, (2, 3, 4), (2, 3, 5)),
        LayerCase(layers.Embedding, {"input_dim": 6, "output_dim": 3, "mask_zero": True}, (2, 4), (2, 4, 3),
                  input_dtype="int64", expected_mask_shape=(2, 4)),
        LayerCase(layers.ReversibleEmbedding, {"input_dim": 6, "output_dim": 3, "mask_zero": True}, (2, 4), (2, 4, 3),
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
        # preprocessing: numerical, hashing, lookups and text (text as NumPy strings: input_dtype "string")
        LayerCase(layers.Normalization, {"axis": -1}, seq, seq),
        LayerCase(layers.Discretization, {"bin_boundaries": [-0.5, 0.0, 0.5], "output_mode": "count"}, (2, 5),
                  (2, 4)),
        LayerCase(layers.Rescaling, {"scale": 1 / 255, "offset": -0.5}, image, image, input_dtype="uint8"),
        LayerCase(layers.CategoryEncoding, {"num_tokens": 4, "output_mode": "one_hot"}, (2, 3), (2, 3, 4),
                  input_dtype="int64"),
        LayerCase(layers.Hashing, {"num_bins": 5, "salt": 7, "output_mode": "multi_hot"}, None, (2, 5),
                  input_dtype="string", input_data=[["a", "b", "c"], ["d", "", "a"]]),
        LayerCase(layers.HashedCrossing, {"num_bins": 8}, None, (3,), input_dtype="int64",
                  input_data=[np.array([1, 2, 3]), np.array([4, 5, 4])]),
        LayerCase(layers.StringLookup, {"vocabulary": ["a", "b", "c"], "mask_token": ""}, None, (2, 3),
                  input_dtype="string", input_data=[["a", "z", ""], ["c", "b", "a"]]),
        LayerCase(layers.IntegerLookup, {"vocabulary": [10, 20, 30], "output_mode": "tf_idf",
                                         "idf_weights": [0.5, 1.0, 2.0]}, None, (2, 4), input_dtype="int64",
                  input_data=[[10, 20, 99], [30, 30, 10]]),
        LayerCase(layers.TextVectorization, {"vocabulary": ["the", "cat", "sat"], "output_sequence_length": 5},
                  None, (2, 5), input_dtype="string", input_data=["The cat sat.", "A dog sat on the mat"]),
        # attention, EinsumDense, RMSNormalization (issue 14)
        LayerCase(layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3}, {"query": seq, "value": (2, 5, 3)},
                  (2, 4, 3), input_mask={"query": MASK}, expected_mask_shape=(2, 4)),
        LayerCase(layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2), "dropout": 0.1},
                  {"query": image, "value": image, "key": image}, image),
        LayerCase(layers.GroupQueryAttention, {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2},
                  {"query": seq, "value": (2, 5, 3)}, (2, 4, 3), call_kwargs={"use_causal_mask": True}),
        LayerCase(layers.Attention, {"use_scale": True, "score_mode": "concat"}, [seq, (2, 5, 3)], (2, 4, 3),
                  input_mask=[MASK, None], expected_mask_shape=(2, 4)),
        LayerCase(layers.AdditiveAttention, {"dropout": 0.2}, [seq, (2, 5, 3), (2, 5, 3)], (2, 4, 3),
                  call_kwargs={"use_causal_mask": True}),
        LayerCase(layers.EinsumDense, {"equation": "abc,cde->abde", "output_shape": (None, 2, 5), "bias_axes": "de"},
                  seq, (2, 4, 2, 5)),
        LayerCase(layers.RMSNormalization, {"axis": [1, 2]}, seq, seq),
        # issue 14 (non-attention part): ConvLSTM, adaptive pooling, wrappers, Keras 2 layers
        LayerCase(layers.ConvLSTM1D, {"filters": 2, "kernel_size": 2, "return_sequences": True}, (2, 3, 5, 2),
                  (2, 3, 4, 2), input_mask=MASK[:, :3], expected_mask_shape=(2, 3), covers=(layers.ConvLSTMCell,)),
        LayerCase(layers.ConvLSTM2D, {"filters": 2, "kernel_size": 3, "padding": "same", "return_state": True},
                  (2, 3, 4, 5, 1), [(2, 4, 5, 2)] * 3),
        LayerCase(layers.ConvLSTM3D, {"filters": 1, "kernel_size": 2, "data_format": "channels_first"},
                  (1, 2, 2, 3, 3, 3), (1, 1, 2, 2, 2)),
        LayerCase(layers.AdaptiveAveragePooling1D, {"output_size": 3}, (2, 7, 3), (2, 3, 3)),
        LayerCase(layers.AdaptiveAveragePooling2D, {"output_size": (2, 6)}, image, (2, 2, 6, 3)),
        LayerCase(layers.AdaptiveAveragePooling3D, {"output_size": 2, "data_format": "channels_first"}, volume,
                  (1, 3, 2, 2, 2)),
        LayerCase(layers.AdaptiveMaxPooling1D, {"output_size": 2, "data_format": "channels_first"}, seq, (2, 4, 2)),
        LayerCase(layers.AdaptiveMaxPooling2D, {"output_size": 3}, image, (2, 3, 3, 3)),
        LayerCase(layers.AdaptiveMaxPooling3D, {"output_size": (2, 3, 1)}, volume, (1, 2, 3, 1, 2)),
        LayerCase(layers.Wrapper, {"layer": layers.Dense(2)}, seq, (2, 4, 2)),
        LayerCase(layers.SpectralNormalization, {"layer": layers.Conv1D(2, 2), "power_iterations": 2}, seq,
                  (2, 3, 2)),
        LayerCase(layers.TorchModuleWrapper, {"module": LinearNorm(3, 5)}, seq, (2, 4, 5)),
        LayerCase(layers.RandomFourierFeatures, {"output_dim": 6, "trainable": True}, (2, 3), (2, 6)),
        # image preprocessing (issue 15): random layers are identity here (inference); tests/layers/image has
        # the training paths
        LayerCase(layers.Resizing, {"height": 4, "width": 6, "interpolation": "bicubic", "antialias": True}, picture,
                  (2, 4, 6, 3)),
        LayerCase(layers.CenterCrop, {"height": 4, "width": 5}, picture, (2, 4, 5, 3)),
        LayerCase(layers.RandomCrop, {"height": 5, "width": 4, "seed": 1}, picture, (2, 5, 4, 3)),
        LayerCase(layers.RandomFlip, {"mode": "horizontal", "seed": 1}, picture, picture),
        LayerCase(layers.RandomRotation, {"factor": 0.2, "fill_mode": "constant"}, picture, picture),
        LayerCase(layers.RandomZoom, {"height_factor": 0.2, "width_factor": (-0.1, 0.3)}, picture, picture),
        LayerCase(layers.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.1}, picture, picture),
        LayerCase(layers.RandomShear, {"x_factor": 0.2, "y_factor": 0.1}, picture, picture),
        LayerCase(layers.RandomPerspective, {"factor": 0.5, "scale": 0.3}, picture, picture),
        LayerCase(layers.RandomBrightness, {"factor": 0.2}, picture, picture),
        LayerCase(layers.RandomContrast, {"factor": 0.2}, picture, picture),
        LayerCase(layers.RandomColorDegeneration, {"factor": 0.2}, picture, picture),
        LayerCase(layers.RandomGrayscale, {"factor": 0.5}, picture, picture),
        LayerCase(layers.RandomInvert, {"factor": 0.5}, picture, picture),
        LayerCase(layers.RandomHue, {"factor": 0.2}, picture, picture),
        LayerCase(layers.RandomSaturation, {"factor": (0.3, 0.7)}, picture, picture),
        LayerCase(layers.RandomPosterization, {"factor": 4}, picture, picture),
        LayerCase(layers.Solarization, {"addition_factor": 0.1, "threshold_factor": 0.5}, picture, picture),
        LayerCase(layers.RandomSharpness, {"factor": 0.5}, picture, picture),
        LayerCase(layers.RandomGaussianBlur, {"kernel_size": 3, "sigma": 0.5}, picture, picture),
        LayerCase(layers.AutoContrast, {"value_range": (0, 1)}, picture, picture),
        LayerCase(layers.Equalization, {"bins": 64}, picture, picture),
        LayerCase(layers.ContrastLimitedAdaptiveHistogramEqualization, {"tile_grid_size": (3, 2)}, picture, picture),
        LayerCase(layers.MaxNumBoundingBoxes, {"max_number": 3, "fill_value": 0}, picture, picture),
        LayerCase(layers.RandomElasticTransform, {"factor": 0.5, "scale": 0.3, "seed": 1}, picture, picture),
        LayerCase(layers.RandomErasing, {"factor": 0.5}, picture, picture),
        LayerCase(layers.CutMix, {"factor": 0.5}, picture, picture),
        LayerCase(layers.MixUp, {"alpha": 0.4}, picture, picture),
        LayerCase(layers.RandomColorJitter, {"brightness_factor": 0.2, "hue_factor": 0.1}, picture, picture),
        LayerCase(layers.RandAugment, {"num_ops": 2}, picture, picture),
        LayerCase(layers.AugMix, {"num_chains": 2, "chain_depth": 2}, picture, picture),
        LayerCase(layers.Pipeline, {"layers": [layers.RandomFlip(), layers.CenterCrop(4, 4)]}, picture, (2, 4, 4, 3)),
        # audio preprocessing (issue 15)
        LayerCase(layers.MelSpectrogram, {"fft_length": 64, "sequence_stride": 16, "num_mel_bins": 8}, (2, 128),
                  (2, 8, 9)),
        LayerCase(layers.STFTSpectrogram, {"frame_length": 16, "frame_step": 8}, (2, 64, 2), (2, 7, 18)),
    ]


LAYER_CASES = _cases()

# Registered layer classes without a row, and why.
EXEMPT = {
    "InputLayer": "not a layer one calls: lamina.Input's producer, tested in tests/engine",
}
