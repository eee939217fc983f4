"""Keras's padding and output-length arithmetic for convolutions and pooling.

Written once here so every layer family, ``describe_padding`` and the docs use
the same rules (see docs/padding.md).
"""

import math


def effective_kernel(kernel, dilation):
    """Span of a dilated kernel: k + (k - 1)(d - 1)."""
    return (kernel - 1) * dilation + 1


def same_padding(length, kernel, stride, dilation=1):
    """(before, after) padding of Keras "same": total = max((ceil(n/s) - 1)s + (k - 1)d + 1 - n, 0),
    the odd cell after. ``length`` None (unknown) gives the padding for unknown length only when
    it doesn't depend on the length (stride 1)."""
    if length is None:
        if stride != 1:
            return None
        total = effective_kernel(kernel, dilation) - 1
    else:
        total = max((math.ceil(length / stride) - 1) * stride + effective_kernel(kernel, dilation) - length, 0)
    return total // 2, total - total // 2


def conv_padding(length, kernel, stride, dilation, padding):
    """(before, after) padding for a convolution or pooling window."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return effective_kernel(kernel, dilation) - 1, 0
    return same_padding(length, kernel, stride, dilation)


def flat_pad(pairs):
    """Per-axis (before, after) pairs as ``torch.nn.functional.pad`` takes them: the last axis first."""
    return [value for pair in reversed(pairs) for value in pair]


def split_padding(pairs):
    """(explicit, symmetric) for per-axis (before, after) pairs: ``symmetric[i] = min(pairs[i])`` is what a
    kernel's own padding argument can do; ``explicit`` is the rest in ``F.pad`` order, None when nothing is left
    (the odd "same" cell, the "causal" left padding)."""
    symmetric = tuple(min(pair) for pair in pairs)
    explicit = flat_pad([(before - m, after - m) for (before, after), m in zip(pairs, symmetric)])
    return (explicit if any(explicit) else None), symmetric


def conv_output_length(length, kernel, stride, dilation, padding):
    """Output length of a convolution/pooling window over ``length`` cells (None stays None)."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    return max((length - effective_kernel(kernel, dilation)) // stride + 1, 0)


def transpose_padding(kernel, dilation, padding):
    """Cells a transposed convolution crops from each side: k'//2 for "same", 0 for "valid"."""
    return effective_kernel(kernel, dilation) // 2 if padding == "same" else 0


def deconv_output_length(length, kernel, stride, dilation, padding, output_padding=None):
    """Keras's transposed-convolution output length (``deconv_output_length``)."""
    if length is None:
        return None
    span = effective_kernel(kernel, dilation)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(span - stride, 0)
        return length * stride
    return (length - 1) * stride + span - 2 * transpose_padding(kernel, dilation, padding) + output_padding


def transpose_crop(kernel, stride, dilation, padding, output_padding=None):
    """(before, after) cells cropped from the full transposed output, of length (n - 1)s + k'.

    Keras's documented rule (its TensorFlow and JAX backends): the output length is
    ``deconv_output_length``; "valid" crops nothing before; "same" crops
    max(k'//2 - ceil(p/2), 0) before, where p is ``output_padding`` or, when that is None,
    the p giving n·s (p = s - k' % 2). The rest comes off the end (a negative ``after`` means
    zeros appended). Neither depends on the input length.
    """
    span = effective_kernel(kernel, dilation)
    before = 0
    if padding == "same":
        extra = stride - span % 2 if output_padding is None else output_padding
        before = max(span // 2 - (extra + 1) // 2, 0)
    return before, span - before - deconv_output_length(1, kernel, stride, dilation, padding, output_padding)
