"""Every data form fit accepts gives the same training as NumPy arrays."""

import numpy as np
import pytest
import torch

import lamina
import lamina.optimizers  # noqa: F401
from lamina.training.data import PyDataset, make_adapter


@pytest.fixture
def arrays(rng):
    x = rng.standard_normal((40, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]])).astype("float32")


def _train(x, y=None, **kwargs):
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(lamina.optimizers.SGD(0.05), "mse")
    history = model.fit(x, y, verbose=0, shuffle=False, **kwargs)
    return model.get_weights(), history.history["loss"]


class Batches(PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return self.x[index * 10:(index + 1) * 10], self.y[index * 10:(index + 1) * 10]


def _generator(x, y):
    while True:
        for start in range(0, 40, 10):
            yield x[start:start + 10], y[start:start + 10]


@pytest.mark.parametrize("form", ["tensor", "generator", "dataloader", "dataset", "pydataset"])
def test_data_forms_train_like_arrays(arrays, form):
    x, y = arrays
    expected = _train(x, y, batch_size=10, epochs=2)
    tensors = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    actual = {
        "tensor": lambda: _train(torch.from_numpy(x), torch.from_numpy(y), batch_size=10, epochs=2),
        "generator": lambda: _train(_generator(x, y), steps_per_epoch=4, epochs=2),
        "dataloader": lambda: _train(torch.utils.data.DataLoader(tensors, batch_size=10), epochs=2),
        "dataset": lambda: _train(tensors, batch_size=10, epochs=2),
        "pydataset": lambda: _train(Batches(x, y), epochs=2),
    }[form]()
    np.testing.assert_allclose(actual[1], expected[1], rtol=1e-6)
    for a, e in zip(actual[0], expected[0]):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)


def test_multi_input_dict_and_list(rng):
    first, second = lamina.Input((2,), name="a"), lamina.Input((3,), name="b")
    a, b = rng.standard_normal((20, 2)).astype("float32"), rng.standard_normal((20, 3)).astype("float32")

    class Sum(lamina.layers.Layer):
        def call(self, inputs):
            return inputs[0].sum(-1, keepdims=True) + inputs[1].sum(-1, keepdims=True)

    model = lamina.Model([first, second], lamina.layers.Dense(1)(Sum()([first, second])))
    model.compile("sgd", "mse")
    y = np.ones((20, 1), "float32")
    by_list = model.evaluate([a, b], y, verbose=0)
    by_dict = model.evaluate({"a": a, "b": b}, y, verbose=0)
    assert by_list == pytest.approx(by_dict)


def test_validation_split_takes_the_last_samples_before_shuffling(arrays):
    x, y = arrays
    train, validation = make_adapter(x, y, batch_size=8, shuffle=True).split(0.25)
    assert train.size == 30 and validation.size == 10 and not validation.shuffle
    np.testing.assert_array_equal(validation.x.numpy(), x[30:])
    seen = np.concatenate([batch[0].numpy() for batch in train])
    assert sorted(map(tuple, seen)) == sorted(map(tuple, x[:30]))


def test_class_weight_becomes_sample_weight_and_bad_inputs_raise(arrays):
    x, _ = arrays
    labels = np.arange(40) % 3
    adapter = make_adapter(x, labels, class_weight={0: 1.0, 1: 3.0, 2: 0.0}, batch_size=40)
    np.testing.assert_array_equal(next(iter(adapter))[2].numpy(), np.tile([1.0, 3.0, 0.0], 14)[:40])
    with pytest.raises(ValueError, match="different numbers of samples"):
        make_adapter(x, labels[:10])
    with pytest.raises(ValueError, match="must yield"):
        make_adapter(_generator(x, x), y=labels)
