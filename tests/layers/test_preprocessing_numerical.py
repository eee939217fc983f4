"""Normalization, Discretization, Rescaling and CategoryEncoding against Keras 3 on its torch backend.

Keras's ``adapt`` of Normalization (on iterables) and Discretization consult ``tf.data.Dataset`` even on
torch; the ``keras_without_tf`` fixture gives those modules a stand-in ``tf`` so Keras's own torch code
runs as reference.
"""

import types

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, assert_matches_keras


class _NoDataset:
    pass


@pytest.fixture
def keras_without_tf(keras, monkeypatch):
    from keras.src.layers.preprocessing import discretization, normalization

    stand_in = types.SimpleNamespace(data=types.SimpleNamespace(Dataset=_NoDataset), is_tensor=lambda x: False)
    monkeypatch.setattr(normalization, "tf", stand_in)
    monkeypatch.setattr(discretization, "tf", stand_in)
    return keras


def _adapted(keras, kwargs, data, keras_data=None):
    ours, theirs = lamina.layers.Normalization(**kwargs), keras.layers.Normalization(**kwargs)
    ours.adapt(data)
    theirs.adapt(data if keras_data is None else keras_data)
    return ours, theirs


# ---------------------------------------------------------------------------------------------- Normalization
@pytest.mark.parametrize("axis,shape", [(-1, (20, 3)), (None, (20, 3)), ((1, 2), (6, 4, 5)), (1, (6, 4, 5)),
                                        (-1, (12,)), ((0, 2), (6, 4, 5))])
@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("source", ["numpy", "float64", "tensor"])
def test_normalization_adapt_on_arrays_matches_keras(keras, rng, axis, shape, invert, source):
    data = (rng.standard_normal(shape) * 3 + 1).astype("float64" if source == "float64" else "float32")
    data = torch.from_numpy(data) if source == "tensor" else data
    ours, theirs = _adapted(keras, {"axis": axis, "invert": invert}, data)
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        assert got.dtype == want.dtype
        assert_close(got, want, what=f"weights axis={axis}")
    query = rng.standard_normal(shape).astype("float32")
    assert_close(ours(query), theirs(query), what=f"Normalization(axis={axis}, invert={invert})")
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


