"""Metrics vs Keras 3: several update_state batches with sample weights, reset, configs, compile's accuracy."""

import numpy as np
import pytest
import torch

import lamina

from lamina import losses, metrics


def _batches(rng, kind, n=3, shape=(8, 4)):
    """[(y_true, y_pred, sample_weight)] NumPy batches for a metric family."""
    out = []
    for _ in range(n):
        weight = rng.uniform(0, 2, shape[0]).astype("float32")
        if kind == "regression":
            pair = rng.standard_normal(shape), rng.standard_normal(shape)
        elif kind == "binary":
            pair = rng.integers(0, 2, shape), rng.uniform(0, 1, shape)
        elif kind == "binary_column":
            pair = rng.integers(0, 2, (shape[0], 1)), rng.uniform(0, 1, (shape[0], 1))
        elif kind == "categorical":
            pair = np.eye(shape[1])[rng.integers(0, shape[1], shape[0])], rng.uniform(0, 1, shape)
        elif kind == "sparse":
            pair = rng.integers(0, shape[1], (shape[0], 1)), rng.uniform(0, 1, shape)
        elif kind == "exact":
            pair = rng.integers(0, 3, shape), rng.integers(0, 3, shape)
        elif kind == "classes":  # one class id per sample, some out of range for IoU's bounds mask
            pair = rng.integers(0, shape[1], shape[0]), rng.integers(-1, shape[1] + 1, shape[0])
        elif kind == "positive":
            pair = rng.uniform(0, 2, shape), rng.uniform(0.1, 2, shape)
        else:
            raise AssertionError(kind)
        out.append((pair[0].astype("float32"), pair[1].astype("float32"), weight))
    return out


