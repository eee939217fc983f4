"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose: the gradient of a convolution, with Keras's
output lengths (docs/padding.md). Keras kernel layout (*kernel_size, filters, in_channels), stored
as PyTorch's (in_channels, filters, *k)."""

import torch
import torch.nn.functional as F

from lamina.engine.weights import read_weight
from lamina.layers.convolutional.base_conv import BaseConvolution, torch_kernel_layout
from lamina.ops import arguments
from lamina.ops import padding as padding_ops
from lamina.registry import register_builtin

_TRANSPOSE_FUNCTIONS = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


class BaseConvTranspose(BaseConvolution):
    """An N-D transposed convolution.

    Args:
        filters: number of output channels.
        kernel_size, strides, dilation_rate: an int or a tuple of ``rank`` ints.
        padding: "valid" (output (n - 1)·s + max(k', s)) or "same" (output n·s), case-insensitive;
            k' = (k - 1)·d + 1.
        output_padding: None, or an int / tuple of ints each < its stride: the output length becomes
            (n - 1)·s + k' - 2·pad + output_padding, pad = k'//2 for "same", 0 for "valid".
        data_format, activation, use_bias, kernel_/bias_ initializer, regularizer, constraint,
        activity_regularizer: as in Keras.

    Input: (batch, *spatial, channels) (channels_last) or (batch, channels, *spatial).
    Output: the same layout with ``filters`` channels and the lengths above.
    """

    transposed = True
    config_keys = ("filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
                   "dilation_rate", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                   "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                   "bias_constraint")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, bias_constraint, activity_regularizer, **kwargs)
        self.filters = arguments.check_positive_int(filters, "filters", self._label)
        self.output_padding = None if output_padding is None else arguments.normalize_tuple(
            output_padding, self.rank, "output_padding", self._label, allow_zero=True)
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{self._label}: each `output_padding` value must be strictly less than the "
                             f"corresponding stride. Received: output_padding={self.output_padding}, "
                             f"strides={self.strides}")
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self._plan_torch_arguments()

    def _crop(self, axis):
        padding = None if self.output_padding is None else self.output_padding[axis]
        return padding_ops.transpose_crop(self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis],
                                          self.padding, padding)

    def _plan_torch_arguments(self):
        """PyTorch crops ``padding`` from both ends of the full output and appends ``output_padding``
        (< stride) cells at the end. Keras's window (``_crop``) is reached with ``padding = before``,
        ``output_padding = before - after`` whenever ``before >= after``. Otherwise, and also when that
        length is not a multiple of the stride while PyTorch allows a larger ``output_padding`` (Keras's
        default ``Conv2DTranspose(k, strides=2)``: "valid", odd length 2n + 1), the result is computed
        longer, a multiple of the stride, and its end cropped: oneDNN runs a deconvolution of any other
        length through its generic path (2.6x slower with a bias, measured in docs/padding.md; "valid"
        k=3, s=2 on 64x16x16x32: forward 6.6 -> 4.6 ms)."""
        paddings, output_paddings, trims = [], [], []
        for axis in range(self.rank):
            before, after = self._crop(axis)
            output_padding = before - after
            span = padding_ops.effective_kernel(self.kernel_size[axis], self.dilation_rate[axis])
            # the computed length (n - 1)·s + span - 2·before + output_padding ≡ 0 (mod s), if PyTorch allows it
            aligned = (2 * before - span) % self.strides[axis]
            if output_padding < 0 or output_padding < aligned < max(self.strides[axis], self.dilation_rate[axis]):
                output_padding = aligned
            paddings.append(before)
            output_paddings.append(output_padding)
            trims.append(output_padding - (before - after))
        self._torch_padding = tuple(paddings)
        self._torch_output_padding = tuple(output_paddings)
        self._trim = None
        if any(trims):
            self._trim = (slice(None),) * 2 + tuple(slice(0, -t if t else None) for t in trims)
            self._trim_pads = tuple(p for t in reversed(trims) for p in (0, -t))
        self._bias_shape = (-1,) + (1,) * self.rank
        self._conv_transpose = _TRANSPOSE_FUNCTIONS[self.rank]
        # oneDNN's kernel gradient of a channels_last 1x1 2-D deconvolution with an output_padding > 0 writes
        # out of bounds on CPU (heap corruption: "free(): invalid size", a segfault; torch 2.13.0, one thread,
        # an AVX2 AMD EPYC): under autograd those run in contiguous memory, which takes another kernel (the
        # kernel cloned: a 1x1 kernel's .contiguous() is itself, with the strides that select channels_last).
        self._kernel_gradient_contiguous = self.rank == 2 and self._channels_last \
            and self.kernel_size == (1, 1) and any(self._torch_output_padding)

    def _build_weights(self, channels, input_shape):
        self.kernel = self._add_configured_weight("kernel", self.kernel_size + (self.filters, channels), "kernel",
                                       torch_kernel_layout(self.rank, self._channels_last))
        self._add_bias(self.filters)

    def _output_length(self, axis, length):
        padding = None if self.output_padding is None else self.output_padding[axis]
        return padding_ops.deconv_output_length(length, self.kernel_size[axis], self.strides[axis],
                                                self.dilation_rate[axis], self.padding, padding)

    def _convolve(self, x):
        """Under autograd, a cropped end goes through ``F.pad`` (negative pads), whose backward is one pad
        in the output's memory format (a slice's backward fills zeros and copies, once per axis), and for
        channels_last data a trained bias is added outside the kernel: oneDNN's channels_last
        deconvolution reduces a fused bias's gradient several times slower than the kernel's gradient.
        Otherwise the bias is fused and the crop is a view."""
        tracking = torch.is_grad_enabled()
        bias, kernel = read_weight(self, "bias"), read_weight(self, "kernel")
        bias_outside = tracking and self._channels_last and bias is not None and bias.requires_grad
        if tracking and self._kernel_gradient_contiguous and x.device.type == "cpu":
            x, kernel = x.contiguous(), kernel.clone(memory_format=torch.contiguous_format)
        outputs = self._conv_transpose(x, kernel, None if bias_outside else bias, self.strides,
                                       self._torch_padding, self._torch_output_padding, 1, self.dilation_rate)
        if self._trim is not None:
            outputs = F.pad(outputs, self._trim_pads) if tracking else outputs[self._trim]
        return outputs + bias.view(self._bias_shape).to(outputs.dtype) if bias_outside else outputs

    def _describe_axis(self, axis, n):
        k, s, d = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
        span = padding_ops.effective_kernel(k, d)
        before, after = self._crop(axis)
        shown = "n" if n is None else n
        if self.output_padding is not None:
            formula = (f"(n - 1)·s + k' - 2·pad + output_padding = ({shown} - 1)·{s} + {span} - "
                       f"2·{padding_ops.transpose_padding(k, d, self.padding)} + {self.output_padding[axis]}")
        elif self.padding == "valid":
            formula = f"(n - 1)·s + max(k', s) = ({shown} - 1)·{s} + max({span}, {s})"
        else:
            formula = f"n·s = {shown}·{s}"
        return before, after, self._output_length(axis, n), formula


