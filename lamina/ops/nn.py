"""Neural-network ops (``keras.ops.nn``): activations, softmax, convolutions, pooling, normalization,
one-hot encodings, cross-entropies, attention, CTC.

Spatial ops take ``data_format`` (None: the global ``image_data_format``); channels_last tensors reach
torch's kernels as NCHW views (a permute, no copy). "same" padding is Keras's (the odd cell after);
average pooling with "same" averages only real cells (Keras's rule; see docs/keras_torch_departures.md).
"""

import torch
import torch.nn.functional as F

from lamina import config
from lamina.dtypes import result_type
from lamina.ops.arguments import normalize_data_format, normalize_tuple
from lamina.ops.ctc import ctc_decode, ctc_loss  # noqa: F401  (public in ops.nn, as in Keras)
from lamina.ops.keras_op import keras_op, unary_op
from lamina.ops.padding import conv_padding, split_padding, transpose_crop
from lamina.ops.tensors import dtype_name, floatx, to_tensor, torch_dtype


def _activation(name, class_name, compute, doc):
    return unary_op(name, class_name, "nn", compute, doc, __name__)


relu = _activation("relu", "Relu", F.relu, "``max(x, 0)``.")
relu6 = _activation("relu6", "Relu6", F.relu6, "``min(max(x, 0), 6)``.")
sigmoid = _activation("sigmoid", "Sigmoid", torch.sigmoid, "``1 / (1 + exp(-x))``.")
softplus = _activation("softplus", "Softplus", F.softplus, "``log(1 + exp(x))``.")
softsign = _activation("softsign", "Softsign", F.softsign, "``x / (1 + |x|)``.")
silu = _activation("silu", "Silu", F.silu, "``x * sigmoid(x)`` (also called swish).")
swish = silu
log_sigmoid = _activation("log_sigmoid", "LogSigmoid", F.logsigmoid, "``log(sigmoid(x))``, computed stably.")
hard_sigmoid = _activation("hard_sigmoid", "HardSigmoid", F.hardsigmoid, "``relu6(x + 3) / 6``.")
hard_silu = _activation("hard_silu", "HardSilu", F.hardswish, "``x * relu6(x + 3) / 6`` (also hard_swish).")
hard_swish = hard_silu
selu = _activation("selu", "Selu", F.selu, "Scaled ELU (``scale * elu(x, alpha)``, Klambauer et al.).")
tanh_shrink = _activation("tanh_shrink", "TanhShrink", F.tanhshrink, "``x - tanh(x)``.")
hard_tanh = _activation("hard_tanh", "HardTanh", lambda x: F.hardtanh(x, -1.0, 1.0), "``clip(x, -1, 1)``.")


def _sparse_sigmoid(x):
    return torch.where(x <= -1, 0.0, torch.where(x >= 1, 1.0, 0.5 * (x + 1))).to(x.dtype)


def _sparse_plus(x):
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


sparse_sigmoid = _activation("sparse_sigmoid", "SparseSigmoid", _sparse_sigmoid,
                             "0 below -1, 1 above 1, ``(x + 1) / 2`` between.")
sparse_plus = _activation("sparse_plus", "SparsePlus", _sparse_plus, "0 below -1, x above 1, ``(x+1)**2/4`` between.")


@keras_op("LeakyRelu", "nn", config=("negative_slope",))
def leaky_relu(x, negative_slope=0.2):
    """``x`` for x >= 0, ``negative_slope * x`` below."""
    return F.leaky_relu(to_tensor(x), negative_slope)


