"""Hinge metrics: running means of the hinge losses (labels in {-1, 1}; 0/1 labels are converted)."""

from lamina import losses, registry
from lamina.metrics.base import MODULE, LossMean


@registry.register_builtin(MODULE)
class Hinge(LossMean):
    """Mean of ``mean(max(1 - y_true * y_pred, 0), axis=-1)``."""

    fn = staticmethod(losses.hinge)
    default_name = "hinge"


@registry.register_builtin(MODULE)
class SquaredHinge(LossMean):
    """Mean of ``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)``."""

    fn = staticmethod(losses.squared_hinge)
    default_name = "squared_hinge"


@registry.register_builtin(MODULE)
class CategoricalHinge(LossMean):
    """Mean of ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``."""

    fn = staticmethod(losses.categorical_hinge)
    default_name = "categorical_hinge"
