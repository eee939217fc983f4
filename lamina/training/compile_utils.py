"""The loss and metric containers ``compile`` builds: per-output losses, weights and metrics, as Keras.

Outputs are matched by position (lists) or by output name (dicts). With several outputs, each
output's loss is tracked as ``<output>_loss`` and its metrics as ``<output>_<metric>``.
"""

import functools

import torch

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import tree
from lamina.callbacks.callback_list import LazyDict


def flat_outputs(value, output_names, what):
    """``value`` (a single value, a list per output or a dict by output name) as one entry per output."""
    count = len(output_names)
    if isinstance(value, dict):
        unknown = set(value) - set(output_names)
        if unknown:
            raise ValueError(f"`{what}` has keys {sorted(unknown)} that are not output names {output_names}.")
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and (count > 1 or len(value) == 1 and what != "metrics"):
        if len(value) != count:
            raise ValueError(f"`{what}` has {len(value)} entries, but the model has {count} outputs {output_names}.")
        return list(value)
    return [value] * count


def single_output(value, output_names):
    """A one-output model's target, prediction or sample weight, given bare, as ``[value]`` or ``(value,)``
    or as ``{output_name: value}`` (all three are Keras's)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    if isinstance(value, dict) and len(value) == 1 and output_names[0] in value:
        return value[output_names[0]]
    return value


def flat_targets(y, output_names):
    """The targets as a list per output (a dict is read by output name)."""
    if isinstance(y, dict) and len(output_names) > 1 or isinstance(y, dict) and set(y) == set(output_names):
        missing = [name for name in output_names if name not in y]
        if missing:
            raise ValueError(f"The targets have no entry for output(s) {missing}. Received keys {sorted(y)}; the "
                             f"model's outputs are {output_names}.")
        return [y[name] for name in output_names]
    if len(output_names) == 1:
        return [single_output(y, output_names)]
    flat = tree.flatten(y)
    if len(flat) != len(output_names):
        raise ValueError(f"The model has {len(output_names)} outputs {output_names}, but the targets hold "
                         f"{len(flat)} array(s): pass one target per output (a list in output order or a dict by "
                         "output name).")
    return flat


class CompileLoss:
    """The compiled loss: ``loss(y_true, y_pred, sample_weight)`` summed over outputs with ``loss_weights``."""

    def __init__(self, loss, loss_weights, output_names):
        self.output_names = list(output_names)
        self.user_loss, self.user_weights = loss, loss_weights
        flat_loss = flat_outputs(loss, self.output_names, "loss")
        flat_weights = flat_outputs(loss_weights, self.output_names, "loss_weights") if loss_weights is not None \
            else [None] * len(self.output_names)
        self.entries = [(index, _loss_object(fn), weight)
                        for index, (fn, weight) in enumerate(zip(flat_loss, flat_weights)) if fn is not None]
        self.trackers = []
        if len(self.entries) > 1:
            self.trackers = [metrics_module.Mean(name=f"{self.output_names[index]}_loss")
                             for index, _, _ in self.entries]

    def __call__(self, y_true, y_pred, sample_weight=None):
        if len(self.output_names) == 1:
            _, fn, weight = self.entries[0]
            names = self.output_names
            value = fn(single_output(y_true, names), _as_float32(single_output(y_pred, names)),
                       single_output(sample_weight, names))
            return value if weight is None else value * weight
        targets = flat_targets(y_true, self.output_names)
        predictions = tree.flatten(y_pred)
        weights = flat_targets(sample_weight, self.output_names) if tree.is_nested(sample_weight) \
            else [sample_weight] * len(predictions)
        total = 0.0
        for (index, fn, weight), tracker in zip(self.entries, self.trackers or [None] * len(self.entries)):
            value = fn(targets[index], _as_float32(predictions[index]), weights[index])
            if tracker is not None:  # Keras tracks each output's loss before its loss weight
                tracker.update_state(value.detach(), sample_weight=predictions[index].shape[0])
            total = total + (value if weight is None else value * weight)
        return total


def _loss_object(identifier):
    """A ``Loss`` (with reduction and sample weights) from a name, function or Loss, as Keras's compile."""
    loss = losses_module.get(identifier)
    if isinstance(loss, losses_module.Loss):
        return loss
    name = identifier if isinstance(identifier, str) else getattr(loss, "__name__", type(loss).__name__)
    return losses_module.LossFunctionWrapper(loss, name=name)


