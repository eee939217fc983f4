"""Regression metrics: means of the loss functions, and the root of the mean squared error."""

import torch

from lamina import losses
from lamina.metrics.base import MODULE, Mean, MeanMetricWrapper, as_float_tensor
from lamina import registry


class _LossMean(MeanMetricWrapper):
    """The mean of a loss function; subclasses set ``fn`` and the default name."""

    fn = None
    default_name = None

    def __init__(self, name=None, dtype=None):
        super().__init__(type(self).fn, name=name or self.default_name, dtype=dtype)


@registry.register_builtin(MODULE)
class MeanSquaredError(_LossMean):
    """Mean of ``mean((y_true - y_pred)**2, axis=-1)``."""

    fn = staticmethod(losses.mean_squared_error)
    default_name = "mean_squared_error"


@registry.register_builtin(MODULE)
class MeanAbsoluteError(_LossMean):
    """Mean of ``mean(|y_true - y_pred|, axis=-1)``."""

    fn = staticmethod(losses.mean_absolute_error)
    default_name = "mean_absolute_error"


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
