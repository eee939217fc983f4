"""Per-coordinate adaptive optimizers: RMSprop, Adagrad, Adadelta (Keras formulas and defaults)."""

import torch

from lamina.optimizers.base import Optimizer
from lamina.optimizers.flat import elementwise
from lamina import registry


@registry.register_builtin("keras.optimizers")
class RMSprop(Optimizer):
    """``v = rho * v + (1 - rho) * g**2``; ``step = lr * g / sqrt(v + epsilon)`` (epsilon inside the root).

    ``centered`` also tracks ``a = rho * a + (1 - rho) * g`` and uses ``sqrt(v - a**2 + epsilon)``;
    ``momentum > 0`` accumulates ``m = momentum * m + step`` and does ``w -= m``, else ``w -= step``.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _build_slots(self):
        self._add_slots("velocity")
        if self.momentum > 0:
            self._add_slots("momentum")
        if self.centered:
            self._add_slots("average_gradient")

    @elementwise
    def _update(self, grads, variables, lr):
        velocities = self._slot("velocity", variables)
        torch._foreach_mul_(velocities, self.rho)
        torch._foreach_add_(velocities, torch._foreach_mul(grads, grads), alpha=1 - self.rho)
        denominators = torch._foreach_add(velocities, self.epsilon)
        if self.centered:
            averages = self._slot("average_gradient", variables)
            torch._foreach_mul_(averages, self.rho)
            torch._foreach_add_(averages, grads, alpha=1 - self.rho)
            torch._foreach_add_(denominators, torch._foreach_mul(averages, averages), alpha=-1)
        torch._foreach_sqrt_(denominators)
        increments = torch._foreach_div(torch._foreach_mul(grads, lr), denominators)
        if self.momentum > 0:
            momentums = self._slot("momentum", variables)
            torch._foreach_mul_(momentums, self.momentum)
            torch._foreach_add_(momentums, increments)
            increments = momentums
        torch._foreach_sub_(variables, increments)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


@registry.register_builtin("keras.optimizers")
class Adagrad(Optimizer):
    """``acc += g**2`` (from ``initial_accumulator_value``); ``w -= lr * g / sqrt(acc + epsilon)``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _build_slots(self):
        self._add_slots("accumulator", initial=self.initial_accumulator_value)

    @elementwise
    def _update(self, grads, variables, lr):
        accumulators = self._slot("accumulator", variables)
        torch._foreach_add_(accumulators, torch._foreach_mul(grads, grads))
        denominators = torch._foreach_sqrt(torch._foreach_add(accumulators, self.epsilon))
        torch._foreach_sub_(variables, torch._foreach_div(torch._foreach_mul(grads, lr), denominators))

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


@registry.register_builtin("keras.optimizers")
class Adadelta(Optimizer):
    """``G = rho * G + (1 - rho) * g**2``; ``d = -sqrt(D + eps) * g / sqrt(G + eps)``;
    ``D = rho * D + (1 - rho) * d**2``; ``w += lr * d``."""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _build_slots(self):
        self._add_slots("accumulated_grad", "accumulated_delta_var")

    def _rms(self, tensors):
        return torch._foreach_sqrt(torch._foreach_add(tensors, self.epsilon))

    @elementwise
    def _update(self, grads, variables, lr):
        accumulated_grads = self._slot("accumulated_grad", variables)
        accumulated_deltas = self._slot("accumulated_delta_var", variables)
        torch._foreach_mul_(accumulated_grads, self.rho)
        torch._foreach_add_(accumulated_grads, torch._foreach_mul(grads, grads), alpha=1 - self.rho)
        deltas = torch._foreach_div(torch._foreach_mul(self._rms(accumulated_deltas), grads),
                                    self._rms(accumulated_grads))
        torch._foreach_neg_(deltas)
        torch._foreach_mul_(accumulated_deltas, self.rho)
        torch._foreach_add_(accumulated_deltas, torch._foreach_mul(deltas, deltas), alpha=1 - self.rho)
        torch._foreach_add_(variables, deltas, alpha=lr)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
