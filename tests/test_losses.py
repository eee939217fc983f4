"""Losses vs Keras 3: every class and argument, every reduction, sample weights, masks, configs, errors."""

import numpy as np
import pytest
import torch

from lamina import losses

REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight"]


def _data(rng, kind, shape=(6, 5)):
    """(y_true, y_pred) as float32 NumPy arrays suited to the loss family."""
    if kind == "regression":
        return rng.standard_normal(shape).astype("float32"), rng.standard_normal(shape).astype("float32")
    if kind == "positive":
        return rng.uniform(0.1, 3, shape).astype("float32"), rng.uniform(0.1, 3, shape).astype("float32")
    if kind == "binary":
        return (rng.integers(0, 2, shape).astype("float32"), rng.uniform(0.01, 0.99, shape).astype("float32"))
    if kind == "logits":
        return rng.integers(0, 2, shape).astype("float32"), rng.standard_normal(shape).astype("float32") * 3
    if kind == "categorical":
        labels = rng.integers(0, shape[-1], shape[:-1])
        probs = rng.uniform(0.01, 1, shape).astype("float32")
        return np.eye(shape[-1], dtype="float32")[labels], probs / probs.sum(-1, keepdims=True)
    if kind == "sparse":
        probs = rng.uniform(0.01, 1, shape).astype("float32")
        return rng.integers(0, shape[-1], shape[:-1]).astype("float32"), probs / probs.sum(-1, keepdims=True)
    if kind == "embeddings":  # Circle: integer labels and L2-normalized embeddings
        embeddings = rng.standard_normal(shape).astype("float32")
        return (rng.integers(0, 3, shape[:1]).astype("float32"),
                embeddings / np.linalg.norm(embeddings, axis=-1, keepdims=True))
    if kind == "ctc":  # labels padded with 0 (the blank) and logits over 8 steps
        labels = rng.integers(1, shape[-1], (shape[0], 3)) * (np.arange(3) < rng.integers(1, 4, (shape[0], 1)))
        return labels.astype("float32"), rng.standard_normal((shape[0], 8, shape[-1])).astype("float32")
    raise AssertionError(kind)


CASES = [
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Huber", {}, "regression"),
    ("Huber", dict(delta=0.5), "regression"),
    ("LogCosh", {}, "regression"),
    ("CosineSimilarity", {}, "regression"),
    ("CosineSimilarity", dict(axis=0), "regression"),
    ("Hinge", {}, "binary"),
    ("Hinge", {}, "regression"),
    ("SquaredHinge", {}, "binary"),
    ("CategoricalHinge", {}, "categorical"),
    ("KLDivergence", {}, "categorical"),
    ("Poisson", {}, "positive"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", dict(label_smoothing=0.2), "binary"),
    ("BinaryCrossentropy", dict(from_logits=True, label_smoothing=0.1), "logits"),
    ("BinaryCrossentropy", dict(axis=0), "binary"),
    ("BinaryFocalCrossentropy", {}, "binary"),
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, alpha=0.4, gamma=1.5, label_smoothing=0.1),
     "binary"),
    ("BinaryFocalCrossentropy", dict(from_logits=True, apply_class_balancing=True), "logits"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("CategoricalCrossentropy", dict(label_smoothing=0.2), "categorical"),
    ("CategoricalCrossentropy", dict(from_logits=True), "regression"),
    ("CategoricalCrossentropy", dict(axis=0, from_logits=True), "regression"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", dict(from_logits=True), "sparse"),
    ("SparseCategoricalCrossentropy", dict(ignore_class=2), "sparse"),
    ("SparseCategoricalCrossentropy", dict(ignore_class=1, from_logits=True), "sparse"),
    ("CategoricalFocalCrossentropy", {}, "categorical"),
    ("CategoricalFocalCrossentropy", dict(alpha=0.5, gamma=1.0, label_smoothing=0.1), "categorical"),
    ("CategoricalFocalCrossentropy", dict(from_logits=True), "regression"),
    ("CategoricalGeneralizedCrossEntropy", {}, "sparse"),
    ("CategoricalGeneralizedCrossEntropy", dict(q=0.2), "sparse"),
    ("Circle", {}, "embeddings"),
    ("Circle", dict(gamma=10.0, margin=0.25, remove_diagonal=False), "embeddings"),
    ("CTC", {}, "ctc"),
    ("Dice", {}, "binary"),
    ("Dice", dict(axis=-1), "binary"),
    ("Tversky", {}, "binary"),
    ("Tversky", dict(alpha=0.3, beta=0.7, axis=1), "binary"),
]

# Keras 3.15 drops these arguments from its configs (so they do not round-trip); lamina keeps them.
EXTRA_CONFIG_KEYS = {"Huber": {"delta"}, "CosineSimilarity": {"axis"}, "SparseCategoricalCrossentropy": {"axis"}}


def _assert_close(actual, expected):
    expected = np.asarray(expected)
    bound = 1e-5 * max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=0, atol=bound)