def _batches(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("kind", ["list", "generator", "py_dataset", "data_loader", "xy_tuples"])
def test_normalization_adapt_on_batches_matches_keras(keras_without_tf, rng, kind):
    keras = keras_without_tf
    data = (rng.standard_normal((50, 4)) * [1, 10, 100, 0.1]).astype("float32")
    batches = _batches(data, 16)

    class KerasBatches(keras.utils.PyDataset):
        def __len__(self):
            return len(batches)

        def __getitem__(self, index):
            return batches[index], np.zeros(len(batches[index]))

    class Batches(lamina.utils.PyDataset):
        __len__, __getitem__ = KerasBatches.__len__, KerasBatches.__getitem__

    ours_data, keras_data = {
        "list": (batches, batches),
        "generator": ((b for b in batches), (b for b in batches)),
        "py_dataset": (Batches(), KerasBatches()),
        "data_loader": (torch.utils.data.DataLoader(torch.from_numpy(data), batch_size=16), batches),
        "xy_tuples": ([(b, b[:, :1]) for b in batches], [(b, b[:, :1]) for b in batches]),
    }[kind]
    ours, theirs = _adapted(keras, {"axis": -1}, ours_data, keras_data)
    assert_close(ours.get_weights()[:2], theirs.get_weights()[:2], what=kind)
    assert_close(ours(data), theirs(data), what=kind)


def test_normalization_adapt_in_batches_equals_whole(rng):
    data = rng.standard_normal((1000, 3)).astype("float32") * 5 + 2
    whole, batched = lamina.layers.Normalization(), lamina.layers.Normalization()
    whole.adapt(data)
    batched.adapt(data, batch_size=64)
    assert_close(batched.get_weights()[:2], whole.get_weights()[:2], tolerance=1e-6)
    limited = lamina.layers.Normalization()
    limited.adapt(data, batch_size=100, steps=2)
    assert_close(limited.get_weights()[0], data[:200].mean(axis=0), tolerance=1e-6)


@pytest.mark.parametrize("kwargs,shape", [({"mean": 3.0, "variance": 2.0}, (4, 1)),
                                          ({"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 0.0]}, (5, 3)),
                                          ({"axis": (1, 2), "mean": [0.5, -1.0], "variance": [2.0, 3.0]}, (3, 4, 2)),
                                          ({"axis": None, "mean": 1.0, "variance": 9.0, "invert": True}, (2, 3))])
def test_normalization_given_mean_and_variance_matches_keras(keras, rng, kwargs, shape):
    assert_matches_keras(keras, "Normalization", kwargs, rng.standard_normal(shape).astype("float32"))


def test_normalization_keras_weights_and_models(keras, rng):
    data = rng.standard_normal((30, 5)).astype("float32")
    theirs = keras.layers.Normalization()
    theirs.adapt(data)
    ours = lamina.layers.Normalization()
    ours.build((None, 5))
    ours.set_weights(theirs.get_weights())
    assert_close(ours(data), theirs(data))
    model = lamina.Sequential([lamina.Input((5,)), ours, lamina.layers.Dense(2)])
    assert model(data).shape == (30, 2)
    assert [w.name for w in ours.weights] == ["mean", "variance", "count"]


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        lamina.layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        lamina.layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match=r"range \[-ndim, ndim\)"):
        lamina.layers.Normalization(axis=3)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="cannot be adapted"):
        lamina.layers.Normalization(mean=1.0, variance=1.0).adapt(np.zeros((2, 3)))
    layer = lamina.layers.Normalization()
    layer.adapt(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="incompatible"):
        layer.adapt(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="no data"):
        lamina.layers.Normalization().adapt(iter([]))
    with pytest.raises(ValueError, match="steps"):
        lamina.layers.Normalization().adapt(np.zeros((4, 3)), steps=2)
    with pytest.raises(TypeError, match="axis"):
        lamina.layers.Normalization(axis="last")


# ---------------------------------------------------------------------------------------------- Discretization
@pytest.mark.parametrize("output_mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", [(6,), (4, 3), (4, 1)])
def test_discretization_with_boundaries_matches_keras(keras, rng, output_mode, shape):
    data = rng.standard_normal(shape).astype("float32") * 2
    kwargs = {"bin_boundaries": [-1.0, 0.0, 0.5, 2.0], "output_mode": output_mode}
    ours, theirs, output = assert_matches_keras(keras, "Discretization", kwargs, data)
    assert output.dtype == (torch.int32 if output_mode == "int" else torch.float32)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


@pytest.mark.parametrize("kwargs", [{"num_bins": 4}, {"num_bins": 7, "epsilon": 0.05}, {"num_bins": 2}])
@pytest.mark.parametrize("batched", [False, True])
def test_discretization_adapt_matches_keras(keras_without_tf, rng, kwargs, batched):
    keras = keras_without_tf
    data = rng.exponential(size=(300, 2)).astype("float32")
    ours, theirs = lamina.layers.Discretization(**kwargs), keras.layers.Discretization(**kwargs)
    ours.adapt(_batches(data, 64) if batched else data)
    theirs.adapt(_batches(data, 64) if batched else data)
    assert_close(np.array(ours.bin_boundaries), np.array(theirs.bin_boundaries), what=str(kwargs))
    assert ours(data).tolist() == theirs(data).tolist()
    restored = lamina.layers.Discretization.from_config(ours.get_config())
    assert restored.bin_boundaries == ours.bin_boundaries
    fresh = lamina.layers.Discretization(**kwargs)
    fresh.load_state_dict(ours.state_dict())
    assert fresh(data).tolist() == ours(data).tolist()


def test_discretization_errors():
    with pytest.raises(ValueError, match="either `num_bins` or `bin_boundaries`"):
        lamina.layers.Discretization()
    with pytest.raises(ValueError, match="not both"):
        lamina.layers.Discretization(num_bins=3, bin_boundaries=[0.0])
    with pytest.raises(ValueError, match="sorted"):
        lamina.layers.Discretization(bin_boundaries=[1.0, 0.0])
    with pytest.raises(ValueError, match="cannot be adapted"):
        lamina.layers.Discretization(bin_boundaries=[0.0]).adapt(np.zeros(3))
    with pytest.raises(ValueError, match="adapt"):
        lamina.layers.Discretization(num_bins=3)(np.zeros(3))
    with pytest.raises(ValueError, match="sparse"):
        lamina.layers.Discretization(num_bins=3, sparse=True)


# ---------------------------------------------------------------------------------------------- Rescaling
@pytest.mark.parametrize("kwargs", [{"scale": 1 / 255}, {"scale": 1 / 127.5, "offset": -1},
                                    {"scale": 2.0, "offset": 0.5},
                                    {"scale": [0.5, 1.0, 2.0], "offset": [0.0, 1.0, -1.0]}])
@pytest.mark.parametrize("dtype", ["uint8", "float32", "int64"])
def test_rescaling_matches_keras(keras, rng, kwargs, dtype):
    data = rng.integers(0, 256, (2, 4, 4, 3)).astype(dtype)
    assert_matches_keras(keras, "Rescaling", kwargs, data)


def test_rescaling_channels_first_and_config(keras, rng):
    keras.config.set_image_data_format("channels_first")
    lamina.config.set_image_data_format("channels_first")
    try:
        data = rng.standard_normal((2, 3, 4, 4)).astype("float32")
        assert_matches_keras(keras, "Rescaling", {"scale": [1.0, 2.0, 3.0]}, data)
    finally:
        keras.config.set_image_data_format("channels_last")
        lamina.config.set_image_data_format("channels_last")
    config = keras.layers.Rescaling(np.array([1.0, 2.0])).get_config()  # Keras writes arrays as __numpy__
    assert lamina.layers.Rescaling.from_config(config)(np.ones((1, 2))).tolist() == [[1.0, 2.0]]


# ---------------------------------------------------------------------------------------------- CategoryEncoding
@pytest.mark.parametrize("output_mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", [(5,), (4, 3), (4, 1)])
def test_category_encoding_matches_keras(keras, rng, output_mode, shape):
    data = rng.integers(0, 6, shape)
    ours, _, output = assert_matches_keras(keras, "CategoryEncoding", {"num_tokens": 6, "output_mode": output_mode},
                                           data)
    assert output.dtype == torch.float32
    assert tuple(output.shape) == ours.compute_output_shape(shape)


def test_category_encoding_count_weights_and_errors(keras, rng):
    data = rng.integers(0, 4, (5, 3))
    weights = rng.random((5, 3)).astype("float32")
    assert_matches_keras(keras, "CategoryEncoding", {"num_tokens": 4, "output_mode": "count"}, data,
                         call_kwargs={"count_weights": weights})
    layer = lamina.layers.CategoryEncoding(num_tokens=4)
    with pytest.raises(ValueError, match=r"\[0, num_tokens=4\).*\[0, 4\]"):
        layer(np.array([[0, 4]]))
    with pytest.raises(ValueError, match="count_weights"):
        layer(data, count_weights=weights)
    with pytest.raises(ValueError, match="num_tokens"):
        lamina.layers.CategoryEncoding()
    with pytest.raises(ValueError, match="output_mode"):
        lamina.layers.CategoryEncoding(num_tokens=3, output_mode="tf_idf")
    assert lamina.layers.CategoryEncoding(num_tokens=3, output_mode="binary").output_mode == "multi_hot"


@pytest.mark.parametrize("output_mode", ["multi_hot", "count"])
def test_category_encoding_rank3_reduces_the_last_axis(keras, rng, output_mode):
    """The documented sample axis is the last; Keras-torch reduces axis 1 (docs/keras_torch_departures.md)."""
    data = rng.integers(0, 5, (2, 3, 4))
    ours = lamina.layers.CategoryEncoding(num_tokens=5, output_mode=output_mode)(data)
    theirs = keras.layers.CategoryEncoding(num_tokens=5, output_mode=output_mode)
    assert_close(ours, np.stack([np.asarray(theirs(sample)) for sample in data]))
