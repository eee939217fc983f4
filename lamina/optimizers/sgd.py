"""Stochastic gradient descent, with Keras's momentum and Nesterov formulas."""

from lamina.optimizers.base import Optimizer
from lamina.optimizers.flat import elementwise, multi_tensor_ops
from lamina import registry


@registry.register_builtin("keras.optimizers")
class SGD(Optimizer):
    """Gradient descent with optional momentum.

    ``w -= lr * g`` without momentum; otherwise ``m = momentum * m - lr * g`` and
    ``w += m`` (Nesterov: ``w += momentum * m - lr * g``).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def _build_slots(self):
        if self.momentum != 0:
            self._add_slots("momentum")

    @elementwise
    def _update(self, grads, variables, lr):
        ops = multi_tensor_ops(variables)
        if self.momentum == 0:
            ops.add_(variables, grads, alpha=-lr)
            return
        momentums = self._slot("momentum", variables)
        ops.mul_(momentums, self.momentum)
        ops.add_(momentums, grads, alpha=-lr)
        if self.nesterov:
            ops.add_(variables, grads, alpha=-lr)
            ops.add_(variables, momentums, alpha=self.momentum)
        else:
            ops.add_(variables, momentums)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
