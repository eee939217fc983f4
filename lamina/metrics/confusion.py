"""Confusion-matrix metrics: the four counts, Precision, Recall and AUC, from weighted counts per threshold.

A prediction is positive at threshold ``t`` when ``y_pred > t``. ``top_k`` keeps
only each row's ``k`` largest predictions (the others count as negative);
``class_id`` looks at one class column. Counts are weighted by ``sample_weight``.
"""

import torch

from lamina import config, losses
from lamina.metrics.base import MODULE, Metric, as_float_tensor
from lamina import registry

_NEG_INF = -1e10


def confusion_counts(y_true, y_pred, thresholds, sample_weight=None, top_k=None, class_id=None,
                      multi_label=False, label_weights=None):
    """Weighted (tp, fp, tn, fn), each of shape ``(len(thresholds),)`` (``(T, labels)`` if multi_label)."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true, device=y_pred.device)
    y_true, y_pred = losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Confusion metrics (AUC, Precision, Recall...) compare `y_true` and `y_pred` entry by "
                         f"entry: their shapes must match. Received: y_true.shape={tuple(y_true.shape)}, "
                         f"y_pred.shape={tuple(y_pred.shape)} (for class-index targets of a multi-class output, "
                         "use one-hot targets, or an accuracy metric).")
    if y_pred.numel() and (y_pred.min() < 0 or y_pred.max() > 1):
        raise ValueError("Confusion metrics expect predictions in [0, 1] (use from_logits=True for AUC on "
                         f"logits). Received values from {float(y_pred.min())} to {float(y_pred.max())}.")
    if top_k is not None:
        kth = torch.topk(y_pred, top_k, dim=-1).values[..., -1:]
        y_pred = torch.where(y_pred >= kth, y_pred, torch.full_like(y_pred, _NEG_INF))
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
    weights = torch.ones_like(y_pred)
    if sample_weight is not None:
        sample_weight = as_float_tensor(sample_weight, device=y_pred.device)
        sample_weight, _ = losses.squeeze_or_expand_to_same_rank(sample_weight, y_pred)
        while sample_weight.ndim < y_pred.ndim:
            sample_weight = sample_weight.unsqueeze(-1)
        weights = weights * sample_weight
    if label_weights is not None:
        weights = weights * label_weights.to(y_pred.device)
    if multi_label:
        labels = y_true.reshape(-1, y_true.shape[-1]).bool()
        y_pred, weights = y_pred.reshape(labels.shape), weights.reshape(labels.shape)
        predicted = y_pred.unsqueeze(0) > thresholds.to(y_pred.device).view(-1, 1, 1)
    else:
        labels = y_true.reshape(-1).bool()
        y_pred, weights = y_pred.reshape(-1), weights.reshape(-1)
        predicted = y_pred.unsqueeze(0) > thresholds.to(y_pred.device).view(-1, 1)
    positive = labels.unsqueeze(0)

    def count(condition):
        return torch.sum(condition.float() * weights, dim=1)

    return (count(predicted & positive), count(predicted & ~positive), count(~predicted & ~positive),
            count(~predicted & positive))


def add_count_variables(metric, shape):
    """The four count variables Keras's AUC and rate-at-value metrics keep, created on ``metric``."""
    for name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
        setattr(metric, name, metric.add_variable(shape, name=name))


def _parse_thresholds(thresholds, default):
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    for value in values:
        if not 0 <= value <= 1:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: thresholds={thresholds}")
    return values


def divide_no_nan(x, y):
    return torch.where(y != 0, x / torch.where(y != 0, y, torch.ones_like(y)), torch.zeros_like(x))


class _ConditionCount(Metric):
    """One weighted count of the confusion matrix per threshold (a scalar for one threshold, default 0.5)."""

    condition = None  # the index of the count in ``confusion_counts``'s (tp, fp, tn, fn)

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = as_float_tensor(y_pred)
        self._follow_device(y_pred.device)
        self.accumulator += confusion_counts(y_true, y_pred, torch.tensor(self.thresholds), sample_weight)[
            self.condition]

    def result(self):
        return self.accumulator[0].clone() if len(self.thresholds) == 1 else self.accumulator.clone()

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


@registry.register_builtin(MODULE)
class TruePositives(_ConditionCount):
    """The weighted count of ``y_true == 1`` and ``y_pred > threshold``."""

    condition = 0


@registry.register_builtin(MODULE)
class FalsePositives(_ConditionCount):
    """The weighted count of ``y_true == 0`` and ``y_pred > threshold``."""

    condition = 1