@register_builtin("keras.layers")
class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution over (batch, steps, channels) or (batch, channels, steps).

    >>> Conv1DTranspose(4, 3, strides=2, padding="same")(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 10, 4])
    """

    rank = 1


@register_builtin("keras.layers")
class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution over (batch, rows, cols, channels) or (batch, channels, rows, cols).

    >>> Conv2DTranspose(4, 3, strides=2)(torch.zeros(2, 5, 5, 3)).shape
    torch.Size([2, 11, 11, 4])
    """

    rank = 2


@register_builtin("keras.layers")
class Conv3DTranspose(BaseConvTranspose):
    """3D transposed convolution over (batch, d1, d2, d3, channels) or (batch, channels, d1, d2, d3).

    >>> Conv3DTranspose(4, 2, strides=2)(torch.zeros(1, 3, 3, 3, 2)).shape
    torch.Size([1, 6, 6, 6, 4])
    """

    rank = 3


# Keras's alternative names: the same classes, found under these names in configs too.
Convolution1DTranspose = register_builtin("keras.layers", name="Convolution1DTranspose")(Conv1DTranspose)
Convolution2DTranspose = register_builtin("keras.layers", name="Convolution2DTranspose")(Conv2DTranspose)
Convolution3DTranspose = register_builtin("keras.layers", name="Convolution3DTranspose")(Conv3DTranspose)
