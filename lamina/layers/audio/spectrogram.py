"""Audio front ends: MelSpectrogram (torch.stft + a mel filterbank) and STFTSpectrogram (STFT as a convolution
with trainable Fourier kernels), with Keras 3's numbers."""

import math

import torch
import torch.nn.functional as F

from lamina.dtypes import TORCH_DTYPES
from lamina.engine.input_spec import InputSpec
from lamina.initializers import STFT, window_values
from lamina.engine.layer import Layer, Permuted
from lamina.ops.arguments import check_positive_int, normalize_data_format
from lamina.ops.padding import conv_output_length, conv_padding
from lamina.registry import register_builtin

def _hertz_to_mel(frequencies):
    return 1127.0 * torch.log(1.0 + frequencies / 700.0)


def _linspace(start, stop, num, dtype):
    """``num`` evenly spaced values from ``start`` to ``stop`` computed as Keras's linspace does on tensors."""
    start, stop = torch.as_tensor(start, dtype=dtype), torch.as_tensor(stop, dtype=dtype)
    return start + torch.arange(num, dtype=dtype) / (num - 1) * (stop - start)


def linear_to_mel_weight_matrix(num_mel_bins, num_spectrogram_bins, sampling_rate, lower_edge_hertz,
                                upper_edge_hertz, dtype=torch.float32):
    """The (num_spectrogram_bins, num_mel_bins) triangular mel filterbank of ``tf.signal`` (and Keras): the
    first (DC) bin gets no weight."""
    zero = torch.zeros((), dtype=dtype)
    nyquist = torch.as_tensor(sampling_rate, dtype=dtype) / 2.0
    spectrogram_mel = _hertz_to_mel(_linspace(zero, nyquist, num_spectrogram_bins, dtype)[1:])[:, None]
    edges = _linspace(_hertz_to_mel(torch.as_tensor(lower_edge_hertz, dtype=dtype)),
                      _hertz_to_mel(torch.as_tensor(upper_edge_hertz, dtype=dtype)), num_mel_bins + 2,
                      dtype).unfold(0, 3, 1)
    lower, center, upper = (edges[:, i][None, :] for i in range(3))
    weights = torch.maximum(zero, torch.minimum((spectrogram_mel - lower) / (center - lower),
                                                (upper - spectrogram_mel) / (upper - center)))
    return F.pad(weights, (0, 0, 1, 0))


@register_builtin("keras.layers")
class MelSpectrogram(Layer):
    """Mel spectrogram of raw audio: STFT (centred, reflect-padded), magnitude ** ``mag_exp``, a mel
    filterbank, and with ``power_to_db`` decibels relative to ``ref_power``, floored at ``top_db`` below the
    largest value of the batch (as Keras).

    Input: (batch, samples) or (samples,). Output: (batch, num_mel_bins, frames) (or (num_mel_bins,
    frames)), frames = 1 + samples // sequence_stride.
    """

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None, window="hann", sampling_rate=16000,
                 num_mel_bins=128, min_freq=20.0, max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0,
                 min_power=1e-10, ref_power=1.0, **kwargs):
        super().__init__(**kwargs)
        name = "MelSpectrogram"
        self.fft_length = check_positive_int(fft_length, "fft_length", name)
        self.sequence_stride = check_positive_int(sequence_stride, "sequence_stride", name)
        self.sequence_length = check_positive_int(sequence_length or fft_length, "sequence_length", name)
        if self.fft_length < self.sequence_length:
            raise ValueError(f"MelSpectrogram: `fft_length` must be at least `sequence_length`. Received: "
                             f"fft_length={fft_length}, sequence_length={sequence_length}")
        if window is not None and isinstance(window, str) and window not in ("hann", "hamming"):
            raise ValueError(f"MelSpectrogram: the `window` argument must be 'hann', 'hamming' or None. "
                             f"Received: window={window!r}")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = check_positive_int(num_mel_bins, "num_mel_bins", name)
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db, self.top_db, self.mag_exp = power_to_db, top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power
        self.input_spec = InputSpec(min_ndim=1, max_ndim=2)
        self._constants = {}

    def _window_and_filterbank(self, dtype, device):
        key = (dtype, device)
        if key not in self._constants:  # made once per dtype and device
            window = torch.ones(self.sequence_length, dtype=dtype, device=device) if self.window is None else \
                window_values(self.window, self.sequence_length, True, dtype, device)
            filterbank = linear_to_mel_weight_matrix(self.num_mel_bins, self.fft_length // 2 + 1, self.sampling_rate,
                                                     self.min_freq, self.max_freq).to(dtype=dtype, device=device)
            self._constants[key] = window, filterbank
        return self._constants[key]

    def call(self, inputs):
        compute = TORCH_DTYPES[self.compute_dtype]
        dtype = compute if compute in (torch.float32, torch.float64) else torch.float32  # torch.stft's dtypes
        signal = inputs.to(dtype)
        window, filterbank = self._window_and_filterbank(dtype, signal.device)
        spectrum = torch.stft(signal, n_fft=self.fft_length, hop_length=self.sequence_stride,
                              win_length=self.sequence_length, window=window, center=True, return_complex=True)
        spectrum = spectrum.transpose(-1, -2)
        power = torch.sqrt(spectrum.real.square() + spectrum.imag.square()) ** self.mag_exp
        mel = power @ filterbank
        if self.power_to_db:
            mel = 10.0 * torch.log10(torch.clamp(mel, min=self.min_power))
            mel = mel - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
            mel = torch.maximum(mel, mel.max() - self.top_db)
        return mel.transpose(-1, -2).to(compute)

    def compute_output_shape(self, input_shape):
        samples = input_shape[-1]
        frames = None if samples is None else 1 + samples // self.sequence_stride
        return tuple(input_shape[:-1]) + (self.num_mel_bins, frames)

    def get_config(self):
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}


