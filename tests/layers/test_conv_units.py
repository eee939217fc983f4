"""Convolution family: run_layer_test for every class, gradchecks, errors, Keras's documentation
examples, the no-copy channels_last path, describe_padding, and LocallyConnected vs NumPy."""

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close
from lamina import layers
from lamina.layers.convolutional import conv_transpose
from lamina.testing import run_layer_test

LAYER_CASES = [
    (layers.Conv1D, {"filters": 3, "kernel_size": 2, "padding": "causal"}, (2, 6, 4), (2, 6, 3)),
    (layers.Conv2D, {"filters": 4, "kernel_size": 3, "groups": 2, "strides": 2, "padding": "same"}, (2, 5, 6, 2),
     (2, 3, 3, 4)),
    (layers.Conv3D, {"filters": 2, "kernel_size": 2, "data_format": "channels_first"}, (1, 3, 3, 4, 3),
     (1, 2, 2, 3, 2)),
    (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 4, 3),
     (2, 8, 2)),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}, (1, 3, 4, 2),
     (1, 8, 10, 2)),
    (layers.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2}, (1, 2, 2, 2, 3), (1, 4, 4, 4, 2)),
    (layers.SeparableConv1D, {"filters": 3, "kernel_size": 3, "depth_multiplier": 2}, (2, 7, 2), (2, 5, 3)),
    (layers.SeparableConv2D, {"filters": 3, "kernel_size": 3, "padding": "same"}, (1, 4, 5, 2), (1, 4, 5, 3)),
    (layers.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 6, 3), (2, 4, 6)),
    (layers.DepthwiseConv2D, {"kernel_size": 2, "strides": 2}, (1, 5, 4, 3), (1, 2, 2, 3)),
    (layers.LocallyConnected1D, {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 7, 2), (2, 3, 3)),
    (layers.LocallyConnected2D, {"filters": 2, "kernel_size": 2, "data_format": "channels_first"}, (1, 3, 4, 3),
     (1, 2, 3, 2)),
    (layers.Cropping1D, {"cropping": (1, 2)}, (2, 6, 3), (2, 3, 3)),
    (layers.Cropping2D, {"cropping": ((1, 0), (0, 2))}, (1, 4, 5, 2), (1, 3, 3, 2)),
    (layers.Cropping3D, {"cropping": 1}, (1, 3, 4, 5, 2), (1, 1, 2, 3, 2)),
    (layers.UpSampling1D, {"size": 3}, (2, 2, 3), (2, 6, 3)),
    (layers.UpSampling2D, {"size": 2, "interpolation": "bilinear"}, (1, 2, 3, 2), (1, 4, 6, 2)),
    (layers.UpSampling3D, {"size": (1, 2, 1)}, (1, 2, 2, 2, 3), (1, 2, 4, 2, 3)),
    (layers.ZeroPadding1D, {"padding": (0, 2)}, (2, 3, 2), (2, 5, 2)),
    (layers.ZeroPadding2D, {"padding": ((1, 0), (2, 1))}, (1, 2, 2, 3), (1, 3, 5, 3)),
    (layers.ZeroPadding3D, {"padding": 1, "data_format": "channels_first"}, (1, 2, 2, 2, 2), (1, 2, 4, 4, 4)),
]


@pytest.mark.parametrize("layer_cls,kwargs,input_shape,output_shape", LAYER_CASES,
                         ids=[case[0].__name__ for case in LAYER_CASES])
def test_run_layer_test(layer_cls, kwargs, input_shape, output_shape):
    run_layer_test(layer_cls, kwargs, input_shape=input_shape, expected_output_shape=output_shape)


@pytest.mark.parametrize("layer_cls,kwargs,input_shape,output_shape", LAYER_CASES,
                         ids=[case[0].__name__ for case in LAYER_CASES])
def test_gradcheck_float64(layer_cls, kwargs, input_shape, output_shape):
    layer = layer_cls(dtype="float64", **kwargs)
    x = torch.randn(input_shape, dtype=torch.float64, requires_grad=True)
    layer(x)
    with torch.no_grad():
        for weight in layer.trainable_weights:
            weight.normal_()
    assert torch.autograd.gradcheck(lambda inputs, *weights: layer(inputs), (x, *layer.trainable_weights))


