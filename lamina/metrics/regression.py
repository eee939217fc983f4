"""Regression metrics: means of the regression losses, the root mean squared error, cosine similarity
and the R2 score."""

import warnings

import torch
import torch.nn.functional as F

from lamina import config, losses
from lamina.metrics.base import MODULE, LossMean, Mean, MeanMetricWrapper, Metric, as_float_tensor
from lamina import registry


@registry.register_builtin(MODULE)
class MeanSquaredError(LossMean):
    """Mean of ``mean((y_true - y_pred)**2, axis=-1)``."""

    fn = staticmethod(losses.mean_squared_error)
    default_name = "mean_squared_error"


@registry.register_builtin(MODULE)
class MeanAbsoluteError(LossMean):
    """Mean of ``mean(|y_true - y_pred|, axis=-1)``."""

    fn = staticmethod(losses.mean_absolute_error)
    default_name = "mean_absolute_error"


@registry.register_builtin(MODULE)
class MeanAbsolutePercentageError(LossMean):
    """Mean of ``100 * mean(|(y_true - y_pred) / y_true|, axis=-1)``."""

    fn = staticmethod(losses.mean_absolute_percentage_error)
    default_name = "mean_absolute_percentage_error"


@registry.register_builtin(MODULE)
class MeanSquaredLogarithmicError(LossMean):
    """Mean of ``mean((log(y_pred + 1) - log(y_true + 1))**2, axis=-1)``."""

    fn = staticmethod(losses.mean_squared_logarithmic_error)
    default_name = "mean_squared_logarithmic_error"


@registry.register_builtin(MODULE)
class LogCoshError(LossMean):
    """Mean of ``mean(log(cosh(y_pred - y_true)), axis=-1)`` (default name "logcosh", as Keras)."""

    fn = staticmethod(losses.log_cosh)
    default_name = "logcosh"


def cosine_similarity(y_true, y_pred, axis=-1):
    """``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: 1 for aligned vectors."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true, device=y_pred.device)
    y_true, y_pred = losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
    return torch.sum(F.normalize(y_true, dim=axis, eps=config.epsilon()) *
                     F.normalize(y_pred, dim=axis, eps=config.epsilon()), dim=axis)


@registry.register_builtin(MODULE)
class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between labels and predictions along ``axis``.

    Config departure: Keras 3.15 drops ``axis`` from the config; lamina keeps it so it round-trips.
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


@registry.register_builtin(MODULE)
class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean of ``(y_pred - y_true)**2``."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = as_float_tensor(y_pred)
        y_true = as_float_tensor(y_true, device=y_pred.device)
        y_true, y_pred = losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(torch.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return torch.sqrt(super().result())


@registry.register_builtin(MODULE)
class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output column of 2-D inputs.

    ``class_aggregation``: "uniform_average" (mean over columns), "variance_weighted_average"
    (weighted by each column's total variance) or None (one score per column).
    ``num_regressors`` p > 0 gives the adjusted score ``1 - (1 - R2)(n - 1) / (n - p - 1)``.
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of {valid}. "
                             f"Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
        columns = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(columns, name="squared_sum")
        self.sum = self.add_variable(columns, name="sum")
        self.total_mse = self.add_variable(columns, name="residual")
        self.count = self.add_variable(columns, name="count")
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = as_float_tensor(y_pred, getattr(torch, self.dtype))
        y_true = as_float_tensor(y_true, y_pred.dtype, y_pred.device)
        y_true, y_pred = losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        self._follow_device(y_pred.device)
        weight = torch.ones((), dtype=y_pred.dtype, device=y_pred.device) if sample_weight is None else \
            as_float_tensor(sample_weight, y_pred.dtype, y_pred.device)
        if weight.ndim == 1:
            weight = weight.unsqueeze(1)
        weight = torch.broadcast_to(weight, y_true.shape)
        weighted_y_true = y_true * weight
        self.sum += weighted_y_true.sum(dim=0)
        self.squared_sum += (y_true * weighted_y_true).sum(dim=0)
        self.total_mse += (torch.square(y_true - y_pred) * weight).sum(dim=0)
        self.count += weight.sum(dim=0)
        self.num_samples += y_true.numel()

    def result(self):
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw_scores = 1 - self.total_mse / total
        raw_scores = torch.where(torch.isinf(raw_scores), torch.zeros_like(raw_scores), raw_scores)
        if self.class_aggregation == "uniform_average":
            score = raw_scores.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw_scores).sum() / total.sum()
        else:
            score = raw_scores
        if self.num_regressors:
            samples = float(self.num_samples)
            if self.num_regressors > samples - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            elif self.num_regressors == samples - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (samples - 1.0) / (samples - self.num_regressors - 1.0)
        return score

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