def _keras_value(keras, value):
    return keras.ops.convert_to_numpy(value)


@pytest.mark.parametrize("dtype", [None, "float64", "float16"])
def test_loss_dtype_is_keras_dtype_name(keras, dtype):
    ours, theirs = losses.MeanSquaredError(dtype=dtype), keras.losses.MeanSquaredError(dtype=dtype)
    assert ours.dtype == theirs.dtype
    if dtype is not None:  # an explicit dtype casts the inputs (by default float predictions keep theirs)
        assert str(ours(np.ones((2, 3)), np.zeros((2, 3))).dtype).removeprefix("torch.") == dtype


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_loss_matches_keras(keras, rng, name, kwargs, kind):
    # Reducing axis 0 leaves one loss per column: make it as long as the weights.
    y_true, y_pred = _data(rng, kind, (6, 6) if kwargs.get("axis") == 0 else (6, 5))
    weights = rng.uniform(0, 2, (6,)).astype("float32")
    for reduction in REDUCTIONS:
        ours = getattr(losses, name)(reduction=reduction, **kwargs)
        reference = getattr(keras.losses, name)(reduction=reduction, **kwargs)
        for sample_weight in (None, weights):
            expected = _keras_value(keras, reference(y_true, y_pred, sample_weight=sample_weight))
            actual = ours(torch.from_numpy(y_true), torch.from_numpy(y_pred), sample_weight=sample_weight)
            assert isinstance(actual, torch.Tensor) and actual.dtype == torch.float32
            assert tuple(actual.shape) == expected.shape
            _assert_close(actual.numpy(), expected)
    _assert_close(ours.call(torch.from_numpy(y_true), torch.from_numpy(y_pred)).numpy(),
                  _keras_value(keras, reference.call(keras.ops.convert_to_tensor(y_true),
                                                     keras.ops.convert_to_tensor(y_pred))))
    config, expected = ours.get_config(), reference.get_config()
    assert set(config) - set(expected) <= EXTRA_CONFIG_KEYS.get(name, set())
    assert {k: config[k] for k in expected} == expected
    assert type(ours).from_config(config).get_config() == config


def test_numpy_inputs_and_rank_matching(keras, rng):
    y_true = rng.standard_normal((8, 1)).astype("float32")
    y_pred = rng.standard_normal((8,)).astype("float32")
    expected = keras.losses.MeanSquaredError()(y_true, y_pred)
    _assert_close(losses.MeanSquaredError()(y_true, y_pred), _keras_value(keras, expected))
    sparse_true = rng.integers(0, 4, (8, 1))
    probs = rng.uniform(0.1, 1, (8, 4)).astype("float32")
    expected = keras.losses.SparseCategoricalCrossentropy()(sparse_true, probs)
    _assert_close(losses.SparseCategoricalCrossentropy()(sparse_true, probs), _keras_value(keras, expected))


def test_sequence_losses_with_2d_sample_weight_and_mask(keras, rng):
    y_true = rng.integers(0, 3, (4, 5)).astype("float32")
    logits = rng.standard_normal((4, 5, 3)).astype("float32")
    weights = rng.uniform(0, 1, (4, 5)).astype("float32")
    mask = rng.integers(0, 2, (4, 5)).astype(bool)
    mask[0, 0] = True
    for reduction in REDUCTIONS:
        reference = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
        keras_pred = keras.ops.convert_to_tensor(logits)
        keras_pred._keras_mask = keras.ops.convert_to_tensor(mask)
        ours = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
        pred = torch.from_numpy(logits)
        pred._keras_mask = torch.from_numpy(mask)
        _assert_close(ours(y_true, pred, sample_weight=weights),
                      _keras_value(keras, reference(y_true, keras_pred, sample_weight=weights)))


@pytest.mark.parametrize("name", ["mse", "mae", "mape", "msle", "kld", "bce", "mean_squared_error",
                                  "categorical_crossentropy", "sparse_categorical_crossentropy",
                                  "binary_crossentropy", "binary_focal_crossentropy", "huber", "poisson",
                                  "hinge", "squared_hinge", "categorical_hinge", "cosine_similarity",
                                  "kl_divergence", "log_cosh", "mean_absolute_percentage_error",
                                  "mean_squared_logarithmic_error", "mean_absolute_error"])
def test_get_function_by_name(keras, rng, name):
    fn = losses.get(name)
    assert callable(fn) and fn.__name__ == keras.losses.get(name).__name__
    y_true, y_pred = _data(rng, "sparse" if name.startswith("sparse") else "categorical")
    _assert_close(fn(y_true, y_pred), _keras_value(keras, keras.losses.get(name)(y_true, y_pred)))
    assert losses.deserialize(losses.serialize(fn)) is fn


