"""The Keras accuracy family: per-sample match functions and their running means."""

import torch

from lamina import losses
from lamina.metrics.base import MODULE, MeanMetricWrapper, as_float_tensor
from lamina import registry


def _pair(y_true, y_pred):
    y_pred = as_float_tensor(y_pred)
    return as_float_tensor(y_true, device=y_pred.device), y_pred


@registry.register_builtin(MODULE)
def accuracy(y_true, y_pred):
    """1.0 where ``y_true == y_pred`` exactly."""
    y_true, y_pred = losses.squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    return (y_true == y_pred).float()


@registry.register_builtin(MODULE)
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``(y_pred > threshold) == y_true``."""
    y_true, y_pred = losses.squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    return (y_true == (y_pred > threshold).float()).float()


def _matches_argmax(labels, y_pred):
    """1.0 where ``argmax(y_pred, -1) == labels``; labels of shape ``(..., 1)`` keep that shape."""
    keep_shape = labels.ndim == y_pred.ndim and labels.shape[-1] == 1
    matches = (labels.squeeze(-1) if keep_shape else labels) == torch.argmax(y_pred, dim=-1).to(labels.dtype)
    return matches.float().reshape(labels.shape) if keep_shape else matches.float()


@registry.register_builtin(MODULE)
def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_true, -1) == argmax(y_pred, -1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _matches_argmax(torch.argmax(y_true, dim=-1).to(y_pred.dtype), y_pred)


@registry.register_builtin(MODULE)
def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals ``argmax(y_pred, -1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    matches = _matches_argmax(y_true, y_pred)
    return matches.squeeze(-1) if matches.ndim > 1 and matches.shape[-1] == 1 else matches


def _in_top_k(labels, y_pred, k):
    """1.0 where the label's score is >= the k-th largest score (ties count, as Keras)."""
    y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    flat = labels.reshape(-1).long()
    kth = torch.topk(y_pred, min(k, y_pred.shape[-1]), dim=-1).values[:, -1]
    hits = torch.gather(y_pred, 1, flat[:, None])[:, 0] >= kth
    return hits.float().reshape(labels.shape)


@registry.register_builtin(MODULE)
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where ``argmax(y_true)`` is among the ``k`` highest predictions."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _in_top_k(torch.argmax(y_true, dim=-1), y_pred, k)


@registry.register_builtin(MODULE)
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the ``k`` highest predictions (or, with ``from_sorted_ids``,
    among the first ``k`` ids of ``y_pred``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    if from_sorted_ids:
        ids = y_pred.reshape(-1, y_pred.shape[-1])[:, :k]
        return (ids == y_true.reshape(-1, 1)).any(dim=1).float().reshape(y_true.shape)
    return _in_top_k(y_true, y_pred, k)


class _AccuracyMean(MeanMetricWrapper):
    """Running mean of an accuracy function; subclasses set ``fn``; keyword arguments go to ``fn``."""

    fn = None

    def __init__(self, name, dtype=None, **kwargs):
        super().__init__(type(self).fn, name=name, dtype=dtype, **kwargs)


@registry.register_builtin(MODULE)
class Accuracy(_AccuracyMean):
    """How often predictions equal labels."""

    fn = staticmethod(accuracy)

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name, dtype)


@registry.register_builtin(MODULE)
class BinaryAccuracy(_AccuracyMean):
    """How often ``y_pred > threshold`` matches binary labels."""

    fn = staticmethod(binary_accuracy)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name, dtype, threshold=threshold)


@registry.register_builtin(MODULE)
class CategoricalAccuracy(_AccuracyMean):
    """How often ``argmax(y_pred)`` matches one-hot labels."""

    fn = staticmethod(categorical_accuracy)

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


@registry.register_builtin(MODULE)
class SparseCategoricalAccuracy(_AccuracyMean):
    """How often ``argmax(y_pred)`` matches integer labels."""

    fn = staticmethod(sparse_categorical_accuracy)

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


@registry.register_builtin(MODULE)
class TopKCategoricalAccuracy(_AccuracyMean):
    """How often the one-hot label is in the top ``k`` predictions."""

    fn = staticmethod(top_k_categorical_accuracy)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name, dtype, k=k)


@registry.register_builtin(MODULE)
class SparseTopKCategoricalAccuracy(_AccuracyMean):
    """How often the integer label is in the top ``k`` predictions."""

    fn = staticmethod(sparse_top_k_categorical_accuracy)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(name, dtype, k=k, from_sorted_ids=from_sorted_ids)

    def get_config(self):
        config = super().get_config()
        if not config["from_sorted_ids"]:
            del config["from_sorted_ids"]  # Keras writes it only when True
        return config
