"""Keras 3 metrics on torch tensors: stateful ``Metric`` objects and per-sample metric functions.

``get("accuracy")``-style lookup uses Keras's names; ``get_for_output(identifier,
y_true, y_pred)`` is what ``compile`` uses: it also resolves "accuracy"/"acc" to
the binary, sparse categorical or categorical accuracy from the shapes, as Keras 3.
"""

from lamina import losses
from lamina.metrics.accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                                     SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy,
                                     binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                                     sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from lamina.metrics.base import MODULE, Mean, MeanMetricWrapper, Metric, Sum
from lamina.metrics.confusion import (AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives,
                                      TruePositives)
from lamina.metrics.constrained import (PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
                                        SpecificityAtSensitivity)
from lamina.metrics.correlation import (ConcordanceCorrelation, PearsonCorrelation, concordance_correlation,
                                        pearson_correlation)
from lamina.metrics.f_score import F1Score, FBetaScore
from lamina.metrics.hinge import CategoricalHinge, Hinge, SquaredHinge
from lamina.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from lamina.metrics.probabilistic import (BinaryCrossentropy, CategoricalCrossentropy, KLDivergence, Poisson,
                                          SparseCategoricalCrossentropy)
from lamina.metrics.regression import (CosineSimilarity, LogCoshError, MeanAbsoluteError,
                                       MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError,
                                       R2Score, RootMeanSquaredError)
from lamina.naming import to_snake_case
from lamina import registry
from lamina.serialization import deserialize_keras_object, resolve_identifier, serialize_keras_object

# Keras's metric functions that are the loss functions (``metrics.binary_crossentropy``).
binary_crossentropy = losses.binary_crossentropy
binary_focal_crossentropy = losses.binary_focal_crossentropy
categorical_crossentropy = losses.categorical_crossentropy
categorical_focal_crossentropy = losses.categorical_focal_crossentropy
categorical_hinge = losses.categorical_hinge
hinge = losses.hinge
huber = losses.huber
kl_divergence = losses.kl_divergence
log_cosh = losses.log_cosh
mean_absolute_error = losses.mean_absolute_error
mean_absolute_percentage_error = losses.mean_absolute_percentage_error
mean_squared_error = losses.mean_squared_error
mean_squared_logarithmic_error = losses.mean_squared_logarithmic_error
poisson = losses.poisson
sparse_categorical_crossentropy = losses.sparse_categorical_crossentropy
squared_hinge = losses.squared_hinge

# As Keras 3: metric classes by class name and snake_case name ("categorical_accuracy" gives the class),
# short names for the regression metrics; lamina falls back to the loss functions for the loss names Keras
# has no metric class for ("huber", "log_cosh"), which compile then wraps in a MeanMetricWrapper.
_CLASSES = {name: obj for name, obj in registry.builtins_of(MODULE).items() if isinstance(obj, type)}
ALL_OBJECTS = {
    **{name: obj for name, obj in losses.ALL_OBJECTS.items() if not isinstance(obj, type)},
    **registry.builtins_of(MODULE),
    **{to_snake_case(name): cls for name, cls in _CLASSES.items()},
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
}


def serialize(metric):
    """A metric function's name, or a ``Metric``'s Keras-form config dict."""
    return serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    """A metric (or metric function) from a name or a Keras-form config."""
    return deserialize_keras_object(config, module_objects=ALL_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="metric function")


def get(identifier):
    """A ``Metric`` instance or metric function from a name, config, class, instance or callable."""
    return resolve_identifier(identifier, deserialize, "metric")


def get_for_output(identifier, y_true, y_pred):
    """The ``Metric`` ``compile`` tracks for one output, as Keras 3's ``get_metric``.

    "accuracy"/"acc" becomes BinaryAccuracy when ``y_pred`` has one column, SparseCategoricalAccuracy
    when ``y_true`` has lower rank or a last axis of 1, else CategoricalAccuracy; functions are wrapped
    in ``MeanMetricWrapper``. The metric is named by the string identifier when one was given.
    """
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    if str(identifier).lower() in ("accuracy", "acc"):
        is_binary = y_pred.shape[-1] == 1
        is_sparse = len(y_true.shape) < len(y_pred.shape) or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1)
        cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy
        metric = cls(name=str(identifier))
    else:
        metric = get(identifier)
    name = identifier if isinstance(identifier, str) else getattr(metric, "name", None) or metric.__name__
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    metric.name = name
    return metric


__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "AUC",
           "Precision", "Recall", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
           "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
           "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU", "MeanSquaredError", "MeanAbsoluteError",
           "RootMeanSquaredError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "LogCoshError",
           "CosineSimilarity", "R2Score", "PearsonCorrelation", "ConcordanceCorrelation", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge",
           "SquaredHinge", "CategoricalHinge", "F1Score", "FBetaScore", "accuracy", "binary_accuracy",
           "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "pearson_correlation", "concordance_correlation",
           "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
           "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh",
           "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
           "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy", "squared_hinge", "get",
           "get_for_output", "serialize", "deserialize"]
