"""MelSpectrogram and STFTSpectrogram against Keras 3 (torch backend), with Keras's weights for the STFT
kernels (and lamina's own initial kernels checked against Keras's initializer)."""

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, assert_matches_keras

SIGNALS = np.random.default_rng(3).standard_normal((2, 3000)).astype("float32")
MULTICHANNEL = np.random.default_rng(4).standard_normal((2, 300, 2)).astype("float32")

MEL_CASES = [
    {}, {"fft_length": 512, "sequence_stride": 128, "num_mel_bins": 40, "sampling_rate": 8000},
    {"fft_length": 256, "sequence_length": 200, "window": "hamming", "power_to_db": False, "mag_exp": 1.0},
    {"window": None, "fft_length": 128, "sequence_stride": 64, "min_freq": 100.0, "max_freq": 3000, "top_db": 20.0},
    {"fft_length": 256, "sequence_stride": 100, "ref_power": 2.0, "min_power": 1e-6},
]


@pytest.mark.parametrize("kwargs", MEL_CASES)
def test_mel_spectrogram_matches_keras(keras, kwargs):
    layer, _, output = assert_matches_keras(keras, "MelSpectrogram", kwargs, SIGNALS)
    assert tuple(output.shape) == layer.compute_output_shape(SIGNALS.shape)
    single = layer(SIGNALS[0])  # one signal without a batch axis
    assert_close(single, keras.layers.MelSpectrogram(**kwargs)(SIGNALS[:1])[0])


STFT_CASES = [
    {}, {"mode": "magnitude", "frame_length": 64, "frame_step": 16, "padding": "same"},
    {"mode": "psd", "frame_length": 50, "fft_length": 64, "expand_dims": True},
    {"mode": "stft", "frame_length": 32, "scaling": "spectrum", "periodic": True, "window": "hamming"},
    {"mode": "angle", "frame_length": 32, "scaling": None, "window": "blackman"},
    {"mode": "real", "frame_length": 32, "data_format": "channels_first", "expand_dims": True},
    {"mode": "imag", "frame_length": 30, "frame_step": 7, "window": None, "padding": "same",
     "data_format": "channels_first"},
    {"mode": "log", "frame_length": 40, "window": "triang"},  # a window from SciPy
]


@pytest.mark.parametrize("kwargs", STFT_CASES)
def test_stft_spectrogram_matches_keras(keras, kwargs):
    inputs = MULTICHANNEL if kwargs.get("data_format") != "channels_first" else MULTICHANNEL.transpose(0, 2, 1).copy()
    layer, theirs, output = assert_matches_keras(keras, "STFTSpectrogram", kwargs, inputs, randomize_weights=False)
    assert tuple(output.shape) == layer.compute_output_shape(inputs.shape)
    fresh = lamina.layers.STFTSpectrogram(**kwargs)
    fresh(inputs)
    for ours, keras_kernel in zip(fresh.get_weights(), theirs.get_weights()):  # the initial Fourier kernels
        assert_close(ours, keras_kernel)


def test_stft_kernels_are_trainable_and_inputs_are_checked():
    layer = lamina.layers.STFTSpectrogram(frame_length=16)
    output = layer(torch.tensor(MULTICHANNEL))
    output.sum().backward()
    assert all(w.grad is not None for w in layer.trainable_weights) and len(layer.trainable_weights) == 2
    with pytest.raises(TypeError, match="float16, float32 or float64"):
        layer(torch.ones(2, 300, 2, dtype=torch.int32))
    with pytest.raises(ValueError, match="frame_step"):
        lamina.layers.STFTSpectrogram(frame_length=16, frame_step=32)
    with pytest.raises(ValueError, match="mode"):
        lamina.layers.STFTSpectrogram(mode="phase")
    with pytest.raises(ValueError, match="fft_length"):
        lamina.layers.MelSpectrogram(fft_length=64, sequence_length=128)
