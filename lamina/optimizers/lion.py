"""Lion (evolved sign momentum)."""

from lamina.optimizers.base import Optimizer
from lamina.optimizers.flat import elementwise, multi_tensor_ops
from lamina import registry


@registry.register_builtin("keras.optimizers")
class Lion(Optimizer):
    """``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``, then ``m = beta_2 * m + (1 - beta_2) * g``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Lion: argument `beta_1` must be in the (0, 1] range. Otherwise, the optimizer "
                             f"degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def _build_slots(self):
        self._add_slots("momentum")

    @elementwise
    def _update(self, grads, variables, lr):
        ops = multi_tensor_ops(variables)
        momentums = self._slot("momentum", variables)
        directions = ops.mul(momentums, self.beta_1)
        ops.add_(directions, grads, alpha=1 - self.beta_1)
        ops.sign_(directions)
        ops.add_(variables, directions, alpha=-lr)
        ops.mul_(momentums, self.beta_2)
        ops.add_(momentums, grads, alpha=1 - self.beta_2)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