CASES = [
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", dict(threshold=0.7), "binary"),
    ("CategoricalAccuracy", {}, "categorical"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", dict(k=2), "categorical"),
    ("SparseTopKCategoricalAccuracy", dict(k=2), "sparse"),
    ("AUC", {}, "binary"),
    ("AUC", dict(curve="PR"), "binary"),
    ("AUC", dict(num_thresholds=20, summation_method="minoring"), "binary"),
    ("AUC", dict(curve="PR", summation_method="majoring", thresholds=[0.2, 0.5, 0.8]), "binary"),
    ("AUC", dict(multi_label=True, num_labels=4, label_weights=[1.0, 2.0, 0.5, 1.0]), "binary"),
    ("AUC", dict(from_logits=True), "regression"),
    ("Precision", {}, "binary"),
    ("Precision", dict(thresholds=[0.3, 0.6]), "binary"),
    ("Precision", dict(top_k=2), "binary"),
    ("Recall", dict(class_id=1, thresholds=0.4), "binary"),
    ("Recall", {}, "binary_column"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("F1Score", {}, "categorical"),
    ("F1Score", dict(average="macro", threshold=0.5), "binary"),
    ("F1Score", dict(average="micro"), "categorical"),
    ("F1Score", dict(average="weighted", threshold=0.3), "binary"),
    ("TruePositives", {}, "binary"),
    ("FalsePositives", dict(thresholds=[0.2, 0.7]), "binary"),
    ("TrueNegatives", dict(thresholds=0.3), "binary_column"),
    ("FalseNegatives", {}, "binary"),
    ("SensitivityAtSpecificity", dict(specificity=0.6), "binary"),
    ("SpecificityAtSensitivity", dict(sensitivity=0.4, num_thresholds=7), "binary"),
    ("PrecisionAtRecall", dict(recall=0.5, class_id=2), "binary"),
    ("RecallAtPrecision", dict(precision=0.55, num_thresholds=1), "binary"),
    ("IoU", dict(num_classes=4, target_class_ids=[0, 2]), "classes"),
    ("IoU", dict(num_classes=4, target_class_ids=[1, 3], ignore_class=1, dtype="float32"), "classes"),
    ("MeanIoU", dict(num_classes=4), "classes"),
    ("BinaryIoU", {}, "binary_column"),
    ("BinaryIoU", dict(target_class_ids=[1], threshold=0.3, dtype="float32"), "binary_column"),
    ("OneHotIoU", dict(num_classes=4, target_class_ids=[0, 3], dtype="float32"), "categorical"),
    ("OneHotMeanIoU", dict(num_classes=4), "categorical"),
    ("R2Score", {}, "regression"),
    ("R2Score", dict(class_aggregation="variance_weighted_average", num_regressors=3), "regression"),
    ("R2Score", dict(class_aggregation=None), "regression"),
    ("PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", dict(from_logits=True, label_smoothing=0.1), "regression"),
    ("CategoricalCrossentropy", dict(label_smoothing=0.2), "categorical"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", dict(from_logits=True, ignore_class=1), "sparse"),
    ("KLDivergence", {}, "positive"),
    ("Poisson", {}, "positive"),
    ("Hinge", {}, "binary"),
    ("SquaredHinge", {}, "regression"),
    ("CategoricalHinge", {}, "categorical"),
    ("CosineSimilarity", {}, "regression"),
    ("LogCoshError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "positive"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
]
# Keras 3.15 leaves `axis` out of CosineSimilarity's config, so it does not round-trip; lamina keeps it.
CONFIG_DEPARTURES = {"CosineSimilarity": {"axis"}}


def _assert_close(actual, expected):
    expected = np.asarray(expected)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=0,
                               atol=1e-5 * max(1.0, float(np.max(np.abs(expected)))))


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_metric_matches_keras(keras, rng, name, kwargs, kind, names_from_zero):  # "auc", "auc_1"... alike
    ours = getattr(metrics, name)(**kwargs)
    reference = getattr(keras.metrics, name)(**kwargs)
    for weighted in (True, False):
        for y_true, y_pred, weight in _batches(rng, kind):
            sample_weight = weight if weighted else None
            ours.update_state(torch.from_numpy(y_true), torch.from_numpy(y_pred), sample_weight=sample_weight)
            reference.update_state(y_true, y_pred, sample_weight=sample_weight)
            result = ours.result()
            assert isinstance(result, torch.Tensor)
            _assert_close(result.numpy(), keras.ops.convert_to_numpy(reference.result()))
        assert len(ours.variables) == len(reference.variables)
        ours.reset_state(), reference.reset_state()
        _assert_close(ours.result().numpy(), keras.ops.convert_to_numpy(reference.result()))
    # Keras-torch leaves AUC's label_weights as a tensor in the config; lamina writes the JSON-ready list.
    config = {k: v.tolist() if hasattr(v, "tolist") else v for k, v in reference.get_config().items()}
    ours_config = {k: v for k, v in ours.get_config().items() if k not in CONFIG_DEPARTURES.get(name, ())}
    assert ours_config == config
    assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()


@pytest.mark.parametrize("name", ["Mean", "Sum"])
def test_mean_and_sum_match_keras(keras, rng, name):
    ours, reference = getattr(metrics, name)(), getattr(keras.metrics, name)()
    for shape, weight_shape in [((6,), (6,)), ((6, 3), (6,)), ((6, 3), (6, 3)), ((6, 3), None)]:
        values = rng.standard_normal(shape).astype("float32")
        weight = None if weight_shape is None else rng.uniform(0, 1, weight_shape).astype("float32")
        ours.update_state(values, sample_weight=weight)
        reference.update_state(values, sample_weight=weight)
        _assert_close(ours.result().numpy(), keras.ops.convert_to_numpy(reference.result()))
    ours.update_state(3.0)
    reference.update_state(3.0)
    _assert_close(ours.result().numpy(), keras.ops.convert_to_numpy(reference.result()))
    assert ours.get_config() == reference.get_config()


@pytest.mark.parametrize("fn", ["mse", "mae", "binary_crossentropy", "categorical_crossentropy", "kl_divergence"])
def test_mean_metric_wrapper_of_a_loss(keras, rng, fn):
    ours = metrics.MeanMetricWrapper(losses.get(fn), name="wrapped")
    reference = keras.metrics.MeanMetricWrapper(keras.losses.get(fn), name="wrapped")
    for y_true, y_pred, weight in _batches(rng, "categorical"):
        ours.update_state(y_true, y_pred, sample_weight=weight)
        reference.update_state(y_true, y_pred, sample_weight=weight)
    _assert_close(ours.result().numpy(), keras.ops.convert_to_numpy(reference.result()))
    restored = metrics.deserialize(metrics.serialize(ours))
    assert restored.get_config() == ours.get_config()


@pytest.mark.parametrize("y_true_shape,y_pred_shape,expected", [
    ((8, 1), (8, 1), "BinaryAccuracy"),
    ((8,), (8, 1), "BinaryAccuracy"),
    ((8,), (8, 5), "SparseCategoricalAccuracy"),
    ((8, 1), (8, 5), "SparseCategoricalAccuracy"),
    ((8, 5), (8, 5), "CategoricalAccuracy"),
    ((8, 7), (8, 7, 5), "SparseCategoricalAccuracy"),
])
@pytest.mark.parametrize("identifier", ["accuracy", "acc"])
def test_get_for_output_resolves_accuracy_like_keras_compile(keras, identifier, y_true_shape, y_pred_shape,
                                                               expected):
    from keras.src.trainers.compile_utils import get_metric

    y_true, y_pred = torch.zeros(y_true_shape), torch.zeros(y_pred_shape)
    metric = metrics.get_for_output(identifier, y_true, y_pred)
    reference = get_metric(identifier, y_true, y_pred)
    assert type(metric).__name__ == type(reference).__name__ == expected
    assert metric.name == reference.name == identifier


@pytest.mark.parametrize("identifier", ["mae", "mse", "AUC", "Precision", "categorical_accuracy",
                                        "sparse_top_k_categorical_accuracy", "binary_crossentropy"])
def test_get_for_output_names_and_wraps_like_keras(keras, identifier):
    from keras.src.trainers.compile_utils import get_metric

    y = torch.zeros(4, 3)
    metric, reference = metrics.get_for_output(identifier, y, y), get_metric(identifier, y, y)
    assert isinstance(metric, metrics.Metric)
    assert metric.name == reference.name
    assert type(metric).__name__ == type(reference).__name__


def test_get_by_name_and_object():
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("sparse_categorical_accuracy"), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get("binary_crossentropy"), metrics.BinaryCrossentropy)  # as Keras
    assert metrics.get("huber") is losses.huber
    metric = metrics.Precision()
    assert metrics.get(metric) is metric
    assert metrics.get(None) is None


def test_mask_on_predictions_weights_the_mean(keras, rng):
    y_true = rng.integers(0, 3, (4, 5)).astype("float32")
    y_pred = rng.uniform(0, 1, (4, 5, 3)).astype("float32")
    mask = rng.integers(0, 2, (4, 5)).astype(bool)
    ours = metrics.SparseCategoricalAccuracy()
    pred = torch.from_numpy(y_pred)
    pred._keras_mask = torch.from_numpy(mask)
    ours.update_state(y_true, pred)
    expected = (np.argmax(y_pred, -1) == y_true)[mask].mean()
    _assert_close(ours.result().numpy(), expected)


@pytest.mark.parametrize("make,match", [
    (lambda: metrics.get("nope"), "Unknown metric"),
    (lambda: metrics.AUC(num_thresholds=1), "num_thresholds"),
    (lambda: metrics.AUC(curve="XY"), "curve"),
    (lambda: metrics.AUC(summation_method="simpson"), "summation_method"),
    (lambda: metrics.AUC(num_labels=3), "num_labels"),
    (lambda: metrics.Precision(thresholds=[1.5]), "Threshold"),
    (lambda: metrics.F1Score(average="median"), "average"),
    (lambda: metrics.F1Score(threshold=2.0), "threshold"),
    (lambda: metrics.F1Score().update_state(np.ones(3), np.ones(3)), "2D inputs"),
    (lambda: metrics.Recall().update_state(np.ones(3), np.full(3, 2.0)), r"\[0, 1\]"),
    (lambda: metrics.get_for_output(None, None, None), "Expected metric"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_every_keras_metric_name_exists(keras):
    assert [n for n in dir(keras.metrics) if not n.startswith("_") and not hasattr(metrics, n)] == []


@pytest.mark.parametrize("name", ["pearson_correlation", "concordance_correlation", "categorical_focal_crossentropy",
                                  "huber", "log_cosh", "binary_focal_crossentropy"])
def test_metric_functions_match_keras(keras, rng, name):
    y_true = rng.uniform(0, 1, (6, 5)).astype("float32")
    y_pred = rng.uniform(0.05, 1, (6, 5)).astype("float32")
    _assert_close(getattr(metrics, name)(y_true, y_pred).numpy(),
                  keras.ops.convert_to_numpy(getattr(keras.metrics, name)(y_true, y_pred)))


@pytest.mark.parametrize("make,match", [
    (lambda: metrics.PrecisionAtRecall(1.5), r"`recall` must be in the range \[0, 1\]. Received: recall=1.5"),
    (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), "num_thresholds"),
    (lambda: metrics.IoU(3, [0, 3]), r"Target class id 3 is out of range, which is \[0, 3\)"),
    (lambda: metrics.R2Score(class_aggregation="median"), "class_aggregation"),
    (lambda: metrics.R2Score(num_regressors=-1), "num_regressors"),
    (lambda: metrics.R2Score().update_state(np.ones(3), np.ones(3)), "2D inputs"),
])
def test_bad_arguments_of_the_newer_metrics_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_iou_truncates_float_weights_as_keras_does(keras):
    ours, reference = metrics.MeanIoU(2), keras.metrics.MeanIoU(2)
    with pytest.warns(UserWarning, match="weight as `float`, but dtype is `int`"):
        ours.update_state([0, 1, 1], [0, 1, 0], sample_weight=[0.5, 1.7, 1.0])
    reference.update_state([0, 1, 1], [0, 1, 0], sample_weight=[0.5, 1.7, 1.0])
    np.testing.assert_array_equal(ours.total_cm.numpy(), keras.ops.convert_to_numpy(reference.total_cm))
    assert ours.total_cm.dtype == torch.int32


@pytest.mark.parametrize("count", [1, 8, 32, 12, 100])
def test_loss_tracker_fast_path_rounds_as_the_general_path(count):
    """A scalar weighted by a batch size (one add with alpha for powers of two): Keras's total + value * count."""
    from lamina import metrics

    generator = torch.Generator().manual_seed(count)
    fast, general = metrics.Mean(), metrics.Mean()
    for _ in range(500):
        value = torch.randn((), generator=generator) * 10.0 ** float(torch.randint(-6, 6, (), generator=generator))
        fast.update_state(value, sample_weight=count)
        general.update_state(value.reshape(1), sample_weight=torch.tensor([float(count)]))
        assert torch.equal(fast.total, general.total) and torch.equal(fast.count, general.count)