@register_builtin("keras.layers")
class STFTSpectrogram(Layer):
    """Short-time Fourier transform of multi-channel signals as a strided convolution with trainable Fourier
    kernels (``real_kernel``, ``imag_kernel``: (frame_length, 1, fft_length // 2 + 1)).

    Args:
        mode: "log" (log magnitude, default), "magnitude", "psd" (one-sided power), "real", "imag",
            "angle" or "stft" (real and imaginary parts stacked along frequency).
        frame_length, frame_step (default frame_length // 2), fft_length (default the next power of 2):
            window, hop and FFT sizes.
        window: a window name or values; periodic: periodic window; scaling: "density", "spectrum" or None.
        padding: "valid" or "same"; expand_dims: keep channels on their own axis; data_format.

    Input: (batch, time, channels) (channels first: (batch, channels, time)). Output: (batch, frames,
    channels * bins) or with ``expand_dims`` (batch, frames, bins, channels) (channels first: (batch,
    channels * bins, frames) / (batch, channels, frames, bins)).
    """

    casts_integer_inputs = False  # Keras refuses non-float signals (a TypeError)

    _MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann", periodic=False,
                 scaling="density", padding="valid", expand_dims=False, data_format=None, **kwargs):
        name = "STFTSpectrogram"
        frame_length = check_positive_int(frame_length, "frame_length", name)
        if frame_step is not None and (check_positive_int(frame_step, "frame_step", name) > frame_length):
            raise ValueError(f"STFTSpectrogram: `frame_step` must be a positive int not greater than `frame_length`. "
                             f"Received: frame_step={frame_step}, frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"STFTSpectrogram: `fft_length` must be at least `frame_length`. Received: "
                             f"fft_length={fft_length}, frame_length={frame_length}")
        for arg, value, allowed in (("mode", mode, self._MODES), ("scaling", scaling, ("density", "spectrum", None)),
                                    ("padding", padding, ("valid", "same"))):
            if value not in allowed:
                raise ValueError(f"STFTSpectrogram: the `{arg}` argument must be one of {allowed}. "
                                 f"Received: {arg}={value!r}")
        super().__init__(**kwargs)
        self.mode, self.frame_length, self.frame_step, self.fft_length = mode, frame_length, frame_step, fft_length
        self._frame_step = frame_step or frame_length // 2
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window, self.periodic, self.scaling, self.padding = window, periodic, scaling, padding
        self.expand_dims = expand_dims
        self.data_format = normalize_data_format(data_format, name)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        for side in ("real", "imag"):
            if self.mode != {"real": "imag", "imag": "real"}.get(side):
                setattr(self, f"{side}_kernel", self.add_weight(
                    name=f"{side}_kernel", shape=shape, layout=Permuted((2, 1, 0)),
                    initializer=STFT(side, self.window, self.scaling, self.periodic)))

    def _convolve(self, signals, kernel):
        """(batch * channels, 1, time) signals -> (batch * channels, bins, frames)."""
        left, right = conv_padding(signals.shape[-1], self.frame_length, self._frame_step, 1, self.padding)
        if left or right:
            signals = F.pad(signals, (left, right))
        return F.conv1d(signals, kernel.to(signals.dtype), stride=self._frame_step)

    def call(self, inputs):
        if inputs.dtype not in (torch.float16, torch.float32, torch.float64):
            raise TypeError(f"STFTSpectrogram: expected float16, float32 or float64 inputs. Received: {inputs.dtype}")
        channels_last = self.data_format == "channels_last"
        batch, channels = inputs.shape[0], inputs.shape[-1 if channels_last else 1]
        signals = (inputs.transpose(1, 2) if channels_last else inputs).reshape(batch * channels, 1, -1)
        real = self._convolve(signals, self.real_kernel) if self.mode != "imag" else None
        imag = self._convolve(signals, self.imag_kernel) if self.mode != "real" else None
        if self.mode in ("real", "imag", "angle", "stft"):
            outputs = {"real": real, "imag": imag}.get(self.mode)
            if self.mode == "angle":
                outputs = torch.atan2(imag, real)
            elif self.mode == "stft":
                outputs = torch.cat([real, imag], dim=1)
        else:
            power = real.square() + imag.square()
            if self.mode == "psd":
                outputs = power + F.pad(power[:, 1:-1, :], (0, 0, 1, 1))
            else:
                outputs = torch.sqrt(torch.clamp(power, min=1e-7))
                if self.mode == "log":
                    outputs = torch.log(torch.clamp(outputs, min=1e-7))
        return self._arrange(outputs.reshape(batch, channels, outputs.shape[1], outputs.shape[2]))

    def _arrange(self, outputs):
        """(batch, channels, bins, frames) -> the layer's output layout."""
        batch, channels, bins, frames = outputs.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return outputs.permute(0, 3, 2, 1)
            return outputs.reshape(batch, channels * bins, frames).transpose(1, 2)
        if self.expand_dims:
            return outputs.transpose(2, 3)
        return outputs.reshape(batch, channels * bins, frames)

    def compute_output_shape(self, input_shape):
        channels_last = self.data_format == "channels_last"
        batch, time, channels = (input_shape[0], input_shape[1], input_shape[2]) if channels_last else \
            (input_shape[0], input_shape[2], input_shape[1])
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        frames = conv_output_length(time, self.frame_length, self._frame_step, 1, self.padding)
        if self.expand_dims:
            return (batch, frames, bins, channels) if channels_last else (batch, channels, frames, bins)
        total = None if channels is None else channels * bins
        return (batch, frames, total) if channels_last else (batch, total, frames)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}
