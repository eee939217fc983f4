"""Differential tests of the convolution family against Keras 3 (torch backend) over generated grids."""

import itertools

import numpy as np
import pytest
import torch

from keras_reference import assert_close, assert_matches_keras

FORMATS = ("channels_last", "channels_first")


def _inputs(rank, channels, lengths, data_format, seed=0):
    shape = (2,) + lengths + (channels,) if data_format == "channels_last" else (2, channels) + lengths
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _conv_cases(rank, paddings):
    lengths = {1: [(7,), (8,)], 2: [(7, 6)], 3: [(5, 6, 5)]}[rank]
    cases = []
    for data_format, padding, (strides, dilation), kernel, length in itertools.product(
            FORMATS, paddings, [(1, 1), (2, 1), (1, 2), (3, 1)], [2, 3], lengths):
        if rank == 3 and (kernel, strides) == (2, 3):
            continue
        cases.append((data_format, padding, strides, dilation, kernel, length))
    return cases


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("data_format,padding,strides,dilation,kernel,length",
                         _conv_cases(1, ("valid", "same", "causal")) + _conv_cases(2, ("valid", "same")))
def test_conv_1d_2d(keras, data_format, padding, strides, dilation, kernel, length, groups):
    rank = len(length)
    kwargs = dict(filters=4, kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilation,
                  groups=groups, data_format=data_format, activation="tanh")
    assert_matches_keras(keras, f"Conv{rank}D", kwargs, _inputs(rank, 4, length, data_format))


@pytest.mark.parametrize("data_format,padding,strides,dilation,kernel,length", _conv_cases(3, ("valid", "same")))
def test_conv_3d(keras, data_format, padding, strides, dilation, kernel, length):
    kwargs = dict(filters=3, kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilation,
                  data_format=data_format, use_bias=padding == "same")
    assert_matches_keras(keras, "Conv3D", kwargs, _inputs(3, 2, length, data_format))


def test_conv_mixed_kernel_tuple(keras):
    kwargs = dict(filters=3, kernel_size=(3, 2), strides=(2, 1), padding="SAME")
    assert_matches_keras(keras, "Conv2D", kwargs, _inputs(2, 3, (8, 7), "channels_last"))


def _transpose_cases(rank):
    lengths = {1: [(5,), (6,)], 2: [(4, 5)], 3: [(3, 4, 3)]}[rank]
    cases = []
    for data_format, padding, (strides, dilation), kernel, length, output_padding in itertools.product(
            FORMATS, ("valid", "same"), [(1, 1), (2, 1), (3, 1), (1, 2)], [2, 3, 4], lengths, [None, 0, 1, 2]):
        if output_padding is not None and output_padding >= strides or rank == 3 and kernel == 4:
            continue
        cases.append((data_format, padding, strides, dilation, kernel, length, output_padding))
    return cases


def numpy_conv_transpose(x, kernel, bias, strides, crops, lengths):
    """Reference transposed convolution, channels_last: x (N, *n, C), kernel (*k, F, C), dilation 1.

    Scatters every input cell times the kernel into the full output (n - 1)s + k, then keeps
    ``lengths`` cells from ``crops`` before (zeros beyond the full output)."""
    rank = x.ndim - 2
    k = kernel.shape[:rank]
    full_shape = tuple((n - 1) * s + kk for n, s, kk in zip(x.shape[1:-1], strides, k))
    padded = np.zeros((x.shape[0],) + tuple(f + max(0, c + l - f) for f, c, l in zip(full_shape, crops, lengths))
                      + (kernel.shape[rank],))
    for index in np.ndindex(*x.shape[1:-1]):
        start = tuple(i * s for i, s in zip(index, strides))
        window = tuple(slice(st, st + kk) for st, kk in zip(start, k))
        padded[(slice(None),) + window] += np.einsum("nc,...fc->n...f", x[(slice(None),) + index], kernel)
    keep = tuple(slice(c, c + l) for c, l in zip(crops, lengths))
    return padded[(slice(None),) + keep] + bias


@pytest.mark.parametrize("data_format,padding,strides,dilation,kernel,length,output_padding",
                         _transpose_cases(1) + _transpose_cases(2) + _transpose_cases(3))
def test_conv_transpose(keras, data_format, padding, strides, dilation, kernel, length, output_padding):
    kwargs = dict(filters=3, kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilation,
                  output_padding=output_padding, data_format=data_format)
    assert_matches_keras(keras, f"Conv{len(length)}DTranspose", kwargs, _inputs(len(length), 2, length, data_format))


def _transpose_gradient_cases():
    cases = []
    for rank, data_format, padding, kernel, (strides, dilation) in itertools.product(
            [1, 2, 3], FORMATS, ("valid", "same"), [1, 2, 3, 4, 5], [(1, 1), (2, 1), (3, 1), (1, 2)]):
        for output_padding in (None,) + tuple(range(strides)):
            if rank == 3 and (kernel > 3 or output_padding not in (None, strides - 1)):
                continue
            cases.append((rank, data_format, padding, kernel, strides, dilation, output_padding))
    return cases