def _as_float32(prediction):
    """Losses are computed in float32 even when the model computes in float16/bfloat16."""
    return prediction.float() if prediction.dtype.is_floating_point and prediction.itemsize < 4 else prediction


class CompileMetrics(metrics_module.Metric):
    """The compiled metrics (``metrics`` and ``weighted_metrics``) as one metric named "compile_metrics",
    as Keras 3 lists them in ``model.metrics``: ``update_state(y, y_pred, sample_weight)`` routes each
    output to its metrics (sample weights reach only the weighted ones) and ``result()`` is a dict.
    Built from the first batch (or its shapes)."""

    def __init__(self, metrics, weighted_metrics, output_names):
        super().__init__(name="compile_metrics")
        self.output_names = list(output_names)
        self.user_metrics, self.user_weighted = metrics, weighted_metrics
        self.unweighted, self.weighted = [], []  # (output index, Metric)
        self.built = False

    def _resolve(self, identifiers, y_true, y_pred, weighted):
        multi = len(self.output_names) > 1
        if identifiers is None:
            return []
        per_output = flat_outputs(identifiers, self.output_names, "metrics") if multi else [identifiers]
        taken = {metric.name for _, metric in self.unweighted}
        resolved = []
        for index, entry in enumerate(per_output):
            for identifier in tree.flatten(entry) if entry is not None else []:
                metric = metrics_module.get_for_output(identifier, y_true[index], y_pred[index])
                if multi:
                    metric.name = f"{self.output_names[index]}_{metric.name}"
                if weighted and metric.name in taken:
                    metric.name = f"weighted_{metric.name}"
                resolved.append((index, metric))
        return resolved

    def build(self, y_true, y_pred):
        targets, predictions = flat_targets(y_true, self.output_names), tree.flatten(y_pred)
        self.unweighted = self._resolve(self.user_metrics, targets, predictions, weighted=False)
        self.weighted = self._resolve(self.user_weighted, targets, predictions, weighted=True)
        self.built = True

    @property
    def metrics(self):
        """The compiled metrics themselves, each output's in order."""
        return [metric for _, metric in self.unweighted + self.weighted]

    @property
    def variables(self):
        return [variable for metric in self.metrics for variable in metric.variables]

    def result(self):
        return {metric.name: metric.result() for metric in self.metrics}

    def reset_state(self):
        for metric in self.metrics:
            metric.reset_state()

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        if len(self.output_names) == 1:
            names = self.output_names
            targets, predictions, weights = ([single_output(value, names)] for value in (y_true, y_pred, sample_weight))
        else:
            targets, predictions = flat_targets(y_true, self.output_names), tree.flatten(y_pred)
            weights = flat_targets(sample_weight, self.output_names) if tree.is_nested(sample_weight) \
                else [sample_weight] * len(predictions)
        for index, metric in self.unweighted:
            metric.update_state(targets[index], predictions[index])
        for index, metric in self.weighted:
            metric.update_state(targets[index], predictions[index], sample_weight=weights[index])


class MetricResults(LazyDict):
    """A model's metric results by name (``get_metrics_result()``), computed when first read.

    A training step returns it; nothing is computed (or read from the device) unless a callback or
    the caller looks at a value. Entries can be added or replaced, as in a dict; its keys are known
    without computing anything.
    """

    def __init__(self, model):
        self._model = model

    @functools.cached_property
    def _metrics(self):
        return self._model.metrics  # walked when first read: a step whose logs nobody reads never walks the model

    def _compute(self):
        values = {}
        for metric in self._metrics:
            result = metric.result()
            if isinstance(result, dict):
                values.update(result)
            else:
                values[metric.name] = result
        return values

    def __iter__(self):
        return iter(self._data() if self._values is not None else metric_names(self._metrics))

    def __len__(self):
        return len(self._values) if self._values is not None else len(metric_names(self._metrics))


def metric_names(metrics):
    """The names ``metrics`` report under: a CompileMetrics reports its own metrics' names."""
    names = []
    for metric in metrics:
        names.extend(m.name for m in metric.metrics) if isinstance(metric, CompileMetrics) else names.append(metric.name)
    return names
