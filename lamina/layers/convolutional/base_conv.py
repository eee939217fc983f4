"""BaseConvolution: the one place that validates, builds, calls, shapes, configures and
describes every convolution layer. Variants (conv, transpose, depthwise, separable, locally
connected) override small hooks: ``_build_weights``, ``_convolve``, ``_output_length``,
``_output_channels`` and ``_describe_axis``.

Data layout: a channels_last input (N, *spatial, C) is handed to PyTorch as the permuted view
(N, C, *spatial) — channels_last memory format, no copy — and the result is permuted back.
"""

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer, Permuted
from lamina.layers.convolutional.padding_report import AxisPadding, PaddingReport
from lamina.ops import arguments
from lamina.ops import padding as padding_ops

def conv1d(x, weight, bias=None, stride=(1,), padding=(0,), dilation=(1,), groups=1):
    """``F.conv1d`` on ``x`` (N, C, W). When the channels are innermost in memory (a channels_last
    (N, W, C) input's view) it runs as the 2D convolution of height 1 on channels_last memory, which
    oneDNN computes in that layout; ``F.conv1d`` would copy the input to (N, C, W) memory first, and
    the result back. The same sums, in the kernel's own order (within float32 rounding of conv1d's);
    measured on 2 x86-64 cores, forward and backward, 32-64 channels, 128-256 steps: 1.4-3x as fast
    (a micro-benchmark of single layers; ``bench/convolution.py`` times the layer). ``stride``, ``padding``,
    ``dilation``: as ``F.conv1d`` takes them."""
    if not channels_innermost(x):
        return F.conv1d(x, weight, bias, stride, padding, dilation, groups)
    outputs = F.conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, _with_height(stride, 1), _with_height(padding, 0),
                       _with_height(dilation, 1), groups)
    return outputs.squeeze(2)


def channels_innermost(x):
    """Whether ``x`` (N, C, W), with more than one channel, holds its channels innermost in memory."""
    return x.dim() == 3 and x.stride(1) == 1 and x.shape[1] > 1


def _with_height(value, height):
    """A conv1d argument (an int, a 1-tuple or a padding mode) as conv2d's, ``height`` for the height."""
    if isinstance(value, str):
        return value
    return (height, *((value,) if isinstance(value, int) else value))


CONV_FUNCTIONS = {1: conv1d, 2: F.conv2d, 3: F.conv3d}
_SERIALIZERS = {"activation": activations.serialize, "initializer": initializers.serialize,
                "regularizer": regularizers.serialize, "constraint": constraints.serialize}


def kernel_memory_format(rank, channels_last):
    """The physical order that lets PyTorch's channels_last kernels use a weight without converting it."""
    if not channels_last or rank == 1:
        return torch.contiguous_format
    return torch.channels_last if rank == 2 else torch.channels_last_3d


def torch_kernel_layout(rank, channels_last):
    """Keras (*k, a, b) stored as PyTorch's (b, a, *k): conv (out, in/groups, *k), transpose (in, out, *k);
    in channels_last memory format when the layer's data is channels_last."""
    return Permuted((rank + 1, rank) + tuple(range(rank)), kernel_memory_format(rank, channels_last))


