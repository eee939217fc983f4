"""Keras's ``ops.math`` functions: segment reductions, top-k, signal processing (FFT, STFT), special
functions and distances."""

import math

import torch
import torch.nn.functional as F

from lamina.ops.keras_op import keras_op
from lamina.ops.tensors import to_float, to_tensor


def _segment_reduce(data, segment_ids, num_segments, reduction, name):
    data = to_tensor(data)
    segment_ids = to_tensor(segment_ids, device=data.device).long()
    if segment_ids.ndim != 1 or segment_ids.shape[0] != data.shape[0]:
        raise ValueError(f"{name}: `segment_ids` must be 1-D with the length of data's first axis. Received: "
                         f"data.shape={tuple(data.shape)}, segment_ids.shape={tuple(segment_ids.shape)}")
    if num_segments is None:
        num_segments = int(segment_ids.max()) + 1 if segment_ids.numel() else 0
    # Out-of-range ids (e.g. -1) go to an extra segment that is dropped at the end.
    ids = torch.where((segment_ids >= 0) & (segment_ids < num_segments), segment_ids, num_segments)
    index = ids.reshape((-1,) + (1,) * (data.ndim - 1)).expand_as(data)
    initial = {"sum": 0.0, "prod": 1.0, "amax": -math.inf, "amin": math.inf}[reduction]
    compute = data if data.is_floating_point() else data.float()
    result = torch.full((num_segments + 1,) + tuple(data.shape[1:]), initial, dtype=compute.dtype,
                        device=data.device)
    result = result.scatter_reduce(0, index, compute, reduction)[:-1]
    return result.to(data.dtype)


@keras_op("SegmentSum", "math", config=("num_segments", "sorted"))
def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sums of the rows of ``data`` sharing a segment id (``num_segments`` rows; ids out of range dropped)."""
    return _segment_reduce(data, segment_ids, num_segments, "sum", "segment_sum")


@keras_op("SegmentProd", "math", config=("num_segments", "sorted"))
def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Products of the rows of ``data`` sharing a segment id (1 for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, "prod", "segment_prod")


@keras_op("SegmentMax", "math", config=("num_segments", "sorted"))
def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Maxima of the rows of ``data`` sharing a segment id (-inf for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, "amax", "segment_max")


@keras_op("SegmentMin", "math", config=("num_segments", "sorted"))
def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Minima of the rows of ``data`` sharing a segment id (+inf for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, "amin", "segment_min")


@keras_op("TopK", "math", config=("k", "sorted"))
def top_k(x, k, sorted=True):  # noqa: A002
    """(values, indices int32) of the ``k`` largest entries along the last axis (Keras's int32 indices, as
    on its JAX and TensorFlow backends and in its symbolic spec; see docs/keras_torch_departures.md)."""
    values, indices = torch.topk(to_tensor(x), k, sorted=sorted)
    return values, indices.to(torch.int32)


@keras_op("InTopK", "math", config=("k",))
def in_top_k(targets, predictions, k):
    """Whether each target class is among the ``k`` highest predictions of its row (ties count)."""
    predictions = to_tensor(predictions)
    targets = to_tensor(targets, device=predictions.device).long()[:, None]
    kth = torch.topk(predictions, k).values[:, -1:]
    return torch.any(torch.take_along_dim(predictions, targets, dim=-1) >= kth, dim=-1)


@keras_op("ExtractSequences", "math", config=("sequence_length", "sequence_stride"))
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` every ``sequence_stride`` samples along the last axis:
    ``(..., num_frames, sequence_length)``."""
    return to_tensor(x).unfold(-1, sequence_length, sequence_stride).clone()


def _complex(x, name):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{name}: `x` must be a (real, imaginary) pair of tensors. Received: {x!r}")
    real, imag = to_tensor(x[0]), to_tensor(x[1])
    if real.shape != imag.shape or not real.is_floating_point() or not imag.is_floating_point():
        raise ValueError(f"{name}: the real and imaginary parts must be float tensors of one shape. Received: "
                         f"{tuple(real.shape)} {real.dtype} and {tuple(imag.shape)} {imag.dtype}")
    return torch.complex(real, imag)


def _parts(z):
    return z.real, z.imag


@keras_op("FFT", "math")
def fft(x):
    """The FFT along the last axis of the complex tensor given as (real, imag); returns (real, imag)."""
    return _parts(torch.fft.fft(_complex(x, "fft")))


@keras_op("FFT2", "math")
def fft2(x):
    """The 2-D FFT over the last two axes, on and to (real, imag) pairs."""
    return _parts(torch.fft.fft2(_complex(x, "fft2")))


@keras_op("IFFT2", "math")
def ifft2(x):
    """The inverse 2-D FFT over the last two axes, on and to (real, imag) pairs."""
    return _parts(torch.fft.ifft2(_complex(x, "ifft2")))


@keras_op("RFFT", "math", config=("fft_length",))
def rfft(x, fft_length=None):
    """The FFT of a real signal along the last axis: (real, imag) of its ``fft_length // 2 + 1`` bins."""
    return _parts(torch.fft.rfft(to_tensor(x), n=fft_length, dim=-1))


