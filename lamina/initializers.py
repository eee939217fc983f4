"""Keras initializers: callables ``(shape, dtype=None) -> torch.Tensor`` on the CPU.

Shapes are Keras layouts (a Dense kernel is ``(in, units)``, a Conv2D kernel
``(kh, kw, in, filters)``), which is what :func:`compute_fans` reads. ``dtype``
is a torch dtype or a name; None means ``lamina.config.floatx()``.

Seeds follow Keras 3: a random initializer returns the same values on every
call, seeded or not. An int ``seed`` fixes those values; with ``seed=None`` the
seed is drawn from torch's global RNG at the first call, so ``torch.manual_seed``
(or ``lamina.utils.set_random_seed``) makes model building reproducible.
"""

import math

import numpy as np
import torch

from lamina import config, registry
from lamina.ops.arguments import check_seed
from lamina.serialization import deserialize_keras_object, resolve_identifier, serialize_keras_object

_MODULE = "keras.initializers"
# Keras's std of a unit normal truncated to [-2, 2]: scaling by it restores the requested variance.
_TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


def _torch_dtype(dtype):
    if dtype is None:
        dtype = config.floatx()
    if isinstance(dtype, torch.dtype):
        return dtype
    resolved = getattr(torch, str(dtype), None)
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"Unknown dtype: expected a torch dtype or a name such as 'float32'. Received: dtype={dtype!r}")
    return resolved


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` of a Keras-layout weight shape.

    Scalars count 1 and 1; vectors ``n`` and ``n``; a kernel ``(*k, in, out)``
    ``in * prod(k)`` and ``out * prod(k)``. ``input_axes``/``output_axes``, when
    both given, name the axes to multiply instead.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[axis] for axis in input_axes), math.prod(shape[axis] for axis in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


@registry.register_builtin(_MODULE)
class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config()``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype=None).")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())


@registry.register_builtin(_MODULE)
class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return torch.zeros(tuple(shape), dtype=_torch_dtype(dtype))


@registry.register_builtin(_MODULE)
class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return torch.ones(tuple(shape), dtype=_torch_dtype(dtype))


@registry.register_builtin(_MODULE)
class Constant(Initializer):
    """``value`` (a number, or an array broadcast to the shape) everywhere."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        dtype = _torch_dtype(dtype)
        return torch.as_tensor(self.value, dtype=dtype) * torch.ones(tuple(shape), dtype=dtype)

    def get_config(self):
        return {"value": serialize_keras_object(self.value)}


@registry.register_builtin(_MODULE)
class Identity(Initializer):
    """``gain`` times the identity matrix; 2-D shapes only (rectangular allowed)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError("Identity: the initializer can only be used for 2D matrices. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        return self.gain * torch.eye(*shape, dtype=_torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


_TORCH_WINDOWS = {"hann": torch.hann_window, "hamming": torch.hamming_window, "blackman": torch.blackman_window,
                  "bartlett": torch.bartlett_window}


def window_values(window, length, periodic, dtype, device=None):
    """The ``window`` (a name, or values) of ``length`` samples; periodic windows suit spectral analysis."""
    if not isinstance(window, str):
        values = torch.as_tensor(window, dtype=dtype, device=device)
        if values.shape != (length,):
            raise ValueError(f"The window must have shape ({length},). Received: shape={tuple(values.shape)}")
        return values
    if window in _TORCH_WINDOWS:
        return _TORCH_WINDOWS[window](length, periodic=periodic, dtype=dtype, device=device)
    try:
        import scipy.signal  # optional, for the windows torch lacks (Keras takes every window from SciPy)
    except ImportError as error:
        raise ValueError(f"The window {window!r} is not one of {sorted(_TORCH_WINDOWS)}; other windows need SciPy "
                         "(pip install scipy).") from error
    try:
        window = scipy.signal.get_window(window, length, fftbins=periodic)
    except ValueError as error:
        raise ValueError(f"Unknown window {window!r}: expected one of scipy.signal.windows' names. ({error})") from None
    return torch.as_tensor(window, dtype=dtype, device=device)


@registry.register_builtin(_MODULE)
class STFT(Initializer):
    """Kernels of a short-time Fourier transform as a convolution (``STFTSpectrogram``'s): for shape
    ``(frame_length, 1, bins)``, ``cos`` ("real") or ``sin`` ("imag") of ``-2 pi t f / (2 (bins - 1))``,
    times the ``window`` (a name: "hann", "hamming", "blackman", "bartlett" or another of SciPy's; values;
    or None) divided by its "density" (root of its energy) or "spectrum" (sum) scale, or by 1 (None).
    ``periodic`` windows suit spectral analysis."""

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: the `side` argument must be 'real' or 'imag'. Received: side={side!r}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("STFT: the `scaling` argument must be None, 'density' or 'spectrum'. "
                             f"Received: scaling={scaling!r}")
        if isinstance(window, str):
            window_values(window, 1, False, torch.float32)  # an unknown name fails here, as in Keras
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        frame_length, _, bins = shape
        dtype = _torch_dtype(dtype)
        time = torch.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
        frequency = torch.arange(bins, dtype=dtype).reshape(1, 1, bins) / ((bins - 1) * 2)
        angles = -2 * time * frequency * math.pi
        kernel = torch.cos(angles) if self.side == "real" else torch.sin(angles)
        if self.window is None:
            return kernel
        values = window_values(self.window, frame_length, self.periodic, dtype).reshape(frame_length, 1, 1)
        scale = {"density": lambda: values.square().sum().sqrt(), "spectrum": lambda: values.abs().sum(),
                 None: lambda: 1}[self.scaling]()
        return kernel * values / scale

    def get_config(self):
        window = self.window.tolist() if hasattr(self.window, "tolist") else self.window
        return {"side": self.side, "window": window, "periodic": self.periodic, "scaling": self.scaling}


class RandomInitializer(Initializer):
    """Holds the seed: an int, or None for a seed drawn from torch's global RNG at the first call."""

    def __init__(self, seed=None):
        self.seed = check_seed(seed, type(self).__name__)
        self._drawn_seed = None

    def _generator(self):
        """A fresh generator at this initializer's seed, so every call draws the same values."""
        seed = self.seed
        if seed is None:
            if self._drawn_seed is None:
                self._drawn_seed = int(torch.randint(0, 2**62, ()))
            seed = self._drawn_seed
        return torch.Generator().manual_seed(seed)

    def _normal(self, shape, dtype, mean, stddev):
        return torch.empty(tuple(shape), dtype=_torch_dtype(dtype)).normal_(mean, stddev, generator=self._generator())

    def _truncated_normal(self, shape, dtype, mean, stddev):
        """Normal values redrawn until within two standard deviations of the mean."""
        values = torch.empty(tuple(shape), dtype=_torch_dtype(dtype))
        return torch.nn.init.trunc_normal_(values, mean, stddev, mean - 2 * stddev, mean + 2 * stddev,
                                           generator=self._generator())

    def _uniform(self, shape, dtype, minval, maxval):
        return torch.empty(tuple(shape), dtype=_torch_dtype(dtype)).uniform_(minval, maxval,
                                                                             generator=self._generator())

    def get_config(self):
        return {"seed": self.seed}


def _check_stddev(owner, stddev):
    if stddev < 0:
        raise ValueError(f"{owner}: stddev must be >= 0. Received: stddev={stddev!r}")


@registry.register_builtin(_MODULE)
class RandomNormal(RandomInitializer):
    """Normal values with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        _check_stddev("RandomNormal", stddev)
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._normal(shape, dtype, self.mean, self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@registry.register_builtin(_MODULE)
class TruncatedNormal(RandomInitializer):
    """Normal values with ``mean`` and ``stddev``, redrawn when more than two ``stddev`` from the mean."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        _check_stddev("TruncatedNormal", stddev)
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._truncated_normal(shape, dtype, self.mean, self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@registry.register_builtin(_MODULE)
class RandomUniform(RandomInitializer):
    """Uniform values in ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        if minval > maxval:
            raise ValueError(f"RandomUniform: minval must be <= maxval. Received: minval={minval!r}, "
                             f"maxval={maxval!r}")
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._uniform(shape, dtype, self.minval, self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


@registry.register_builtin(_MODULE)
class VarianceScaling(RandomInitializer):
    """Values with variance ``scale / n``, ``n`` being fan_in, fan_out or their mean (``mode``).

    ``distribution``: ``"truncated_normal"`` (``"normal"`` is an alias),
    ``"untruncated_normal"`` or ``"uniform"`` (limit ``sqrt(3 * scale / n)``).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        owner = type(self).__name__
        if scale <= 0.0:
            raise ValueError(f"{owner}: scale must be a positive float. Received: scale={scale!r}")
        modes = ("fan_in", "fan_out", "fan_avg")
        if mode not in modes:
            raise ValueError(f"{owner}: mode must be one of {modes}. Received: mode={mode!r}")
        distributions = ("truncated_normal", "untruncated_normal", "uniform")
        normalized = distribution.lower() if isinstance(distribution, str) else distribution
        normalized = "truncated_normal" if normalized == "normal" else normalized
        if normalized not in distributions:
            raise ValueError(f"{owner}: distribution must be one of {distributions} or 'normal'. "
                             f"Received: distribution={distribution!r}")
        self.scale = scale
        self.mode = mode
        self.distribution = normalized
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            return self._truncated_normal(shape, dtype, 0.0, math.sqrt(scale) / _TRUNCATED_NORMAL_STDDEV)
        if self.distribution == "untruncated_normal":
            return self._normal(shape, dtype, 0.0, math.sqrt(scale))
        limit = math.sqrt(3.0 * scale)
        return self._uniform(shape, dtype, -limit, limit)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _PresetVarianceScaling(VarianceScaling):
    """A VarianceScaling whose scale, mode and distribution are fixed by the class."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


@registry.register_builtin(_MODULE)
class GlorotUniform(_PresetVarianceScaling):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))``."""

    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


@registry.register_builtin(_MODULE)
class GlorotNormal(_PresetVarianceScaling):
    """Truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))``."""

    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


@registry.register_builtin(_MODULE)
class HeUniform(_PresetVarianceScaling):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)``."""

    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"


@registry.register_builtin(_MODULE)
class HeNormal(_PresetVarianceScaling):
    """Truncated normal with ``stddev = sqrt(2 / fan_in)``."""

    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


@registry.register_builtin(_MODULE)
class LecunUniform(_PresetVarianceScaling):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(3 / fan_in)``."""

    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


@registry.register_builtin(_MODULE)
class LecunNormal(_PresetVarianceScaling):
    """Truncated normal with ``stddev = sqrt(1 / fan_in)``."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


@registry.register_builtin(_MODULE)
class Orthogonal(RandomInitializer):
    """``gain`` times a random orthogonal matrix (rows x last axis, for shapes of rank >= 2)."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError("Orthogonal: the tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        dtype = _torch_dtype(dtype)
        num_rows, num_cols = math.prod(shape[:-1]), shape[-1]
        # QR runs in float32/float64 only; half-precision results are cast at the end.
        work_dtype = torch.float64 if dtype == torch.float64 else torch.float32
        flat = self._normal((max(num_rows, num_cols), min(num_rows, num_cols)), work_dtype, 0.0, 1.0)
        q, r = torch.linalg.qr(flat)
        q = q * torch.sign(torch.diagonal(r))
        if num_rows < num_cols:
            q = q.T
        return (self.gain * q.reshape(shape)).to(dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


_ALIASES = {
    "constant": Constant, "glorot_normal": GlorotNormal, "glorot_uniform": GlorotUniform,
    "he_normal": HeNormal, "he_uniform": HeUniform, "identity": Identity, "IdentityInitializer": Identity,
    "initializer": Initializer, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "normal": RandomNormal, "one": Ones, "ones": Ones, "orthogonal": Orthogonal,
    "OrthogonalInitializer": Orthogonal, "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "uniform": RandomUniform, "variance_scaling": VarianceScaling,
    "zero": Zeros, "zeros": Zeros, "STFTInitializer": STFT, "stft": STFT,
}
for _name, _cls in _ALIASES.items():
    registry.register_builtin(_MODULE, name=_name)(_cls)

# Keras's function forms are the classes under snake_case names (``initializers.glorot_uniform(seed=1)``).
constant, zeros, ones, identity, orthogonal = Constant, Zeros, Ones, Identity, Orthogonal
IdentityInitializer, OrthogonalInitializer = Identity, Orthogonal
glorot_normal, glorot_uniform, he_normal, he_uniform = GlorotNormal, GlorotUniform, HeNormal, HeUniform
lecun_normal, lecun_uniform, variance_scaling = LecunNormal, LecunUniform, VarianceScaling
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
STFTInitializer = stft = STFT


def serialize(initializer):
    """The Keras-form config dict of an initializer."""
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """The initializer class named by ``config`` (a name), or an instance rebuilt from a config dict."""
    return deserialize_keras_object(config, module_objects=registry.builtins_of(_MODULE),
                                    custom_objects=custom_objects, printable_module_name="initializer")


def _from_array(array):
    """An initializer returning ``array`` (a tensor or NumPy array), cast to the requested dtype."""
    expected = tuple(array.shape)

    def initialize(shape, dtype=None):
        if tuple(shape) != expected:
            raise ValueError(f"Expected shape={expected} for an array used as an initializer. "
                             f"Received: shape={tuple(shape)}")
        return torch.as_tensor(array, dtype=_torch_dtype(dtype)).clone()

    return initialize


def get(identifier):
    """An initializer from None (None), a name, a config dict, a class, an array or a callable.

    >>> get("glorot_uniform")((3, 4)).shape
    torch.Size([3, 4])
    """
    if isinstance(identifier, (torch.Tensor, np.ndarray, np.generic)):
        return _from_array(identifier)
    return resolve_identifier(identifier, deserialize, "initializer")