@keras_op("Elu", "nn", config=("alpha",))
def elu(x, alpha=1.0):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` below."""
    return F.elu(to_tensor(x), alpha)


@keras_op("Celu", "nn", config=("alpha",))
def celu(x, alpha=1.0):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return F.celu(to_tensor(x), alpha)


@keras_op("Gelu", "nn", config=("approximate",))
def gelu(x, approximate=True):
    """The Gaussian error linear unit (its tanh approximation when ``approximate``)."""
    return F.gelu(to_tensor(x), approximate="tanh" if approximate else "none")


@keras_op("Glu", "nn", config=("axis",))
def glu(x, axis=-1):
    """``a * sigmoid(b)`` for the two halves a, b of ``x`` along ``axis``."""
    return F.glu(to_tensor(x), dim=axis)


@keras_op("SoftShrink", "nn", config=("threshold",))
def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above threshold, ``x + threshold`` below -threshold, 0 between."""
    return F.softshrink(to_tensor(x), threshold)


@keras_op("HardShrink", "nn", config=("threshold",))
def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    return F.hardshrink(to_tensor(x), threshold)


@keras_op("Squareplus", "nn", config=("b",))
def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``."""
    x = to_tensor(x)
    return (x + torch.sqrt(x * x + b)) / 2


@keras_op("Threshold", "nn", config=("threshold", "default_value"))
def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    return F.threshold(to_tensor(x), threshold, default_value)


def _over_axes(torch_fn, x, axis):
    """A normalizing function over ``axis`` (None: every axis; a tuple: those axes jointly)."""
    if axis is None or isinstance(axis, (tuple, list)):
        axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in axis)
        keep = [d for d in range(x.ndim) if d not in axes]
        moved = x.permute(*keep, *axes)
        out = torch_fn(moved.reshape(*moved.shape[:len(keep)], -1), dim=-1).reshape(moved.shape)
        return out.permute(*sorted(range(x.ndim), key=(keep + list(axes)).__getitem__))
    return torch_fn(x, dim=axis)


@keras_op("Softmax", "nn", config=("axis",))
def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` over ``axis`` (an int, a tuple, or None for every axis)."""
    x = to_tensor(x)
    if x.dtype is torch.float16 and x.device.type == "cpu":
        return _over_axes(F.softmax, x.float(), axis).half()
    return _over_axes(F.softmax, x, axis)


@keras_op("LogSoftmax", "nn", config=("axis",))
def log_softmax(x, axis=-1):
    """``log(softmax(x))`` over ``axis``, computed stably."""
    x = to_tensor(x)
    if x.dtype is torch.float16 and x.device.type == "cpu":
        return _over_axes(F.log_softmax, x.float(), axis).half()
    return _over_axes(F.log_softmax, x, axis)


@keras_op("Sparsemax", "nn", config=("axis",))
def sparsemax(x, axis=-1):
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis`` (sparse softmax)."""
    x = to_tensor(x)
    ordered = torch.sort(x, dim=axis, descending=True).values
    cumulative = torch.cumsum(ordered, dim=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    ranks = torch.arange(1, x.shape[axis] + 1, dtype=x.dtype, device=x.device).reshape(shape)
    support = ordered - (cumulative - 1) / ranks > 0
    k = support.sum(dim=axis, keepdim=True)
    tau = (torch.where(support, cumulative, 0).sum(dim=axis, keepdim=True) - 1) / k
    return torch.clamp(x - tau, min=0)


# ------------------------------------------------------------------------------- spatial ops
def _spatial_prepare(values):
    values["data_format"] = normalize_data_format(values.get("data_format"))
    if isinstance(values.get("padding"), str):
        values["padding"] = values["padding"].lower()


def _to_channels_first(x, data_format):
    return x.movedim(-1, 1) if data_format == "channels_last" else x


def _from_channels_first(x, data_format):
    return x.movedim(1, -1) if data_format == "channels_last" else x


def _apply_padding(x, window, strides, dilation, padding, value=0.0):
    """(input, kernel padding) for a window op: Keras's padding, symmetric part left to the kernel."""
    spatial = x.shape[2:]
    pairs = [conv_padding(n, k, s, d, padding) for n, k, s, d in zip(spatial, window, strides, dilation)]
    explicit, symmetric = split_padding(pairs)
    if explicit is not None:
        x = F.pad(x, explicit, value=value)
    return x, symmetric


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _torch_kernel(kernel):
    """A Keras conv kernel ``(*k, in, out)`` as torch's ``(out, in, *k)`` (a view)."""
    rank = kernel.ndim - 2
    return kernel.permute(rank + 1, rank, *range(rank))


def _conv(inputs, kernel, strides, padding, data_format, dilation_rate, name="conv"):
    inputs, kernel = to_tensor(inputs), to_tensor(kernel)
    rank = inputs.ndim - 2
    if rank not in _CONV:
        raise ValueError(f"{name}: inputs must be 3-D, 4-D or 5-D (1 to 3 spatial axes). "
                         f"Received: inputs.shape={tuple(inputs.shape)}")
    data_format = normalize_data_format(data_format, name)
    strides = normalize_tuple(strides, rank, "strides", name)
    dilation = normalize_tuple(dilation_rate, rank, "dilation_rate", name)
    x = _to_channels_first(inputs, data_format)
    weight = _torch_kernel(kernel.to(x.dtype))
    if x.shape[1] % weight.shape[1]:
        raise ValueError(f"{name}: the input channels ({x.shape[1]}) must be a multiple of the kernel's input "
                         f"channels ({weight.shape[1]}). Received: inputs.shape={tuple(inputs.shape)}, "
                         f"kernel.shape={tuple(kernel.shape)}")
    x, symmetric = _apply_padding(x, weight.shape[2:], strides, dilation, padding.lower())
    out = _CONV[rank](x, weight, None, strides, symmetric, dilation, x.shape[1] // weight.shape[1])
    return _from_channels_first(out, data_format)


@keras_op("Conv", "nn", config=("strides", "padding", "data_format", "dilation_rate"), prepare=_spatial_prepare)
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (cross-correlation). ``kernel``: ``(*kernel_size, in_channels / groups, filters)``;
    groups are ``in_channels / kernel.shape[-2]``."""
    return _conv(inputs, kernel, strides, padding, data_format, dilation_rate)


@keras_op("DepthwiseConv", "nn", config=("strides", "padding", "data_format", "dilation_rate"),
          prepare=_spatial_prepare)
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution: each channel with its own ``depth_multiplier`` filters.
    ``kernel``: ``(*kernel_size, in_channels, depth_multiplier)``."""
    kernel = to_tensor(kernel)
    kernel = kernel.reshape(*kernel.shape[:-2], 1, kernel.shape[-2] * kernel.shape[-1])
    return _conv(inputs, kernel, strides, padding, data_format, dilation_rate, "depthwise_conv")


@keras_op("SeparableConv", "nn", config=("strides", "padding", "data_format", "dilation_rate"),
          prepare=_spatial_prepare)
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution."""
    hidden = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return _conv(hidden, pointwise_kernel, 1, "valid", data_format, 1, "separable_conv")


@keras_op("ConvTranspose", "nn", config=("strides", "padding", "output_padding", "data_format", "dilation_rate"),
          prepare=_spatial_prepare)
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed convolution. ``kernel``: ``(*kernel_size, filters, in_channels)``; output lengths follow
    Keras's ``deconv_output_length``."""
    inputs, kernel = to_tensor(inputs), to_tensor(kernel)
    rank = inputs.ndim - 2
    data_format = normalize_data_format(data_format, "conv_transpose")
    strides = normalize_tuple(strides, rank, "strides", "conv_transpose")
    dilation = normalize_tuple(dilation_rate, rank, "dilation_rate", "conv_transpose")
    output_padding = (None,) * rank if output_padding is None else \
        normalize_tuple(output_padding, rank, "output_padding", "conv_transpose", allow_zero=True)
    x = _to_channels_first(inputs, data_format)
    weight = kernel.to(x.dtype).permute(rank + 1, rank, *range(rank))  # (in, out, *k)
    out = _CONV_TRANSPOSE[rank](x, weight, None, strides, 0, 0, 1, dilation)
    slices, pads = [slice(None), slice(None)], []
    for axis, (k, s, d, p) in enumerate(zip(kernel.shape[:rank], strides, dilation, output_padding)):
        before, after = transpose_crop(k, s, d, padding.lower(), p)
        length = out.shape[2 + axis]
        slices.append(slice(before, length - after if after > 0 else length))
        pads.append((0, -after if after < 0 else 0))
    out = out[tuple(slices)]
    if any(extra for _, extra in pads):
        out = F.pad(out, [v for pair in reversed(pads) for v in pair])
    return _from_channels_first(out, data_format)


_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _pool_arguments(inputs, pool_size, strides, data_format, name):
    inputs = to_tensor(inputs)
    rank = inputs.ndim - 2
    if rank not in _MAX_POOL:
        raise ValueError(f"{name}: inputs must be 3-D, 4-D or 5-D. Received: inputs.shape={tuple(inputs.shape)}")
    pool_size = normalize_tuple(pool_size, rank, "pool_size", name)
    strides = pool_size if strides is None else normalize_tuple(strides, rank, "strides", name)
    data_format = normalize_data_format(data_format, name)
    return _to_channels_first(inputs, data_format), rank, pool_size, strides, data_format


@keras_op("MaxPool", "nn", config=("pool_size", "strides", "padding", "data_format"), prepare=_spatial_prepare)
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over windows of ``pool_size`` (strides default to ``pool_size``)."""
    x, rank, pool_size, strides, data_format = _pool_arguments(inputs, pool_size, strides, data_format, "max_pool")
    x, symmetric = _apply_padding(x, pool_size, strides, (1,) * rank, padding.lower(), value=float("-inf"))
    return _from_channels_first(_MAX_POOL[rank](x, pool_size, strides, symmetric), data_format)


@keras_op("AveragePool", "nn", config=("pool_size", "strides", "padding", "data_format"), prepare=_spatial_prepare)
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling; with "same", padded cells are not counted (Keras's rule)."""
    x, rank, pool_size, strides, data_format = _pool_arguments(inputs, pool_size, strides, data_format,
                                                               "average_pool")
    spatial = x.shape[2:]
    pairs = [conv_padding(n, k, s, 1, padding.lower()) for n, k, s in zip(spatial, pool_size, strides)]
    explicit, symmetric = split_padding(pairs)
    if explicit is None:
        out = _AVG_POOL[rank](x, pool_size, strides, symmetric, count_include_pad=False)
    else:
        # Asymmetric padding: sums over zero-padded windows divided by the count of real cells.
        sums = _AVG_POOL[rank](F.pad(x, explicit), pool_size, strides, symmetric, count_include_pad=True)
        ones = F.pad(torch.ones((1, 1) + tuple(spatial), dtype=x.dtype, device=x.device), explicit)
        counts = _AVG_POOL[rank](ones, pool_size, strides, symmetric, count_include_pad=True)
        out = sums / counts
    return _from_channels_first(out, data_format)


def _adaptive(torch_fns, inputs, output_size, data_format, name):
    inputs = to_tensor(inputs)
    rank = inputs.ndim - 2
    data_format = normalize_data_format(data_format, name)
    size = output_size if rank == 1 and isinstance(output_size, int) else \
        normalize_tuple(output_size, rank, "output_size", name)
    out = torch_fns[rank](_to_channels_first(inputs, data_format), size)
    return _from_channels_first(out[0] if isinstance(out, tuple) else out, data_format)


@keras_op("AdaptiveAveragePool", "nn", config=("output_size", "data_format"), prepare=_spatial_prepare)
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed ``output_size`` (windows as torch's adaptive pooling)."""
    return _adaptive({1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d},
                     inputs, output_size, data_format, "adaptive_average_pool")


@keras_op("AdaptiveMaxPool", "nn", config=("output_size", "data_format"), prepare=_spatial_prepare)
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed ``output_size``."""
    return _adaptive({1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d},
                     inputs, output_size, data_format, "adaptive_max_pool")


@keras_op("Unfold", "nn", config=("kernel_size", "dilation", "padding", "stride"))
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of an NCHW tensor: ``(N, C * kh * kw, blocks)`` (torch's ``unfold``)."""
    x = to_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"unfold: the input must be 4-D (N, C, H, W). Received: shape={tuple(x.shape)}")
    return F.unfold(x, kernel_size, dilation=dilation, padding=padding, stride=stride)


@keras_op("Fold", "nn", config=("output_size", "kernel_size", "dilation", "padding", "stride"))
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sums sliding blocks ``(N, C * kh * kw, blocks)`` back into an ``(N, C, *output_size)`` tensor."""
    x = to_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"fold: the input must be 3-D. Received: shape={tuple(x.shape)}")
    return F.fold(x, output_size, kernel_size, dilation=dilation, padding=padding, stride=stride)


@keras_op("DepthToSpace", "nn", config=("block_size", "data_format"))
def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves channel blocks into ``block_size x block_size`` spatial blocks (TensorFlow's order)."""
    x = to_tensor(x)
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        return x.reshape(n, h, w, b, b, c // (b * b)).permute(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, c // (b * b))
    n, c, h, w = x.shape
    return x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c // (b * b), h * b, w * b)


@keras_op("SpaceToDepth", "nn", config=("block_size", "data_format"))
def space_to_depth(x, block_size, data_format="channels_last"):
    """Moves ``block_size x block_size`` spatial blocks into channels (the inverse of ``depth_to_space``)."""
    x = to_tensor(x)
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        return x.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, c * b * b)
    n, c, h, w = x.shape
    return x.reshape(n, c, h // b, b, w // b, b).permute(0, 1, 3, 5, 2, 4).reshape(n, c * b * b, h // b, w // b)


# ------------------------------------------------------------------------------- encodings
def _dtype_prepare(values):
    values["dtype"] = None if values.get("dtype") is None else dtype_name(torch.empty(0, dtype=torch_dtype(
        values["dtype"])))


@keras_op("OneHot", "nn", config=("num_classes", "axis", "dtype", "sparse"), prepare=_dtype_prepare)
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot vectors of length ``num_classes`` for the integer tensor ``x`` (negative values give zeros),
    inserted at ``axis``."""
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported (lamina has no sparse tensors).")
    x = to_tensor(x).long()
    out = F.one_hot(x.clamp(min=0), num_classes)
    out = (out * (x >= 0).unsqueeze(-1)).to(floatx() if dtype is None else torch_dtype(dtype))
    if axis != -1 and axis != out.ndim - 1:
        out = out.movedim(-1, axis)
    return out


@keras_op("MultiHot", "nn", config=("num_classes", "axis", "dtype", "sparse"), prepare=_dtype_prepare)
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """One multi-hot vector per row of integer ``inputs`` (1 where the class appears)."""
    num_classes = kwargs.pop("num_tokens", num_classes)
    if num_classes is None:
        raise ValueError("multi_hot: the `num_classes` argument must be given.")
    x = to_tensor(inputs)
    encoded = one_hot(x.to(torch.int32), num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return torch.amax(encoded, dim=1 if x.ndim > 1 else 0)


# ------------------------------------------------------------------------------- losses
def _epsilon_clip(output):
    epsilon = config.epsilon()
    return torch.clamp(output, epsilon, 1.0 - epsilon)


@keras_op("BinaryCrossentropy", "nn", config=("from_logits",))
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy (``output`` probabilities, or logits with ``from_logits``)."""
    target, output = to_tensor(target), to_tensor(output)
    if target.shape != output.shape:
        raise ValueError("binary_crossentropy: `target` and `output` must have the same shape. Received: "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")
    target = target.to(output.dtype)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    return F.binary_cross_entropy(_epsilon_clip(output), target, reduction="none")


@keras_op("CategoricalCrossentropy", "nn", config=("from_logits", "axis"))
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) ``target`` and ``output`` along ``axis``."""
    target, output = to_tensor(target), to_tensor(output)
    if target.shape != output.shape or target.ndim < 1:
        raise ValueError("categorical_crossentropy: `target` and `output` must have the same shape, of rank >= 1. "
                         f"Received: target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")
    if from_logits:
        log_prob = F.log_softmax(output, dim=axis)
    else:
        log_prob = torch.log(_epsilon_clip(output / output.sum(dim=axis, keepdim=True)))
    return -torch.sum(target * log_prob, dim=axis)


@keras_op("SparseCategoricalCrossentropy", "nn", config=("from_logits", "axis"))
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer ``target`` and ``output`` along ``axis`` (no one-hot matrix is built)."""
    target, output = to_tensor(target).long(), to_tensor(output)
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = target.squeeze(axis)
    expected = list(output.shape)
    del expected[axis]
    if output.ndim < 1 or list(target.shape) != expected:
        raise ValueError("sparse_categorical_crossentropy: `target` must have the shape of `output` without its "
                         f"class axis. Received: target.shape={tuple(target.shape)}, "
                         f"output.shape={tuple(output.shape)}")
    squeeze = output.ndim == 1
    if squeeze:
        output, target = output.unsqueeze(0), target.unsqueeze(0)
    else:
        output = output.movedim(axis % output.ndim, 1)
    if from_logits:
        loss = F.cross_entropy(output, target, reduction="none")
    else:
        loss = F.nll_loss(torch.log(_epsilon_clip(output / output.sum(dim=1, keepdim=True))), target,
                          reduction="none")
    return loss.squeeze(0) if squeeze else loss


# -------------------------------------------------------------------------- normalization
@keras_op("Moments", "nn", config=("axes", "keepdims", "synchronized"))
def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) over ``axes`` (float16 computed in float32)."""
    if synchronized:
        raise NotImplementedError("moments: synchronized=True needs a distributed reduction; torch.distributed "
                                  "users can all-reduce the results themselves.")
    x = to_tensor(x)
    original = x.dtype
    if original is torch.float16:
        x = x.float()
    dims = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    mean = torch.mean(x, dim=dims, keepdim=True)
    variance = torch.mean(torch.square(x), dim=dims, keepdim=True) - torch.square(mean)
    if not keepdims:
        mean, variance = mean.squeeze(dims), variance.squeeze(dims)
    if original is torch.float16:
        limit = torch.finfo(torch.float16).max
        mean, variance = mean.clamp(-limit, limit).half(), variance.clamp(-limit, limit).half()
    return mean, variance


@keras_op("BatchNorm", "nn", config=("axis", "epsilon"))
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with the 1-D statistics along ``axis``."""
    x = to_tensor(x)
    shape = [1] * x.ndim
    shape[axis] = -1

    def along(value):
        return to_tensor(value, device=x.device).reshape(shape)

    inv = torch.rsqrt(along(variance) + epsilon)
    if scale is not None:
        inv = inv * along(scale)
    out = (x - along(mean)) * inv
    return out + along(offset) if offset is not None else out


def _contiguous_axes(axes, ndim):
    axes = sorted(a % ndim for a in axes)
    return axes == list(range(axes[0], axes[-1] + 1)) and axes[-1] == ndim - 1


@keras_op("LayerNorm", "nn", config=("axis", "epsilon", ("rms_scaling", False)))
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Normalizes ``x`` over ``axis`` to zero mean and unit variance, then ``* gamma + beta``
    (computed in at least float32)."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = to_tensor(x)
    original = x.dtype
    compute = torch_dtype(result_type(dtype_name(x), "float32"))
    x = x.to(compute)
    axes = [axis] if isinstance(axis, int) else list(axis)
    gamma = None if gamma is None else to_tensor(gamma, dtype=compute, device=x.device)
    beta = None if beta is None else to_tensor(beta, dtype=compute, device=x.device)
    if rms_scaling:
        out = x * torch.rsqrt(torch.var(x, dim=axes, keepdim=True, correction=0) + epsilon)
        return (out * gamma if gamma is not None else out).to(original)
    if _contiguous_axes(axes, x.ndim):
        shape = tuple(x.shape[a] for a in sorted(a % x.ndim for a in axes))
        return F.layer_norm(x, shape, gamma.reshape(shape) if gamma is not None else None,
                            beta.reshape(shape) if beta is not None else None, epsilon).to(original)
    broadcast = [x.shape[d] if d in {a % x.ndim for a in axes} else 1 for d in range(x.ndim)]
    mean, variance = moments(x, axes, keepdims=True)
    inv = torch.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma.reshape(broadcast)
    out = x * inv - mean * inv
    return (out + beta.reshape(broadcast) if beta is not None else out).to(original)


@keras_op("RMSNorm", "nn", config=("axis", "epsilon"), call_kwargs=("scale",))
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """``x / sqrt(mean(x**2) + epsilon) * scale`` over ``axis`` (computed in at least float32)."""
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = to_tensor(x)
    original = x.dtype
    x = x.to(torch_dtype(result_type(dtype_name(x), "float32")))
    scale = None if scale is None else to_tensor(scale, dtype=x.dtype, device=x.device)
    axes = [axis] if isinstance(axis, int) else list(axis)
    if x.ndim and _contiguous_axes(axes, x.ndim):
        shape = tuple(x.shape[a] for a in sorted(a % x.ndim for a in axes))
        return F.rms_norm(x, shape, scale, epsilon).to(original)
    out = x * torch.rsqrt(torch.mean(torch.square(x), dim=axes, keepdim=True) + epsilon)
    return (out * scale if scale is not None else out).to(original)


@keras_op("Normalize", "nn", config=("axis", "order", "epsilon"))
def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm over ``axis`` (norms floored at ``epsilon``)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: `order` must be an int >= 1. Received: order={order!r}")
    x = to_tensor(x)
    if x.ndim == 0:
        x = x.unsqueeze(0)
    epsilon = config.epsilon() if epsilon is None else epsilon
    if order == 2:
        inv = torch.rsqrt(torch.sum(torch.square(x), dim=axis, keepdim=True))
        return x * torch.clamp(inv, max=1.0 / epsilon)
    norm = torch.linalg.vector_norm(x.to(torch.promote_types(x.dtype, floatx())), ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norm, min=epsilon)


@keras_op("PSNR", "nn", config=("max_val",))
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mse)`` of two same-shaped tensors."""
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if x1.shape != x2.shape:
        raise ValueError(f"psnr: the input shapes must match. Received: {tuple(x1.shape)} and {tuple(x2.shape)}")
    mse = torch.mean((x1 - x2) ** 2)
    return 20 * torch.log10(torch.tensor(max_val, dtype=x1.dtype, device=x1.device)) - 10 * torch.log10(mse)


@keras_op("Polar", "nn")
def polar(abs_, angle):
    """The complex tensor ``abs_ * exp(i * angle)``."""
    abs_, angle = to_tensor(abs_), to_tensor(angle)
    return torch.complex(abs_ * torch.cos(angle), abs_ * torch.sin(angle))


# ------------------------------------------------------------------------------- attention
def _large_negative(dtype):
    return (65500.0 if dtype is torch.float16 else 3.38953e38) * -0.7


@keras_op("DotProductAttention", "nn", config=("is_causal", "flash_attention", "attn_logits_soft_cap"),
          call_kwargs=("bias", "mask", "scale"))
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False, flash_attention=None,
                          attn_logits_soft_cap=None):
    """Scaled dot-product attention on ``(batch, length, heads, head_dim)`` tensors (torch's fused
    kernels); ``mask`` is boolean (True attends), ``bias`` is added to the logits; grouped key/value heads
    are repeated to the query heads."""
    if attn_logits_soft_cap is not None:
        raise ValueError("dot_product_attention: attn_logits_soft_cap is only supported by Keras on JAX with TPUs.")
    query, key, value = to_tensor(query), to_tensor(key), to_tensor(value)
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ValueError("dot_product_attention only supports 4-D inputs (batch, length, heads, head_dim). "
                         f"Received: query.shape={tuple(query.shape)}, key.shape={tuple(key.shape)}, "
                         f"value.shape={tuple(value.shape)}")
    if bias is not None and mask is not None:
        raise ValueError("dot_product_attention: pass only one of `bias` and `mask`.")
    dtype = torch_dtype(result_type(dtype_name(query), dtype_name(key), dtype_name(value)))
    query, key, value = query.to(dtype), key.to(dtype), value.to(dtype)
    attn_mask = None
    if mask is not None:
        mask = to_tensor(mask, dtype=torch.bool, device=query.device)
        if is_causal:
            mask = mask & torch.ones((query.shape[1], key.shape[1]), dtype=torch.bool, device=mask.device).tril()
            is_causal = False
        attn_mask = torch.where(mask, 0.0, _large_negative(dtype)).to(dtype)
    if bias is not None:
        attn_mask = to_tensor(bias, dtype=dtype, device=query.device)
    q, k, v = query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2)
    if q.shape[1] > k.shape[1] > 1:
        groups = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    if flash_attention:
        with torch.nn.attention.sdpa_kernel(backends=[torch.nn.attention.SDPBackend.FLASH_ATTENTION]):
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    else:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    return out.transpose(1, 2)