def test_get_and_serialize_classes(keras):
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    assert losses.get(None) is None
    assert losses.get("logcosh") is losses.log_cosh  # Keras 2 alias, kept
    loss = losses.BinaryCrossentropy(from_logits=True, name="bce")
    serialized, reference = losses.serialize(loss), keras.losses.serialize(keras.losses.BinaryCrossentropy(
        from_logits=True, name="bce"))
    assert (serialized["class_name"], serialized["config"]) == (reference["class_name"], reference["config"])
    restored = losses.get(reference)
    assert isinstance(restored, losses.BinaryCrossentropy) and restored.from_logits is True
    assert losses.get(loss) is loss
    wrapper = losses.LossFunctionWrapper(losses.huber, delta=2.0)
    assert losses.deserialize(losses.serialize(wrapper)).get_config() == wrapper.get_config()


def test_gradient_flows_and_device_follows_input(rng):
    logits = torch.randn(4, 3, requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)(torch.tensor([0, 1, 2, 1]), logits)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and torch.all(logits.grad[0] == 0)
    assert loss.device == logits.device


@pytest.mark.parametrize("make,match", [
    (lambda: losses.MeanSquaredError(reduction="avg"), "reduction"),
    (lambda: losses.get("nope"), "Unknown loss"),
    (lambda: losses.get(42), "Could not interpret"),
    (lambda: losses.BinaryCrossentropy(bogus=1), "unexpected keyword"),
    (lambda: losses.CategoricalCrossentropy(axis=True)(np.ones((2, 2)), np.ones((2, 2))), "axis"),
    (lambda: losses.CategoricalCrossentropy()(np.ones((2, 3)), np.ones((2, 2))), "same shape"),
    (lambda: losses.BinaryCrossentropy()(np.ones((2, 3)), np.ones((2, 2))), "same shape"),
    (lambda: losses.SparseCategoricalCrossentropy()(np.ones((3,)), np.ones((2, 2))), "same shape"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_every_keras_loss_name_exists(keras):
    assert [n for n in dir(keras.losses) if not n.startswith("_") and not hasattr(losses, n)] == []


def test_circle_against_reference_embeddings_matches_keras(keras, rng):
    y_true, y_pred = _data(rng, "embeddings")
    ref_labels, ref_embeddings = _data(rng, "embeddings", (9, 5))
    expected = keras.losses.circle(y_true, y_pred, ref_labels=ref_labels, ref_embeddings=ref_embeddings,
                                   remove_diagonal=False)
    _assert_close(losses.circle(y_true, y_pred, ref_labels=ref_labels, ref_embeddings=ref_embeddings,
                                remove_diagonal=False).numpy(), _keras_value(keras, expected))


def test_ctc_rejects_bad_ranks():
    with pytest.raises(ValueError, match=r"`\(batch_size, max_length\)` in integer format"):
        losses.CTC()(np.ones((2, 3, 1)), np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match=r"Logits `y_pred` are expected.*Received: y_pred.shape=\(2, 5\)"):
        losses.ctc(np.ones((2, 3)), np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"q must be in the interval \(0, 1\)"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.0)


@pytest.mark.parametrize("shape", [(7, 1), (8, 1), (13, 3), (1, 1), (5, 2, 1), (32, 1), (256, 1), (2, 4, 1)])
@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error", "log_cosh", "huber"])
def test_fast_reductions_are_keras_formulas_bit_for_bit(rng, shape, name):
    """A last axis of size 1 is squeezed rather than averaged, and the batch mean is one CPU ``mean``: the
    values and gradients are those of Keras's ``mean(axis=-1)`` then ``sum / count``, bit for bit."""
    y_true = torch.from_numpy(rng.standard_normal(shape).astype("float32"))
    y_pred = torch.from_numpy(rng.standard_normal(shape).astype("float32") * 3).requires_grad_()
    loss = losses.get(name)
    ours = losses.LossFunctionWrapper(loss)(y_true, y_pred)
    per_sample = {"mean_squared_error": lambda: torch.square(y_true - y_pred),
                  "mean_absolute_error": lambda: torch.abs(y_true - y_pred),
                  "log_cosh": lambda: (y_pred - y_true) + torch.nn.functional.softplus((y_pred - y_true) * -2.0)
                  - np.log(2.0),
                  "huber": lambda: torch.where(torch.abs(y_true - y_pred) <= 1.0, 0.5 * torch.square(y_true - y_pred),
                                               torch.abs(y_true - y_pred) - 0.5)}[name]()
    values = torch.mean(per_sample, dim=-1)
    reference = values.sum() / values.numel()
    assert torch.equal(ours, reference)
    for scale in (1.0, 0.3, 7.7):  # a loss weight's gradient (0.3) reaching the loss: still the same roundings
        assert torch.equal(torch.autograd.grad(ours * scale, y_pred, retain_graph=True)[0],
                           torch.autograd.grad(reference * scale, y_pred, retain_graph=True)[0])
