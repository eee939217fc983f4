"""Keras learning-rate schedules: ``schedule(step)`` -> float32 0-d tensor, configs as Keras's.

The arithmetic is done in float32 torch, in Keras's order, so the values equal
Keras's (on a CPU tensor, since the optimizer keeps its step counter there).
"""

import math

import torch

from lamina import registry
from lamina.serialization import deserialize_keras_object, serialize_keras_object

_MODULE = "keras.optimizers.schedules"


def _f32(value):
    return torch.as_tensor(value, dtype=torch.float32)


def _check_decay_steps(owner, name, value):
    if value <= 0:
        raise ValueError(f"{owner}: argument `{name}` must be > 0. Received: {name}={value}")


@registry.register_builtin(_MODULE)
class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _DecayOverSteps(LearningRateSchedule):
    """Shared by ExponentialDecay and InverseTimeDecay: ``p = step / decay_steps``, floored if staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        _check_decay_steps(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step):
        p = _f32(step) / _f32(self.decay_steps)
        return torch.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


@registry.register_builtin(_MODULE)
class ExponentialDecay(_DecayOverSteps):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (integer exponent if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _f32(self.initial_learning_rate) * torch.pow(_f32(self.decay_rate), self._progress(step))


@registry.register_builtin(_MODULE)
class InverseTimeDecay(_DecayOverSteps):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored ratio if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _f32(self.initial_learning_rate) / (1 + _f32(self.decay_rate) * self._progress(step))


@registry.register_builtin(_MODULE)
class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` on ``(boundaries[i-1], boundaries[i]]``,
    ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("PiecewiseConstantDecay: the length of boundaries should be 1 less than the length "
                             f"of values. Received: boundaries={boundaries} of length {len(boundaries)}, and "
                             f"values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = float(step)
        index = sum(step > boundary for boundary in self.boundaries)
        return _f32(self.values[index])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@registry.register_builtin(_MODULE)
class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, step capped at ``decay_steps``;
    with ``cycle``, ``decay_steps`` grows to the next multiple of itself above ``step``."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _check_decay_steps("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        initial, end = _f32(self.initial_learning_rate), _f32(self.end_learning_rate)
        step, decay_steps = _f32(step), _f32(self.decay_steps)
        if self.cycle:
            multiplier = 1.0 if step == 0 else torch.ceil(step / self.decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            step = torch.minimum(step, decay_steps)
        p = step / decay_steps
        return (initial - end) * torch.pow(1 - p, _f32(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


@registry.register_builtin(_MODULE)
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``,
    then ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * t / decay_steps)) + alpha)``, ``t`` capped at
    ``decay_steps`` (``lr0`` is ``warmup_target`` when set, else ``initial_learning_rate``)."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _check_decay_steps("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_steps, decay_from_lr):
        cosine = 0.5 * (1.0 + torch.cos(_f32(math.pi) * (step / decay_steps)))
        return decay_from_lr * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        initial = _f32(self.initial_learning_rate)
        decay_steps, step = _f32(self.decay_steps), _f32(step)
        if self.warmup_target is None:
            return self._decay(torch.minimum(step, decay_steps), decay_steps, initial)
        target, warmup_steps = _f32(self.warmup_target), _f32(self.warmup_steps)
        step = torch.minimum(step, decay_steps + warmup_steps)
        if step < warmup_steps:
            return (target - initial) * (step / warmup_steps) + initial
        return self._decay(step - warmup_steps, decay_steps, target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


@registry.register_builtin(_MODULE)
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of ``first_decay_steps``, each ``t_mul`` times the
    previous, each starting at ``m_mul`` times the previous start;
    ``lr0 * ((1 - alpha) * 0.5 * m_mul**i * (1 + cos(pi * t)) + alpha)`` in restart ``i`` at fraction ``t``
    of it."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _check_decay_steps("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        t_mul = _f32(self.t_mul)
        completed = _f32(step) / _f32(self.first_decay_steps)
        if self.t_mul == 1.0:
            restart = torch.floor(completed)
            completed = completed - restart
        else:
            restart = torch.floor(torch.log(1.0 - completed * (1.0 - t_mul)) / torch.log(t_mul))
            restarted_steps = (1.0 - torch.pow(t_mul, restart)) / (1.0 - t_mul)
            completed = (completed - restarted_steps) / torch.pow(t_mul, restart)
        cosine = 0.5 * torch.pow(_f32(self.m_mul), restart) * (1.0 + torch.cos(_f32(math.pi) * completed))
        alpha = _f32(self.alpha)
        return _f32(self.initial_learning_rate) * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


ALL_SCHEDULES = {cls.__name__: cls for cls in (LearningRateSchedule, ExponentialDecay, InverseTimeDecay,
                                                PiecewiseConstantDecay, PolynomialDecay, CosineDecay,
                                                CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """The Keras-form config dict of a schedule."""
    return serialize_keras_object(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """A schedule from its Keras-form config."""
    return deserialize_keras_object(config, module_objects=ALL_SCHEDULES, custom_objects=custom_objects,
                                    printable_module_name="learning rate schedule")