def test_compute_output_shape_with_unknown_dims():
    assert layers.Conv2D(4, 3, strides=2, padding="same").compute_output_shape((None, None, 9, 3)) == \
        (None, None, 5, 4)
    assert layers.Conv1DTranspose(2, 3, strides=2).compute_output_shape((None, None, 3)) == (None, None, 2)
    assert layers.DepthwiseConv2D(3, depth_multiplier=2, data_format="channels_first").compute_output_shape(
        (None, 3, None, 7)) == (None, 6, None, 5)
    assert layers.Cropping2D(1).compute_output_shape((None, None, 5, 2)) == (None, None, 3, 2)
    assert layers.UpSampling2D(2).compute_output_shape((None, None, 5, 2)) == (None, None, 10, 2)
    symbolic = layers.Conv1D(3, 3, padding="causal")(lamina.Input(shape=(None, 4)))
    assert symbolic.shape == (None, None, 3)


def test_keras_documentation_examples():
    y = layers.Conv2D(32, 3, activation="relu")(torch.randn(4, 10, 10, 128))
    assert tuple(y.shape) == (4, 8, 8, 32)
    model = lamina.Sequential([layers.Cropping2D(cropping=((2, 2), (4, 4)), input_shape=(28, 28, 3)),
                               layers.Conv2D(64, (3, 3), padding="same"),
                               layers.Cropping2D(cropping=((2, 2), (2, 2)))])
    assert model.output_shape == (None, 20, 16, 64)


def test_channels_last_runs_on_permuted_views_without_copies():
    layer = layers.Conv2D(8, 3, padding="same")
    x = torch.randn(2, 9, 9, 4)
    y = layer(x)
    # The kernel received the (N, C, H, W) view of x and produced a channels_last-format result: the
    # output handed back is that result permuted, hence plainly contiguous (N, H, W, C).
    assert y.is_contiguous()
    assert y.movedim(-1, 1).is_contiguous(memory_format=torch.channels_last)
    assert x.movedim(-1, 1).is_contiguous(memory_format=torch.channels_last)
    # Weights are stored in PyTorch's layout and, for channels_last data, channels_last memory format.
    assert tuple(layer.kernel.shape) == (8, 4, 3, 3)
    assert layer.kernel.is_contiguous(memory_format=torch.channels_last)
    expected = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), layer.kernel, layer.bias, padding=1)
    assert_close(y, expected.permute(0, 2, 3, 1))
    # Nothing is copied: neither the data into NCHW nor the kernel into channels_last.
    with torch.no_grad(), torch.profiler.profile() as profiler:
        layer(x)
    copies = [e.name for e in profiler.events() if e.name in ("aten::copy_", "aten::contiguous", "aten::clone")]
    assert not copies, copies


@pytest.mark.parametrize("class_name, args, memory_format", [
    ("Conv2D", (4, 3), torch.channels_last), ("Conv3D", (4, 3), torch.channels_last_3d),
    ("Conv2DTranspose", (4, 3), torch.channels_last), ("Conv3DTranspose", (4, 3), torch.channels_last_3d)])
def test_kernel_memory_format_follows_the_data_format(class_name, args, memory_format):
    rank = 3 if "3D" in class_name else 2
    last = getattr(layers, class_name)(*args)
    last(torch.zeros((1,) + (5,) * rank + (2,)))
    assert last.kernel.is_contiguous(memory_format=memory_format)
    first = getattr(layers, class_name)(*args, data_format="channels_first")
    first(torch.zeros((1, 2) + (5,) * rank))
    assert first.kernel.is_contiguous()
    first.set_weights(last.get_weights())  # Keras layouts in, each layer's own memory format kept
    assert first.kernel.is_contiguous() and last.kernel.is_contiguous(memory_format=memory_format)


def test_symmetric_same_padding_goes_to_the_kernel(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.nn.functional, "pad", lambda *a, **k: calls.append(a) or a[0])
    layers.Conv2D(2, 3, padding="same")(torch.randn(1, 6, 6, 2))
    assert not calls


@pytest.mark.parametrize("kernel, strides, padding, output_padding, torch_arguments, cropped", [
    (2, 2, "same", None, (0, 0), 0), (4, 2, "same", None, (1, 0), 0), (3, 1, "same", None, (1, 0), 0),
    (3, 2, "valid", None, (0, 1), 1), (1, 3, "valid", None, (0, 2), 0), (3, 2, "same", 0, (1, 1), 1),
    (3, 3, "same", None, (0, 0), 0), (1, 3, "same", 2, (0, 2), 0),
    (3, 2, "same", None, (0, 1), 2), (5, 2, "same", None, (1, 1), 2), (3, 2, "same", 1, (0, 1), 2)])