@keras_op("IRFFT", "math", config=("fft_length",))
def irfft(x, fft_length=None):
    """The inverse of ``rfft``: a real signal from (real, imag) bins."""
    return torch.fft.irfft(_complex(x, "irfft"), n=fft_length, dim=-1)


def _window(window, length, dtype, device):
    if window is None:
        return torch.ones(length, dtype=dtype, device=device)
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"The `window` string must be 'hann' or 'hamming'. Received: window={window!r}")
        make = torch.hann_window if window == "hann" else torch.hamming_window
        return make(length, periodic=True, dtype=dtype, device=device)
    window = to_tensor(window, dtype=dtype, device=device)
    if window.shape != (length,):
        raise ValueError(f"The `window` must have shape ({length},). Received: {tuple(window.shape)}")
    return window


@keras_op("STFT", "math", config=("sequence_length", "sequence_stride", "fft_length", "window", "center"))
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform along the last axis: (real, imag) of shape
    ``(..., frames, fft_length // 2 + 1)``."""
    x = to_tensor(x)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"stft: the input must be float32 or float64. Received: {x.dtype}")
    if fft_length < sequence_length:
        raise ValueError(f"stft: fft_length ({fft_length}) must be >= sequence_length ({sequence_length}).")
    batch = x.shape[:-1]
    spectrum = torch.stft(x.reshape(-1, x.shape[-1]), n_fft=fft_length, hop_length=sequence_stride,
                          win_length=sequence_length, window=_window(window, sequence_length, x.dtype, x.device),
                          center=center, return_complex=True)
    spectrum = spectrum.reshape(*batch, *spectrum.shape[-2:]).transpose(-2, -1)
    return _parts(spectrum)


def _overlap_add(frames, stride):
    """Sums ``(..., n, length)`` frames placed every ``stride`` samples."""
    *batch, count, length = frames.shape
    total = stride * (count - 1) + length
    flat = frames.reshape(-1, count, length).transpose(1, 2)
    out = F.fold(flat, output_size=(1, total), kernel_size=(1, length), stride=(1, stride))
    return out.reshape(*batch, total)


@keras_op("ISTFT", "math", config=("sequence_length", "sequence_stride", "fft_length", "length", "window",
                                   "center"))
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """The inverse short-time Fourier transform of (real, imag) frames ``(..., frames, bins)``."""
    frames = irfft(x, fft_length)
    dtype, device = frames.dtype, frames.device
    expected = fft_length + sequence_stride * (frames.shape[-2] - 1)
    if window is not None:
        win = _window(window, sequence_length, dtype, device)
        left = (fft_length - sequence_length) // 2
        win = F.pad(win, (left, fft_length - sequence_length - left))
        overlaps = -(-fft_length // sequence_stride)
        denominator = F.pad(win.square(), (0, overlaps * sequence_stride - fft_length))
        denominator = denominator.reshape(overlaps, sequence_stride).sum(0, keepdim=True).tile(overlaps, 1)
        frames = frames * (win / denominator.reshape(-1)[:fft_length])
    signal = _overlap_add(frames, sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = -(fft_length // 2)
    else:
        end = expected
    return signal[..., start:end]



@keras_op("Rsqrt", "math")
def rsqrt(x):
    """``1 / sqrt(x)`` element-wise."""
    return torch.rsqrt(to_tensor(x))


@keras_op("Erf", "math")
def erf(x):
    """The error function, element-wise."""
    return torch.erf(to_float(to_tensor(x)))


@keras_op("Erfc", "math")
def erfc(x):
    """The complementary error function ``1 - erf(x)``."""
    return torch.erfc(to_float(to_tensor(x)))


@keras_op("Erfinv", "math")
def erfinv(x):
    """The inverse error function, element-wise."""
    return torch.erfinv(to_float(to_tensor(x)))


@keras_op("Logdet", "math")
def logdet(x):
    """``log(det(x))`` of square matrices (NaN for negative determinants)."""
    return torch.logdet(to_tensor(x))


@keras_op("CDist", "math")
def cdist(x, y):
    """Euclidean distances between the rows of ``x`` ``(..., m, d)`` and ``y`` ``(..., n, d)``: ``(..., m, n)``."""
    x, y = to_tensor(x), to_tensor(y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError("cdist: both inputs must have rank >= 2 and the same last dimension. Received: "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    difference = x.unsqueeze(-2) - y.unsqueeze(-3)
    return torch.sqrt(torch.sum(difference * difference, dim=-1))


@keras_op("ViewAsComplex", "math")
def view_as_complex(x):
    """A complex tensor from ``(..., 2)`` (real, imaginary) pairs."""
    x = to_tensor(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last axis must have size 2. Received: shape={tuple(x.shape)}")
    return torch.complex(x[..., 0].to(torch.float32), x[..., 1].to(torch.float32))


@keras_op("ViewAsReal", "math")
def view_as_real(x):
    """``(..., 2)`` (real, imaginary) pairs of a complex tensor."""
    x = to_tensor(x)
    return torch.stack((torch.real(x), torch.imag(x)), dim=-1)
