"""Correlation metrics: Pearson's and the concordance correlation, per sample along ``axis``, and their means."""

import torch

from lamina import config, losses, registry
from lamina.metrics.base import MODULE, MeanMetricWrapper, as_float_tensor


def _pair(y_true, y_pred):
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true, device=y_pred.device)
    return losses.squeeze_or_expand_to_same_rank(y_true, y_pred)


@registry.register_builtin(MODULE)
def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation of ``y_true`` and ``y_pred`` along ``axis`` (population standard deviations)."""
    y_true, y_pred = _pair(y_true, y_pred)
    true_centered = y_true - y_true.mean(dim=axis, keepdim=True)
    pred_centered = y_pred - y_pred.mean(dim=axis, keepdim=True)
    true_centered = true_centered / true_centered.std(dim=axis, keepdim=True, correction=0)
    pred_centered = pred_centered / pred_centered.std(dim=axis, keepdim=True, correction=0)
    return torch.mean(true_centered * pred_centered, dim=axis)


@registry.register_builtin(MODULE)
def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along ``axis``, as Keras computes it:
    ``mean(2 (y_true - mean_pred)(y_pred - mean_pred) / (var_true + var_pred + (mean_true - mean_pred)**2 + eps))``."""
    y_true, y_pred = _pair(y_true, y_pred)
    true_mean = y_true.mean(dim=axis, keepdim=True)
    pred_mean = y_pred.mean(dim=axis, keepdim=True)
    true_var = (y_true - true_mean).var(dim=axis, keepdim=True, correction=0)
    pred_var = (y_pred - pred_mean).var(dim=axis, keepdim=True, correction=0)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + torch.square(true_mean - pred_mean)
    return torch.mean(2 * covariance / (norm + config.epsilon()), dim=axis)


@registry.register_builtin(MODULE)
class PearsonCorrelation(MeanMetricWrapper):
    """Mean of ``pearson_correlation`` over the samples seen."""

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)


@registry.register_builtin(MODULE)
class ConcordanceCorrelation(MeanMetricWrapper):
    """Mean of ``concordance_correlation`` over the samples seen."""

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