@pytest.mark.parametrize("rank,data_format,padding,kernel,strides,dilation,output_padding",
                         _transpose_gradient_cases())
def test_conv_transpose_paths_and_gradients(keras, rank, data_format, padding, kernel, strides, dilation,
                                            output_padding):
    """Both call paths (under autograd: bias outside the kernel, crop by F.pad; without: bias fused, crop a
    view) give Keras's outputs, and the input, kernel and bias gradients are Keras-torch autograd's."""
    x = _inputs(rank, 3, (5, 4, 3)[:rank], data_format)
    kwargs = dict(filters=2, kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilation,
                  output_padding=output_padding, data_format=data_format)
    layer, keras_layer, _ = assert_matches_keras(keras, f"Conv{rank}DTranspose", kwargs, x)
    keras_x, lamina_x = torch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    expected = keras_layer(keras_x)
    upstream = torch.tensor(np.random.default_rng(1).standard_normal(tuple(expected.shape)).astype("float32"))
    expected.backward(upstream)
    with torch.no_grad():
        assert_close(layer(x), expected, what="without autograd")
    layer(lamina_x).backward(upstream)
    kernel_grad = layer.kernel.grad.permute(*range(2, rank + 2), 1, 0)  # (in, out, *k) -> Keras (*k, out, in)
    assert_close([lamina_x.grad, kernel_grad, layer.bias.grad],
                 [keras_x.grad, keras_layer.kernel.value.grad, keras_layer.bias.value.grad], what="gradients")


@pytest.mark.parametrize("rank,padding,strides,kernel,output_padding", [
    (r, p, s, k, o) for r, p, s, k, o in itertools.product([1, 2], ("valid", "same"), [1, 2, 3], [1, 2, 3, 4, 5],
                                                           [None, 0, 1, 2]) if o is None or o < s])
def test_conv_transpose_numpy_rule(rank, padding, strides, kernel, output_padding):
    """The documented rule (docs/padding.md), independently of Keras's torch backend."""
    import lamina
    from lamina.ops.padding import transpose_crop

    x = _inputs(rank, 2, (5, 4)[:rank], "channels_last")
    layer = getattr(lamina.layers, f"Conv{rank}DTranspose")(3, kernel, strides=strides, padding=padding,
                                                            output_padding=output_padding)
    actual = layer(x)
    kernel_value, bias = layer.get_weights()
    crops = [transpose_crop(kernel, strides, 1, padding, output_padding)[0]] * rank
    expected = numpy_conv_transpose(x, kernel_value, bias, (strides,) * rank, crops, tuple(actual.shape[1:-1]))
    assert_close(actual, expected)


@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("data_format,padding,strides,dilation,kernel,multiplier", [
    (f, p, s, d, k, m) for f, p, (s, d), k, m in itertools.product(
        FORMATS, ("valid", "same"), [(1, 1), (2, 1), (1, 2)], [2, 3], [1, 2])])
def test_depthwise_and_separable(keras, rank, data_format, padding, strides, dilation, kernel, multiplier):
    x = _inputs(rank, 3, (7,) * rank, data_format)
    common = dict(kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilation,
                  depth_multiplier=multiplier, data_format=data_format)
    assert_matches_keras(keras, f"DepthwiseConv{rank}D", common, x)
    assert_matches_keras(keras, f"SeparableConv{rank}D", dict(common, filters=4, activation="relu"), x)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank,cropping", [
    (1, 1), (1, (2, 0)), (1, (0, 3)), (2, 1), (2, (1, 2)), (2, ((0, 1), (2, 0))), (3, 1), (3, (1, 0, 1)),
    (3, ((0, 1), (1, 0), (1, 1)))])
def test_cropping_and_zero_padding(keras, rank, cropping, data_format):
    x = _inputs(rank, 3, (6, 5, 4)[:rank], data_format)
    extra = {} if rank == 1 else {"data_format": data_format}
    if rank > 1 or data_format == "channels_last":
        assert_matches_keras(keras, f"Cropping{rank}D", dict(extra, cropping=cropping), x)
    assert_matches_keras(keras, f"ZeroPadding{rank}D", dict(padding=cropping, data_format=data_format), x)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank,size,interpolation", [
    (1, 2, "nearest"), (1, 3, "nearest"), (2, 2, "nearest"), (2, (2, 3), "nearest"), (2, 2, "bilinear"),
    (2, (3, 2), "bilinear"), (2, (1, 4), "BILINEAR"), (3, 2, "nearest"), (3, (1, 2, 3), "nearest")])
def test_up_sampling(keras, rank, size, interpolation, data_format):
    if rank == 1 and data_format == "channels_first":
        pytest.skip("UpSampling1D has no data_format")
    x = _inputs(rank, 3, (4, 3, 5)[:rank], data_format)
    kwargs = {"size": size}
    if rank > 1:
        kwargs["data_format"] = data_format
    if rank == 2:
        kwargs["interpolation"] = interpolation
    assert_matches_keras(keras, f"UpSampling{rank}D", kwargs, x)
