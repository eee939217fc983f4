"""Per-coordinate adaptive optimizers: RMSprop, Adagrad, Adadelta (Keras formulas and defaults)."""

from lamina.optimizers.base import Optimizer
from lamina.optimizers.flat import elementwise, multi_tensor_ops
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
        ops = multi_tensor_ops(variables)
        velocities = self._slot("velocity", variables)
        ops.mul_(velocities, self.rho)
        ops.add_(velocities, ops.mul(grads, grads), alpha=1 - self.rho)
        denominators = ops.add(velocities, self.epsilon)
        if self.centered:
            averages = self._slot("average_gradient", variables)
            ops.mul_(averages, self.rho)
            ops.add_(averages, grads, alpha=1 - self.rho)
            ops.add_(denominators, ops.mul(averages, averages), alpha=-1)
        ops.sqrt_(denominators)
        increments = ops.div(ops.mul(grads, lr), denominators)
        if self.momentum > 0:
            momentums = self._slot("momentum", variables)
            ops.mul_(momentums, self.momentum)
            ops.add_(momentums, increments)
            increments = momentums
        ops.sub_(variables, increments)

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
        ops = multi_tensor_ops(variables)
        accumulators = self._slot("accumulator", variables)
        ops.add_(accumulators, ops.mul(grads, grads))
        denominators = ops.sqrt(ops.add(accumulators, self.epsilon))
        ops.sub_(variables, ops.div(ops.mul(grads, lr), denominators))

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
        ops = multi_tensor_ops(tensors)
        return ops.sqrt(ops.add(tensors, self.epsilon))

    @elementwise
    def _update(self, grads, variables, lr):
        ops = multi_tensor_ops(variables)
        accumulated_grads = self._slot("accumulated_grad", variables)
        accumulated_deltas = self._slot("accumulated_delta_var", variables)
        ops.mul_(accumulated_grads, self.rho)
        ops.add_(accumulated_grads, ops.mul(grads, grads), alpha=1 - self.rho)
        deltas = ops.div(ops.mul(self._rms(accumulated_deltas), grads), self._rms(accumulated_grads))
        ops.neg_(deltas)
        ops.mul_(accumulated_deltas, self.rho)
        ops.add_(accumulated_deltas, ops.mul(deltas, deltas), alpha=1 - self.rho)
        ops.add_(variables, deltas, alpha=lr)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
