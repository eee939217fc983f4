"""Follow-the-regularized-leader (FTRL-proximal), with Keras's formula."""

import torch

from lamina.optimizers.base import Optimizer, f32
from lamina import registry


@registry.register_builtin("keras.optimizers")
class Ftrl(Optimizer):
    """FTRL-proximal with L1, L2 and L2-shrinkage regularization (``p = -learning_rate_power``)::

        n_new = n + g**2
        z += g + 2 * l2_shrinkage * w - (n_new**p - n**p) / lr * w
        w = (clip(z, -l1, l1) - z) / (n_new**p / lr + 2 * (l2 + beta / (2 * lr)))
        n = n_new
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        for name, value in (("initial_accumulator_value", initial_accumulator_value),
                            ("l1_regularization_strength", l1_regularization_strength),
                            ("l2_regularization_strength", l2_regularization_strength),
                            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"Ftrl: `{name}` needs to be positive or zero. Received: {name}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError("Ftrl: `learning_rate_power` needs to be negative or zero. "
                             f"Received: learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _build_slots(self):
        self._add_slots("accumulator", "linear", initial=(self.initial_accumulator_value, 0.0))

    def _update(self, grads, variables, lr):
        accumulators = self._slot("accumulator", variables)
        linears = self._slot("linear", variables)
        power = -self.learning_rate_power
        l2 = (self.l2_regularization_strength + self.beta / (2.0 * f32(lr))).item()
        l1 = self.l1_regularization_strength
        new_accumulators = torch._foreach_add(accumulators, torch._foreach_mul(grads, grads))
        new_powers = torch._foreach_pow(new_accumulators, power)
        grads_to_use = torch._foreach_add(grads, variables, alpha=2 * self.l2_shrinkage_regularization_strength)
        power_steps = torch._foreach_div(torch._foreach_sub(new_powers, torch._foreach_pow(accumulators, power)), lr)
        torch._foreach_add_(linears, torch._foreach_sub(grads_to_use, torch._foreach_mul(power_steps, variables)))
        quadratics = torch._foreach_add(torch._foreach_div(new_powers, lr), 2 * l2)
        clipped = torch._foreach_clamp_max(torch._foreach_clamp_min(linears, -l1), l1)
        torch._foreach_copy_(variables, torch._foreach_div(torch._foreach_sub(clipped, linears), quadratics))
        torch._foreach_copy_(accumulators, new_accumulators)

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