def test_transpose_reaches_keras_window_through_torch_arguments(monkeypatch, kernel, strides, padding,
                                                                output_padding, torch_arguments, cropped):
    """Keras's window straight from PyTorch's padding/output_padding where they reach it at a length that is
    a multiple of the stride; otherwise an output longer by ``cropped`` cells, a multiple of the stride
    (oneDNN's fast kernel), cropped at the end."""
    calls = []

    def recording(x, kernel, bias, stride, padding, output_padding, groups, dilation):
        outputs = torch.nn.functional.conv_transpose2d(x, kernel, bias, stride, padding, output_padding, groups,
                                                       dilation)
        calls.append((padding[0], output_padding[0], outputs.shape[2]))
        return outputs

    monkeypatch.setitem(conv_transpose._TRANSPOSE_FUNCTIONS, 2, recording)
    layer = layers.Conv2DTranspose(2, kernel, strides=strides, padding=padding, output_padding=output_padding)
    x = torch.randn(1, 5, 5, 3)
    for grad_mode in (True, False):
        with torch.set_grad_enabled(grad_mode), torch.profiler.profile() as profiler:
            length = layer(x).shape[1]
        crops = [e.name for e in profiler.events() if e.name in ("aten::slice", "aten::constant_pad_nd")]
        assert bool(crops) == bool(cropped), crops
    assert {call[:2] for call in calls} == {torch_arguments}
    assert {call[2] - length for call in calls} == {cropped}
    assert not cropped or calls[-1][2] % strides == 0


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("grad_mode", [True, False])
def test_transpose_mixed_precision_keeps_the_compute_dtype(data_format, grad_mode):
    """The bias added outside the kernel (channels_last under autograd) takes the kernel's autocast dtype."""
    layer = layers.Conv2DTranspose(4, 3, strides=2, padding="same", dtype="mixed_bfloat16",
                                   data_format=data_format)
    x = torch.randn(2, 5, 5, 3) if data_format == "channels_last" else torch.randn(2, 3, 5, 5)
    with torch.set_grad_enabled(grad_mode):
        assert layer(x).dtype == torch.bfloat16


_ONE_BY_ONE_DECONVOLUTIONS = """
import torch
from lamina import layers
torch.set_num_threads(1)
for step in range(60):
    for output_padding, padding in ((None, "valid"), (0, "valid"), (1, "same")):
        layer = layers.Conv2DTranspose(2, 1, strides=2, padding=padding, output_padding=output_padding)
        x = torch.randn(2, 5, 4, 3, requires_grad=True)
        layer(x).square().sum().backward()
        assert layer.kernel.grad is not None and torch.isfinite(layer.kernel.grad).all()
print("ok")
"""


def test_one_by_one_strided_deconvolutions_train_without_corrupting_memory():
    """oneDNN's channels_last kernel gradient of a 1x1 deconvolution with output_padding > 0 corrupted the heap
    here (one thread, an AVX2 CPU): a segfault or "free(): invalid size" within a few steps. Run apart, so that
    a crash fails this test rather than the worker."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _ONE_BY_ONE_DECONVOLUTIONS], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_describe_padding():
    report = layers.Conv2D(4, 3, strides=2, padding="same").describe_padding((None, 10, 9, 3))
    assert [(row.before, row.after, row.output) for row in report] == [(0, 1, 5), (1, 1, 5)]
    text = str(report)
    assert "ceil(n / s)" in text and "before" in text and "output" in text
    causal = layers.Conv1D(2, 3, dilation_rate=2, padding="causal").describe_padding((None, None, 3))
    assert (causal[0].before, causal[0].after, causal[0].output) == (4, 0, None)
    transposed = layers.Conv2DTranspose(2, 3, strides=2, padding="same").describe_padding((None, 4, 5, 3))
    assert transposed.transposed and [(r.before, r.after, r.output) for r in transposed] == [(0, 1, 8), (0, 1, 10)]
    assert "n·s" in str(transposed) and "cropped" in str(transposed)
    valid = layers.Conv1DTranspose(2, 2, strides=3).describe_padding((None, 4, 1))
    assert (valid[0].before, valid[0].after, valid[0].output) == (0, -1, 12)


def numpy_locally_connected(x, kernel, bias, kernel_size, strides, data_format):
    """Keras 2's implementation=1, written out: x channels_last or channels_first, 1D or 2D."""
    spatial = x.shape[1:-1] if data_format == "channels_last" else x.shape[2:]
    lengths = tuple((n - k) // s + 1 for n, k, s in zip(spatial, kernel_size, strides))
    out = np.zeros((x.shape[0],) + lengths + (kernel.shape[-1],))
    for position, index in enumerate(np.ndindex(*lengths)):
        window = tuple(slice(i * s, i * s + k) for i, s, k in zip(index, strides, kernel_size))
        patch = x[(slice(None),) + window] if data_format == "channels_last" else x[(slice(None), slice(None)) + window]
        out[(slice(None),) + index] = patch.reshape(x.shape[0], -1) @ kernel[position]
    if data_format == "channels_first":
        out = np.moveaxis(out, -1, 1)
        return out + bias.reshape((1, bias.shape[-1]) + bias.shape[:-1])  # Keras 2's bias_add: a reshape
    return out + bias


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank,kernel_size,strides", [(1, (3,), (1,)), (1, (2,), (3,)), (2, (2, 3), (1, 2)),
                                                      (2, (3, 1), (2, 1))])
