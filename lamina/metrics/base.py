"""The stateful ``Metric`` base and the reduction metrics: Sum, Mean, MeanMetricWrapper.

State lives in ``lamina.Variable``s (``add_variable``, as in Keras: ``assign``, ``assign_add``) on the
device of the latest inputs; ``update_state`` accumulates under ``torch.no_grad``, ``result`` reads,
``reset_state`` zeroes.
"""

import torch

from lamina import config, losses
from lamina.naming import name_scope, to_snake_case, unique_name
from lamina import registry
from lamina.serialization import deserialize_keras_object, serialize_keras_object
from lamina.variables import Variable

MODULE = "keras.metrics"


def as_float_tensor(x, dtype=torch.float32, device=None):
    """A tensor of ``dtype`` from a tensor, NumPy array or list, on ``device`` when given."""
    tensor = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return tensor.detach().to(device=device, dtype=dtype)


@registry.register_builtin(MODULE)
class Metric:
    """Base class: subclasses create state with ``add_variable`` and implement ``update_state``/``result``."""

    def __init__(self, dtype=None, name=None):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.dtype = dtype or config.floatx()
        self._variables = []

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A non-trainable ``lamina.Variable`` of ``shape`` (Keras's arguments), tracked in ``variables``
        and zeroed by ``reset_state``; update it with ``assign``/``assign_add`` (or in place)."""
        if "_variables" not in vars(self):
            raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` method. Go add it!")
        with name_scope(self.name.replace("/", ">"), caller=self):
            variable = Variable(initializer, shape=shape, dtype=dtype or self.dtype, trainable=False,
                                aggregation=aggregation, name=name)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Keras's older name for ``add_variable`` (zeros by default)."""
        return self.add_variable(shape=shape, initializer=initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self):
        """This metric's state, then that of the metrics it keeps as attributes (as in Keras)."""
        variables = list(self._variables)
        for value in vars(self).values():
            if isinstance(value, Metric) and value is not self:
                variables.extend(value.variables)
        return variables

    @property
    def variable_aggregations(self):
        """The ``aggregation`` of each of ``variables``, in the same order."""
        return [getattr(variable, "aggregation", "sum") for variable in self.variables]

    def _follow_device(self, device):
        """Moves the state to ``device`` (the inputs') the first time they differ, keeping each Variable."""
        if self._variables and self._variables[0].device != device:
            for variable in self._variables:
                variable.data = variable.data.to(device)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self):
        with torch.no_grad():
            for variable in self.variables:
                variable.zero_()

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def reduce_to_samplewise_values(values, sample_weight, reduce_fn):
    """Keras's reduction: weights (masked, rank-matched, broadcast) times values, each reduced to one per sample."""
    mask = getattr(values, "_keras_mask", None)
    if sample_weight is not None:
        sample_weight = as_float_tensor(sample_weight, values.dtype, values.device)
        if mask is not None:
            sample_weight = sample_weight * mask.to(values.dtype)
        values, sample_weight = losses.squeeze_or_expand_to_same_rank(values, sample_weight)
        if values.ndim > sample_weight.ndim:
            values = reduce_fn(values, dim=tuple(range(sample_weight.ndim, values.ndim)))
        sample_weight = torch.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if sample_weight.ndim > 1:
            sample_weight = reduce_fn(sample_weight, dim=tuple(range(1, sample_weight.ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, dim=tuple(range(1, values.ndim)))
    return values, sample_weight


@registry.register_builtin(MODULE)
class Sum(Metric):
    """The (weighted) sum of all values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")

    @torch.no_grad()
    def update_state(self, values, sample_weight=None):
        values = as_float_tensor(values, getattr(torch, self.dtype))
        self._follow_device(values.device)
        values, _ = reduce_to_samplewise_values(values, sample_weight, torch.sum)
        self.total += values.sum()

    def result(self):
        return self.total.clone()


@registry.register_builtin(MODULE)
class Mean(Metric):
    """The (weighted) mean of all values seen: ``total / count``, 0 when nothing was counted."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        if type(sample_weight) is int and type(values) is torch.Tensor and values.ndim == 0 \
                and values.dtype == self.total.dtype and values.device == self.total.device \
                and not hasattr(values, "_keras_mask"):
            # A scalar weighted by a count (the loss tracker, per batch): what the general path computes, on
            # the detached value (cheaper than entering no_grad, which costs more than these two ops).
            if not torch.compiler.is_compiling() and sample_weight > 0 and sample_weight & (sample_weight - 1) == 0:
                # A power of two: value * weight is exact, so one add with alpha rounds as Keras's two ops (not
                # in a traced step, where branching on the batch size would recompile for each size).
                self.total.add_(values.detach(), alpha=sample_weight)
            else:
                self.total += values.detach() * sample_weight
            self.count += sample_weight
            return
        with torch.no_grad():
            self._update_state(values, sample_weight)

    def _update_state(self, values, sample_weight):
        mask = getattr(values, "_keras_mask", None)
        values = as_float_tensor(values, getattr(torch, self.dtype))
        if mask is not None:
            values._keras_mask = mask
        self._follow_device(values.device)
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, torch.mean)
        self.total += values.sum()
        if sample_weight is not None:
            self.count += sample_weight.sum()
        else:
            self.count += values.shape[0] if values.ndim >= 1 else 1

    def result(self):
        return torch.where(self.count != 0, self.total / self.count, torch.zeros_like(self.total))


@registry.register_builtin(MODULE)
class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over all samples (a loss function, an accuracy...)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            mask = mask.to(torch.float32)
            sample_weight = mask if sample_weight is None else \
                torch.mul(*losses.squeeze_or_expand_to_same_rank(
                    mask, as_float_tensor(sample_weight, device=mask.device)))
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is MeanMetricWrapper:
            config["fn"] = serialize_keras_object(self._fn)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize_keras_object(config["fn"], module_objects=losses.ALL_OBJECTS,
                                                    printable_module_name="metric function")
        return cls(**config)


class LossMean(MeanMetricWrapper):
    """The mean of a loss function with Keras's ``(name, dtype)`` signature; subclasses set ``fn`` and
    ``default_name``."""

    fn = None
    default_name = None

    def __init__(self, name=None, dtype=None):
        super().__init__(type(self).fn, name=name or self.default_name, dtype=dtype)