class BaseConvolution(Layer):
    """Shared machinery of the convolution layers; not used directly.

    Subclasses set ``rank``, ``config_keys`` (Keras's ``get_config`` keys after the base
    Layer's) and implement ``_build_weights(channels)`` and ``_convolve(x)``, where ``x`` is
    (N, C, *spatial) and the result (N, C_out, *spatial_out) includes the bias: a new tensor (or a view of
    one) that nothing else holds and whose producing op's backward does not read it, so that the
    activation runs on it in place (``activations.in_place_form``).
    """

    rank = None
    padding_modes = ("valid", "same")
    transposed = False
    config_keys = ()

    def __init__(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                 bias_initializer, bias_regularizer, bias_constraint, activity_regularizer, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        label = self._label = f"{type(self).__name__} '{self.name}'"
        self.kernel_size = arguments.normalize_tuple(kernel_size, self.rank, "kernel_size", label)
        self.strides = arguments.normalize_tuple(strides, self.rank, "strides", label)
        self.dilation_rate = arguments.normalize_tuple(dilation_rate, self.rank, "dilation_rate", label)
        self.padding = arguments.normalize_padding(padding, label, self.padding_modes)
        self.data_format = arguments.normalize_data_format(data_format, label)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{label}: `strides > 1` is not supported together with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self._activation = activations.hot_path_form(self.activation, own_output=True)
        self._activation_is_elementwise = activations.is_elementwise(self.activation)
        self.use_bias = bool(use_bias)
        self._set_weight_options("bias", bias_initializer, bias_regularizer, bias_constraint)
        self._channels_last = self.data_format == "channels_last"
        self._channel_axis = -1 if self._channels_last else 1
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._pad_plans = {}

    def _add_bias(self, size):
        self.bias = self._add_configured_weight("bias", (size,), "bias", None) if self.use_bias else None

    # ------------------------------------------------------------------ shapes
    def _spatial(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._label}: expected inputs of rank {self.rank + 2} (batch, "
                             f"{'spatial…, channels' if self._channels_last else 'channels, spatial…'}), "
                             f"found rank {len(input_shape)}. Received: input_shape={input_shape}")
        return input_shape[1:-1] if self._channels_last else input_shape[2:]

    def _output_length(self, axis, length):
        return padding_ops.conv_output_length(length, self.kernel_size[axis], self.strides[axis],
                                              self.dilation_rate[axis], self.padding)

    def _output_channels(self, channels):
        return self.filters

    def compute_output_shape(self, input_shape):
        """(batch, *spatial_out, channels_out) or (batch, channels_out, *spatial_out); None stays None."""
        spatial = self._spatial(input_shape)
        lengths = tuple(self._output_length(axis, n) for axis, n in enumerate(spatial))
        if any(n is not None and n <= 0 for n in lengths):
            raise ValueError(f"{self._label}: the output would have a non-positive spatial size {lengths}: the "
                             f"input is too small for kernel_size={self.kernel_size}, strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}, padding={self.padding!r}. "
                             f"Received: input_shape={tuple(input_shape)}")
        channels = self._output_channels(tuple(input_shape)[self._channel_axis])
        if self._channels_last:
            return (input_shape[0],) + lengths + (channels,)
        return (input_shape[0], channels) + lengths

    # ------------------------------------------------------------------ lifecycle
    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{self._label}: the channel dimension of the inputs (axis {self._channel_axis} for "
                             f"data_format={self.data_format!r}) must be known. Received: "
                             f"input_shape={tuple(input_shape)}")
        self._build_weights(channels, input_shape)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes=self._built_axes(input_shape))

    def _built_axes(self, input_shape):
        """The input axes the built weights fix: the channels (locally connected layers: every axis)."""
        return {self._channel_axis: input_shape[self._channel_axis]}

    def call(self, inputs):
        if not self._channels_last:
            outputs = self._convolve(inputs)
            return outputs if self._activation is None else self._activation(outputs)
        return self._call_channels_first(inputs.movedim(-1, 1), None).movedim(1, -1)

    def _channels_first_form(self):
        return "moves" if self._channels_last and type(self).call is BaseConvolution.call else None

    def _call_channels_first(self, x, training):
        outputs = self._convolve(x)
        if self._activation is None:
            return outputs
        if self._activation_is_elementwise:
            return self._activation(outputs)
        return self._activation(outputs.movedim(1, -1)).movedim(-1, 1)  # along the channels_last axes

    def _padded(self, x):
        """``x`` (N, C, *spatial) padded as the layer's padding needs: (x, the kernel's symmetric padding).

        The symmetric part of each axis's padding goes to the kernel; only the odd "same" cell or the
        "causal" left padding is padded explicitly. Plans are cached per spatial shape.
        """
        spatial = tuple(x.shape[2:])
        plan = self._pad_plans.get(spatial)
        if plan is None:
            pairs = [padding_ops.conv_padding(n, k, s, d, self.padding)
                     for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]
            plan = self._pad_plans[spatial] = padding_ops.split_padding(pairs)
        explicit, symmetric = plan
        if explicit is None:
            return x, symmetric
        if channels_innermost(x):  # (see conv1d): padded in that memory order
            return F.pad(x.movedim(1, -1), (0, 0, *explicit)).movedim(-1, 1), symmetric
        return F.pad(x, explicit), symmetric

    # ------------------------------------------------------------------ padding you can see
    def describe_padding(self, input_shape):
        """Per spatial axis: input size, kernel, stride, dilation, padding before/after, output size
        and formula, for inputs of ``input_shape`` (batch and channels included; None allowed).

        >>> print(Conv2D(8, 3, strides=2, padding="same").describe_padding((None, 10, 9, 3)))
        """
        rows = [AxisPadding(axis, n, self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis],
                            *self._describe_axis(axis, n))
                for axis, n in enumerate(self._spatial(input_shape))]
        return PaddingReport(f"{type(self).__name__} '{self.name}'", self.padding, self.transposed, rows)

    def _describe_axis(self, axis, n):
        """(before, after, output, formula) of a (non-transposed) convolution along ``axis``."""
        k, s, d = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
        span = padding_ops.effective_kernel(k, d)
        output = self._output_length(axis, n)
        pads = padding_ops.conv_padding(n, k, s, d, self.padding) or (None, None)
        shown = "n" if n is None else n
        if self.padding == "valid":
            formula = f"floor((n - k') / s) + 1 = floor(({shown} - {span}) / {s}) + 1"
        elif self.padding == "causal":
            formula = f"n; (k - 1)·d = {span - 1} cells padded before"
        else:
            formula = (f"ceil(n / s) = ceil({shown} / {s}); total pad = max((out - 1)·s + k' - n, 0), "
                       f"k' = {span}, odd cell after")
        return pads[0], pads[1], output, formula

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        for key in self.config_keys:
            kind = "activation" if key == "activation" else key.rsplit("_", 1)[-1]
            value = getattr(self, key)
            config[key] = _SERIALIZERS[kind](value) if kind in _SERIALIZERS else value
        return config