def test_locally_connected_matches_numpy(rank, kernel_size, strides, data_format):
    x = np.random.default_rng(0).standard_normal((2, 3) + (7, 6)[:rank]).astype("float32")
    if data_format == "channels_last":
        x = np.moveaxis(x, 1, -1).copy()
    layer = getattr(layers, f"LocallyConnected{rank}D")(4, kernel_size, strides=strides, data_format=data_format)
    layer(x)
    generator = np.random.default_rng(1)
    layer.set_weights([generator.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    kernel, bias = layer.get_weights()
    assert_close(layer(x), numpy_locally_connected(x, kernel, bias, kernel_size, strides, data_format))


ERROR_CASES = [
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), r"Conv2D.*strides > 1.*dilation_rate > 1.*Received"),
    (lambda: layers.Conv2D(5, 3, groups=2), r"Conv2D.*`filters` must be divisible by `groups`.*filters=5, groups=2"),
    (lambda: layers.Conv2D(4, 3, groups=2)(torch.zeros(1, 5, 5, 3)), r"input channels.*divisible.*groups=2.*channels=3"),
    (lambda: layers.Conv2D(0, 3), r"Conv2D.*`filters`.*positive.*filters=0"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), r"Conv2D.*`kernel_size`.*tuple of 2 ints.*kernel_size=\(3, 3, 3\)"),
    (lambda: layers.Conv1D(4, 3, strides=0), r"Conv1D.*`strides`.*positive.*strides=0"),
    (lambda: layers.Conv1D(4, 3, dilation_rate="2"), r"Conv1D.*`dilation_rate`.*dilation_rate='2'"),
    (lambda: layers.Conv2D(4, 3, padding="causal"), r"Conv2D.*`padding`.*\('valid', 'same'\).*padding='causal'"),
    (lambda: layers.Conv1D(4, 3, padding="full"), r"Conv1D.*`padding`.*padding='full'"),
    (lambda: layers.Conv2D(4, 3, data_format="NHWC"), r"Conv2D.*`data_format`.*data_format='NHWC'"),
    (lambda: layers.Conv2D(4, 3)(torch.zeros(2, 5, 5)), r"conv2d.*expected ndim=4.*found ndim=3"),
    (lambda: layers.Conv3D(4, 3).compute_output_shape((2, 5, 5, 3)), r"Conv3D.*rank 5.*input_shape=\(2, 5, 5, 3\)"),
    (lambda: layers.Conv2D(4, 3).build((None, 5, 5, None)), r"Conv2D.*channel dimension.*must be known"),
    (lambda: layers.Conv2D(4, 3)(torch.zeros(1, 2, 5, 3)), r"Conv2D.*non-positive spatial size.*input_shape"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
     r"Conv2DTranspose.*`output_padding`.*less than.*stride.*output_padding=\(2, 2\), strides=\(2, 2\)"),
    (lambda: layers.Conv1DTranspose(4, 3, dilation_rate=2, strides=2), r"strides > 1.*dilation_rate > 1"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), r"DepthwiseConv2D.*`depth_multiplier`.*=0"),
    (lambda: layers.SeparableConv1D(4, 3, padding="causal"), r"SeparableConv1D.*`padding`.*padding='causal'"),
    (lambda: layers.LocallyConnected1D(4, 3, padding="same"), r"LocallyConnected1D.*'same' needs implementation 2"),
    (lambda: layers.LocallyConnected2D(4, 3, implementation=4), r"LocallyConnected2D.*1, 2 or 3.*=4"),
    (lambda: layers.LocallyConnected1D(4, 3).build((None, None, 3)), r"LocallyConnected1D.*spatial.*known"),
    (lambda: layers.Cropping2D(((3, 2), (0, 0)))(torch.zeros(1, 5, 5, 1)),
     r"Cropping2D.*`cropping`.*non-positive size along axis 1"),
    (lambda: layers.Cropping1D((3, 3)).compute_output_shape((None, 6, 2)), r"Cropping1D.*non-positive"),
    (lambda: layers.Cropping3D(((1, 1), (1, 1))), r"Cropping3D.*`cropping`.*3 \(before, after\) pairs"),
    (lambda: layers.Cropping2D(-1), r"Cropping2D.*`cropping`.*non-negative.*cropping=-1"),
    (lambda: layers.ZeroPadding2D("same"), r"ZeroPadding2D.*`padding`.*padding='same'"),
    (lambda: layers.UpSampling2D(2, interpolation="bicubic"), r"UpSampling2D.*`interpolation`.*'bicubic'"),
    (lambda: layers.UpSampling1D(0), r"UpSampling1D.*`size`.*positive.*size=0"),
]


