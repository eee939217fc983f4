"""One rate at a fixed value of another: SensitivityAtSpecificity, SpecificityAtSensitivity,
PrecisionAtRecall, RecallAtPrecision.

Counts are kept at ``num_thresholds`` thresholds ``0, 1/(n-1), ..., 1`` (0.5 alone for one threshold);
the result is the best ``dependent`` rate over the thresholds whose ``constrained`` rate reaches
the requested value (0 when none does), as Keras computes it.
"""

import torch

from lamina import registry
from lamina.metrics.base import MODULE, Metric, as_float_tensor
from lamina.metrics.confusion import add_count_variables, confusion_counts, divide_no_nan

_RATES = {
    "sensitivity": lambda tp, fp, tn, fn: divide_no_nan(tp, tp + fn),
    "recall": lambda tp, fp, tn, fn: divide_no_nan(tp, tp + fn),
    "specificity": lambda tp, fp, tn, fn: divide_no_nan(tn, tn + fp),
    "precision": lambda tp, fp, tn, fn: divide_no_nan(tp, tp + fp),
}


class _RateAtValue(Metric):
    """Shared by the family: subclasses name the ``constrained`` rate (their first argument) and the
    ``dependent`` rate they report."""

    constrained = None
    dependent = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self.constrained}` must be in the range [0, 1]. "
                             f"Received: {self.constrained}={value}")
        super().__init__(name=name, dtype=dtype)
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. Received: num_thresholds={num_thresholds}")
        self.value = value
        setattr(self, self.constrained, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            self.thresholds = [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
        add_count_variables(self, (len(self.thresholds),))

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = as_float_tensor(y_pred)
        self._follow_device(y_pred.device)
        tp, fp, tn, fn = confusion_counts(y_true, y_pred, torch.tensor(self.thresholds), sample_weight,
                                           class_id=self.class_id)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def result(self):
        counts = (self.true_positives, self.false_positives, self.true_negatives, self.false_negatives)
        constrained = _RATES[self.constrained](*counts)
        dependent = _RATES[self.dependent](*counts)
        feasible = torch.where(constrained >= self.value, dependent, torch.zeros_like(dependent))
        return torch.clamp(feasible.max(), min=0.0)

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self.constrained: self.value}


@registry.register_builtin(MODULE)
class SensitivityAtSpecificity(_RateAtValue):
    """The best sensitivity (recall) among thresholds whose specificity is >= ``specificity``."""

    constrained, dependent = "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


@registry.register_builtin(MODULE)
class SpecificityAtSensitivity(_RateAtValue):
    """The best specificity among thresholds whose sensitivity (recall) is >= ``sensitivity``."""

    constrained, dependent = "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


@registry.register_builtin(MODULE)
class PrecisionAtRecall(_RateAtValue):
    """The best precision among thresholds whose recall is >= ``recall``."""

    constrained, dependent = "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


@registry.register_builtin(MODULE)
class RecallAtPrecision(_RateAtValue):
    """The best recall among thresholds whose precision is >= ``precision``."""

    constrained, dependent = "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