@registry.register_builtin(MODULE)
class TrueNegatives(_ConditionCount):
    """The weighted count of ``y_true == 0`` and ``y_pred <= threshold``."""

    condition = 2


@registry.register_builtin(MODULE)
class FalseNegatives(_ConditionCount):
    """The weighted count of ``y_true == 1`` and ``y_pred <= threshold``."""

    condition = 3


class _PrecisionRecall(Metric):
    """Shared by Precision and Recall: thresholds, top_k, class_id and two count vectors."""

    counted = None  # the count besides true positives: "false_positives" or "false_negatives"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else _NEG_INF)
        self.true_positives = self.add_variable((len(self.thresholds),), name="true_positives")
        self.other = self.add_variable((len(self.thresholds),), name=self.counted)

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = as_float_tensor(y_pred)
        self._follow_device(y_pred.device)
        tp, fp, _, fn = confusion_counts(y_true, y_pred, torch.tensor(self.thresholds), sample_weight,
                                          self.top_k, self.class_id)
        self.true_positives += tp
        self.other += fp if self.counted == "false_positives" else fn

    def result(self):
        result = divide_no_nan(self.true_positives, self.true_positives + self.other)
        return result[0] if len(self.thresholds) == 1 else result

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


@registry.register_builtin(MODULE)
class Precision(_PrecisionRecall):
    """``tp / (tp + fp)`` per threshold (a scalar for one threshold; default 0.5)."""

    counted = "false_positives"


@registry.register_builtin(MODULE)
class Recall(_PrecisionRecall):
    """``tp / (tp + fn)`` per threshold (a scalar for one threshold; default 0.5)."""

    counted = "false_negatives"


@registry.register_builtin(MODULE)
class AUC(Metric):
    """Area under the ROC or PR curve from counts at ``num_thresholds`` thresholds.

    Thresholds are ``-eps, 1/(n-1), ..., (n-2)/(n-1), 1 + eps`` (or ``thresholds`` framed by
    ``-eps`` and ``1 + eps``). ``summation_method="interpolation"`` uses trapezoids for ROC and the
    Davis-Goadrich interpolation for PR; "minoring"/"majoring" use lower/upper Riemann sums.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: ROC, PR')
        if str(summation_method).lower() not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid `summation_method` argument value "{summation_method}". Expected one of: '
                             "interpolation, minoring, majoring")
        super().__init__(name=name, dtype=dtype)
        self._init_from_thresholds = thresholds is not None
        eps = config.epsilon()
        if thresholds is not None:
            inner = sorted(thresholds)
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds = len(inner) + 2
        self._thresholds = [0.0 - eps] + inner + [1.0 + eps]
        self.curve = str(curve).upper()
        self.summation_method = str(summation_method).lower()
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else torch.tensor(label_weights, dtype=torch.float32)
        self._from_logits = from_logits
        self._counts = None
        if not multi_label or num_labels:
            self._build(num_labels)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, num_labels):
        add_count_variables(self, (self.num_thresholds, num_labels) if self.multi_label else (self.num_thresholds,))

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = as_float_tensor(y_pred)
        if not self._variables:
            if y_pred.ndim != 2:
                raise ValueError(f"AUC: `y_pred` must have rank 2 when `multi_label=True`. "
                                 f"Received: y_pred.shape={tuple(y_pred.shape)}")
            self._build(y_pred.shape[1])
        self._follow_device(y_pred.device)
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred)
        counts = confusion_counts(y_true, y_pred, torch.tensor(self._thresholds, dtype=torch.float32),
                                   sample_weight, multi_label=self.multi_label,
                                   label_weights=None if self.multi_label else self.label_weights)
        for variable, count in zip((self.true_positives, self.false_positives, self.true_negatives,
                                    self.false_negatives), counts):
            variable += count

    def _reduce_labels(self, terms):
        if not self.multi_label:
            return terms.sum()
        by_label = terms.sum(dim=0)
        if self.label_weights is None:
            return by_label.mean()
        weights = self.label_weights.to(by_label.device)
        return divide_no_nan((by_label * weights).sum(), weights.sum())

    def _interpolate_pr_auc(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = divide_no_nan(dtp, torch.clamp(dp, min=0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = torch.where((p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], torch.clamp(p[1:], min=0)),
                                   torch.ones_like(p[1:]))
        increments = divide_no_nan(prec_slope * (dtp + intercept * torch.log(safe_p_ratio)),
                                    torch.clamp(tp[1:] + fn[1:], min=0))
        return self._reduce_labels(increments)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._reduce_labels((x[:-1] - x[1:]) * heights)

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