@pytest.mark.parametrize("make,message", ERROR_CASES, ids=[str(i) for i in range(len(ERROR_CASES))])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("kwargs", [
    dict(padding="causal", dilation_rate=2), dict(strides=2, padding="same"), dict(groups=2), dict(padding="valid"),
])
def test_channels_last_conv1d_runs_in_its_memory_order_with_conv1ds_values_and_gradients(kwargs):
    """A channels_last Conv1D runs as the 2D convolution of height 1 on channels_last memory: its output is
    laid out as (batch, steps, filters) without a copy, and values and gradients are F.conv1d's on the
    channels-first copy of the data (within float32 rounding)."""
    torch.manual_seed(0)
    layer = layers.Conv1D(6, 3, **kwargs)
    x = torch.randn(3, 20, 4, requires_grad=True)
    y = layer(x)
    assert y.is_contiguous()
    pad = {"causal": (2 * layer.dilation_rate[0], 0), "same": (0, 1)}.get(layer.padding, (0, 0))
    expected = torch.nn.functional.conv1d(torch.nn.functional.pad(x.movedim(-1, 1).contiguous(), pad), layer.kernel,
                                          layer.bias, layer.strides, 0, layer.dilation_rate, layer.groups).movedim(1, -1)
    weight = torch.randn_like(y)
    grads = torch.autograd.grad((y * weight).sum(), (x, layer.kernel))
    expected_grads = torch.autograd.grad((expected * weight).sum(), (x, layer.kernel))
    assert_close(y, expected)
    for mine, theirs in zip(grads, expected_grads):
        assert_close(mine, theirs)


@pytest.mark.parametrize("layer_cls, kwargs, input_shape", [
    (layers.Conv1D, {"filters": 3, "kernel_size": 2}, (2, 6, 4)),
    (layers.Conv2D, {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 5, 6, 2)),
    (layers.Conv2D, {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, (2, 2, 5, 6)),
    (layers.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2}, (1, 2, 2, 2, 3)),
    (layers.SeparableConv2D, {"filters": 3, "kernel_size": 3}, (1, 4, 5, 2)),
])
@pytest.mark.parametrize("activation", ["softmax", "log_softmax", lambda x: x / x.abs().sum(-1, keepdim=True)])
def test_an_activation_along_an_axis_runs_on_the_outputs_last_axis(layer_cls, kwargs, input_shape, activation):
    """Keras applies a layer's activation to its outputs as they are: softmax over the last axis, which is the
    channels of channels_last outputs and the last spatial axis of channels_first ones."""
    lamina.utils.set_random_seed(9)
    activated = layer_cls(activation=activation, **kwargs)
    linear = layer_cls(**kwargs)
    x = torch.randn(input_shape)
    activated(x), linear(x)
    linear.set_weights(activated.get_weights())
    expected = lamina.activations.get(activation)(linear(x))
    torch.testing.assert_close(activated(x), expected, rtol=1e-6, atol=1e-7)
