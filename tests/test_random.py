"""``lamina.random`` against ``keras.random`` (torch backend): seeded draws give Keras's numbers, a
SeedGenerator advances per draw as Keras's does, unseeded draws follow torch's global RNG."""

import numpy as np
import pytest
import torch

import lamina
from lamina import random
from tests.keras_reference import assert_close

DRAWS = [
    ("normal", ((3, 4),), {"mean": 1.0, "stddev": 2.0}),
    ("uniform", ((5,),), {"minval": -1.0, "maxval": 3.0}),
    ("uniform", ((),), {}),
    ("truncated_normal", ((3, 3),), {"stddev": 0.5}),
    ("randint", ((4, 2), 0, 10), {}),
    ("randint", ((3,), -5, 5), {"dtype": "int64"}),
    ("gamma", ((3,), 2.0), {}),
    ("beta", ((3,), 2.0, 3.0), {}),
    ("binomial", ((4,), 5, 0.3), {}),
    ("normal", ((2, 2),), {"dtype": "float64"}),
]


@pytest.mark.parametrize("name,args,kwargs", DRAWS, ids=[d[0] for d in DRAWS])
@pytest.mark.parametrize("seed", [7, 2**33 + 5])
def test_seeded_draws_equal_keras(keras, name, args, kwargs, seed):
    ours = getattr(random, name)(*args, seed=seed, **kwargs)
    theirs = getattr(keras.random, name)(*args, seed=seed, **kwargs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert_close(ours, theirs.cpu(), 1e-6, name)
    assert torch.equal(ours, getattr(random, name)(*args, seed=seed, **kwargs)), "an int seed is stateless"


def test_categorical_shuffle_and_dropout_equal_keras(keras):
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]))
    assert torch.equal(random.categorical(logits, 6, seed=3), keras.random.categorical(logits, 6, seed=3).cpu())
    x = torch.arange(24.0).reshape(4, 6)
    assert torch.equal(random.shuffle(x, seed=5), keras.random.shuffle(x, seed=5).cpu())
    assert torch.equal(random.shuffle(x, axis=1, seed=5), keras.random.shuffle(x, axis=1, seed=5).cpu())
    assert_close(random.dropout(x, 0.4, seed=11), keras.random.dropout(x, 0.4, seed=11).cpu())
    assert_close(random.dropout(x, 0.5, noise_shape=(4, 1), seed=2),
                 keras.random.dropout(x, 0.5, noise_shape=(4, 1), seed=2).cpu())


def test_seed_generator_advances_as_keras(keras):
    ours, theirs = random.SeedGenerator(42), keras.random.SeedGenerator(42)
    draws = [(random.normal((3,), seed=ours), keras.random.normal((3,), seed=theirs)) for _ in range(3)]
    for a, b in draws:
        assert_close(a, b.cpu(), 1e-6)
    assert not torch.equal(draws[0][0], draws[1][0])
    assert ours.get_config() == {"seed": 42, "name": ours.name}
    assert torch.equal(random.uniform((2,), seed=random.SeedGenerator(3)),
                       random.uniform((2,), seed=random.SeedGenerator(3)))


def test_unseeded_draws_follow_the_global_rng():
    lamina.utils.set_random_seed(123)
    first = (random.normal((4,)), random.dropout(torch.ones(50), 0.5), random.gamma((3,), 2.0))
    lamina.utils.set_random_seed(123)
    second = (random.normal((4,)), random.dropout(torch.ones(50), 0.5), random.gamma((3,), 2.0))
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    assert not torch.equal(random.normal((4,)), first[0])


def test_seeded_gamma_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    random.gamma((2,), 1.5, seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_dropout_edges_and_errors():
    x = torch.randn(3, 4)
    assert torch.equal(random.dropout(x, 0.0), x)
    assert torch.equal(random.dropout(x, 1.0), torch.zeros_like(x))
    kept = random.dropout(torch.ones(10000), 0.3, seed=1)
    assert np.allclose(np.unique(kept.numpy()), [0.0, 1 / 0.7])
    assert abs(float((kept == 0).float().mean()) - 0.3) < 0.03
    with pytest.raises(ValueError, match="rate"):
        random.dropout(x, 1.5)
    with pytest.raises(ValueError, match="seed"):
        random.normal((2,), seed="abc")
    with pytest.raises(ValueError, match="seed"):
        random.SeedGenerator(seed=1.5)
