"""Pooling layers: differential against Keras 3 and a NumPy reference, shapes, masks, errors."""

import itertools

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, assert_matches_keras
from lamina.ops.padding import same_padding
from lamina.testing import run_layer_test

NAMES = {("max", r): f"MaxPooling{r}D" for r in (1, 2, 3)} | {("average", r): f"AveragePooling{r}D" for r in (1, 2, 3)}


def numpy_pool(x, pool_size, strides, padding, data_format, mode):
    """The rule written out: windows clipped to real cells (so padded cells never count)."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    starts, counts = [], []
    for n, k, s in zip(spatial, pool_size, strides):
        before = same_padding(n, k, s)[0] if padding == "same" else 0
        count = -(-n // s) if padding == "same" else (n - k) // s + 1
        starts.append([i * s - before for i in range(count)])
        counts.append(count)
    out = np.zeros((x.shape[0], *counts, x.shape[-1]), dtype=np.float64)
    for index in itertools.product(*(range(c) for c in counts)):
        window = tuple(slice(max(st[i], 0), min(st[i] + k, n))
                       for st, i, k, n in zip(starts, index, pool_size, spatial))
        cells = x[(slice(None),) + window + (slice(None),)].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None),) + index + (slice(None),)] = cells.max(1) if mode == "max" else cells.mean(1)
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


def _pool_cases():
    generator = np.random.default_rng(7)
    cases = []
    for rank, mode, padding, data_format in itertools.product((1, 2, 3), ("max", "average"), ("valid", "same"),
                                                               ("channels_last", "channels_first")):
        for _ in range(8 if rank < 3 else 4):
            pool = tuple(int(v) for v in generator.integers(1, 4, rank))
            strides = None if generator.random() < 0.3 else tuple(int(v) for v in generator.integers(1, 4, rank))
            spatial = tuple(int(p + v) for p, v in zip(pool, generator.integers(0, 5 if rank < 3 else 3, rank)))
            cases.append((rank, mode, padding, data_format, pool, strides, spatial))
    return cases


@pytest.mark.parametrize("rank,mode,padding,data_format,pool,strides,spatial", _pool_cases())
def test_pooling_matches_keras_and_numpy(keras, rank, mode, padding, data_format, pool, strides, spatial):
    channels = 2
    shape = (2, *spatial, channels) if data_format == "channels_last" else (2, channels, *spatial)
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype("float32")
    kwargs = {"pool_size": pool, "strides": strides, "padding": padding, "data_format": data_format}
    layer = getattr(lamina.layers, NAMES[mode, rank])(**kwargs)
    actual = layer(x)
    expected = numpy_pool(x, pool, strides or pool, padding, data_format, mode)
    assert_close(actual, expected.astype("float32"), what=f"NumPy rule {kwargs}")
    assert tuple(actual.shape) == layer.compute_output_shape(shape)
    uneven = padding == "same" and any(sum(same_padding(n, k, s)) % 2
                                       for n, k, s in zip(spatial, pool, strides or pool))
    if mode == "average" and uneven:
        return  # Keras-torch averages replicated edges here: docs/keras_torch_departures.md
    assert_matches_keras(keras, NAMES[mode, rank], kwargs, x)


@pytest.mark.parametrize("name,shape,kwargs", [
    ("MaxPooling1D", (2, 9, 3), {"pool_size": 2}),
    ("MaxPooling2D", (2, 5, 6, 3), {"pool_size": (2, 3), "strides": 1, "padding": "same"}),
    ("MaxPooling3D", (1, 3, 4, 5, 2), {"pool_size": 2, "data_format": "channels_first"}),
    ("AveragePooling1D", (2, 9, 3), {"pool_size": 3, "strides": 2, "padding": "SAME"}),
    ("AveragePooling2D", (2, 5, 6, 3), {"pool_size": 2, "data_format": "channels_first"}),
    ("AveragePooling3D", (1, 3, 4, 5, 2), {"pool_size": (1, 2, 3), "padding": "same"}),
    ("GlobalMaxPooling1D", (2, 7, 3), {}),
    ("GlobalMaxPooling2D", (2, 4, 5, 3), {"keepdims": True}),
    ("GlobalMaxPooling3D", (2, 3, 4, 3, 2), {"data_format": "channels_first"}),
    ("GlobalAveragePooling1D", (2, 7, 3), {"data_format": "channels_first", "keepdims": True}),
    ("GlobalAveragePooling2D", (2, 4, 5, 3), {}),
    ("GlobalAveragePooling3D", (2, 3, 4, 3, 2), {"keepdims": True}),
])
def test_run_layer_test(name, shape, kwargs):
    run_layer_test(getattr(lamina.layers, name), kwargs, input_shape=shape)


@pytest.mark.parametrize("rank,reduce,data_format,keepdims", list(itertools.product(
    (1, 2, 3), ("Max", "Average"), ("channels_last", "channels_first"), (False, True))))
def test_global_pooling_matches_keras(keras, rank, reduce, data_format, keepdims):
    shape = (3,) + (4, 5, 3)[:rank] + (2,)
    x = np.random.default_rng(rank).standard_normal(shape).astype("float32")
    assert_matches_keras(keras, f"Global{reduce}Pooling{rank}D", {"data_format": data_format, "keepdims": keepdims}, x)


@pytest.mark.parametrize("data_format,keepdims", list(itertools.product(("channels_last", "channels_first"),
                                                                        (False, True))))
def test_global_average_pooling_1d_mask(keras, data_format, keepdims):
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [0, 1, 0, 0, 0]], dtype=bool)
    if data_format == "channels_first":
        mask = mask[:, :4]
    kwargs = {"data_format": data_format, "keepdims": keepdims}
    assert_matches_keras(keras, "GlobalAveragePooling1D", kwargs, x, call_kwargs={"mask": mask})
    masked = torch.as_tensor(x)
    masked._keras_mask = torch.as_tensor(mask)
    output = lamina.layers.GlobalAveragePooling1D(**kwargs)(masked)
    keras_output = keras.layers.GlobalAveragePooling1D(**kwargs)(x, mask=mask)
    assert_close(output, keras_output)
    assert getattr(output, "_keras_mask", None) is None


def test_channels_last_does_not_copy_to_nchw():
    x = torch.randn(2, 8, 8, 3)
    y = lamina.layers.MaxPooling2D(2)(x)
    assert y.is_contiguous(), "channels_last output should come back as a contiguous NHWC tensor"
    assert y.data_ptr() != 0 and y.movedim(-1, 1).is_contiguous(memory_format=torch.channels_last)


def test_symbolic_shapes_and_aliases():
    inputs = lamina.Input(shape=(None, 7, 3))
    assert lamina.layers.MaxPooling2D(2, padding="same")(inputs).shape == (None, None, 4, 3)
    assert lamina.layers.MaxPool2D is lamina.layers.MaxPooling2D
    assert lamina.layers.GlobalAvgPool1D is lamina.layers.GlobalAveragePooling1D
    config = lamina.layers.serialize(lamina.layers.AvgPool2D(2))
    assert config["class_name"] == "AveragePooling2D"
    assert type(lamina.layers.deserialize({**config, "class_name": "AvgPool2D"})) is lamina.layers.AveragePooling2D


@pytest.mark.parametrize("kwargs,match", [
    ({"pool_size": 0}, "pool_size"),
    ({"pool_size": (2, 2, 2)}, "pool_size"),
    ({"pool_size": 2, "strides": -1}, "strides"),
    ({"pool_size": 2, "padding": "causal"}, "padding"),
    ({"pool_size": 2, "data_format": "NHWC"}, "data_format"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.layers.MaxPooling2D(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="expected ndim=4"):
        lamina.layers.AveragePooling2D(2)(torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match="larger than the input's spatial size"):
        lamina.layers.MaxPooling2D(4)(torch.randn(2, 3, 3, 1))
    with pytest.raises(ValueError, match="expected ndim=3"):
        lamina.layers.GlobalMaxPooling1D()(torch.randn(2, 5, 3, 1))


def _windows_of_two():
    for rank, data_format, padding in itertools.product((1, 2, 3), ("channels_last", "channels_first"),
                                                         ("valid", "same")):
        for pool in itertools.product((1, 2), repeat=rank):
            if max(pool) == 2:
                for strides in (None, (1,) * rank, (3,) + (2,) * (rank - 1)):
                    yield rank, data_format, padding, pool, strides


@pytest.mark.parametrize("rank,data_format,padding,pool,strides", list(_windows_of_two()))
def test_max_pooling_of_windows_of_two_without_autograd_gives_the_kernels_values(rank, data_format, padding, pool,
                                                                                  strides):
    """Such windows run as maxima of strided views without autograd (``BasePooling._window_max``): the same
    values as PyTorch's kernel, NaN and infinities included, on odd and even sizes; a new tensor, compact in
    the data format's own layout or in the kernel's."""
    spatial = (7, 6, 5)[:rank]
    shape = (3, *spatial, 4) if data_format == "channels_last" else (3, 4, *spatial)
    x = torch.randn(shape)
    x.view(-1)[::7] = float("nan")
    x.view(-1)[3::11] = float("inf")
    x.view(-1)[5::13] = -float("inf")
    layer = getattr(lamina.layers, f"MaxPooling{rank}D")(pool, strides=strides, padding=padding, data_format=data_format)
    layer(x)
    assert layer._max_of_slices(x)
    with torch.inference_mode():
        fast = layer(x)
    layer._windows_of_two = False  # the kernel
    kernel = layer(x)
    torch.testing.assert_close(fast, kernel, rtol=0, atol=0, equal_nan=True)
    assert fast.is_contiguous() or fast.stride() == kernel.stride()  # (1-D "same": F.pad's layout, as the kernel's)
    assert fast.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


def test_max_pooling_under_autograd_gives_a_tie_s_gradient_to_its_first_maximum_as_keras():
    x = torch.zeros(1, 4, 4, 1, requires_grad=True)  # every window a tie (ReLU outputs often are)
    layer = lamina.layers.MaxPooling2D(2)
    assert not layer._max_of_slices(x)
    layer(x).sum().backward()
    expected = torch.zeros(4, 4)
    expected[::2, ::2] = 1.0
    assert torch.equal(x.grad[0, :, :, 0], expected)
