"""ScheduleFreeAdamW: Adam steps on a base sequence, the weights an interpolation with its running average.

Schedule-Free learning (Defazio et al., 2024) replaces a learning-rate schedule by averaging. Three
sequences: ``z`` (the ``momentum`` slot) takes the Adam-preconditioned gradient steps, ``x`` is the
uniform average of the ``z`` iterates, and the model's weights hold ``y = (1 - beta_1) * z + beta_1 * x``,
where the gradients are taken. ``x`` is not stored: each step recovers it from ``y`` and ``z``.

As in Keras, the weights keep ``y`` for evaluation and prediction too: Keras swaps in no other weights
(no callback, no hook), so neither does lamina; ``averaged_weights()`` gives ``x`` for whoever wants it.

Keras 3.15 on torch recovers ``x`` from the *updated* ``z`` (its ``momentum.value`` is the tensor the
update then writes into); Keras on JAX, and Keras's own comments ("Store momentum_old before any
updates"), use the previous ``z``. lamina follows the rule (docs/keras_torch_departures.md).
"""

import numbers

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer, f32
from lamina.optimizers.flat import elementwise, multi_tensor_ops


def _check_range(name, value, low_open, high_open):
    """A ValueError naming the argument unless ``value`` is a real number between 0 and 1, each bound
    excluded where ``low_open`` / ``high_open``."""
    expected = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not number or not ((0 < value if low_open else 0 <= value) and (value < 1 if high_open else value <= 1)):
        raise ValueError(f"ScheduleFreeAdamW: argument `{name}` must be a float in {expected}. "
                         f"Received: {name}={value!r}")


@registry.register_builtin("keras.optimizers")
class ScheduleFreeAdamW(Optimizer):
    """Keras's Schedule-Free AdamW.

    Each step, at ``t = iterations + 1`` and ``lr_t = lr * min(t / warmup_steps, 1)`` (``lr`` when
    ``warmup_steps`` is 0), after the base class's weight decay ``y *= 1 - weight_decay * lr``:

    - ``v = v + (g**2 - v) * (1 - beta_2)``;
    - ``z_new = z - lr_t * g / (sqrt(v / (1 - beta_2**t)) + epsilon)``;
    - ``x = (y - (1 - beta_1) * z) / beta_1``, then ``x = (1 - 1/t) * x + (1/t) * z_new``;
    - ``y = (1 - beta_1) * z_new + beta_1 * x``.

    ``z`` starts equal to the weights, ``v`` at zeros. Slots, in Keras's order: each weight's
    ``momentum`` (``z``) then its ``velocity`` (after the EMA averages with ``use_ema``).

    Args:
        learning_rate: float, schedule or callable (0.0025).
        beta_1: the interpolation between ``z`` and ``x`` (0.9), in (0, 1].
        beta_2: decay of the second-moment estimate (0.999), in [0, 1).
        epsilon: added to the root of the second moment (1e-8).
        warmup_steps: the learning rate rises linearly over these many steps (0: none).
        **kwargs: the base optimizer's arguments (``weight_decay``, clipping, EMA, ``name``...).

    >>> opt = lamina.optimizers.ScheduleFreeAdamW(learning_rate=0.0025, warmup_steps=100)
    >>> model.compile(optimizer=opt, loss="mse")
    """

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_range("beta_1", beta_1, low_open=True, high_open=False)  # 0 would divide by zero; 1: primal averaging
        _check_range("beta_2", beta_2, low_open=False, high_open=True)  # 1 would zero the bias correction
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or epsilon < 0:
            raise ValueError("ScheduleFreeAdamW: argument `epsilon` must be a float >= 0. "
                             f"Received: epsilon={epsilon!r}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError("ScheduleFreeAdamW: argument `warmup_steps` must be an integer >= 0. "
                             f"Received: warmup_steps={warmup_steps!r}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def _build_slots(self):
        self._add_slots("momentum", "velocity")
        torch._foreach_copy_(self._slots["momentum"], [v.detach() for v in self._trainable_variables])

    def _scalars(self, lr):
        """The step's float32 scalars as Keras computes them (0-d float32 ops), as Python floats."""
        step = (self._iterations + 1).to(torch.float32)
        beta_1, beta_2 = f32(self.beta_1), f32(self.beta_2)
        lr = f32(lr)
        if self.warmup_steps > 0:
            lr = lr * torch.clamp_max(step / f32(self.warmup_steps), 1.0)
        weight = 1.0 / step
        # one .item() each: a compiled step reads them in the graph (capture_scalar_outputs; .tolist() breaks it)
        return [value.item() for value in (lr, 1 - torch.pow(beta_2, step), 1 - beta_2, 1 - beta_1, beta_1, weight,
                                           1 - weight)]

    @elementwise
    def _update(self, grads, variables, lr):
        ops = multi_tensor_ops(variables)
        lr, bias_correction_2, one_minus_beta_2, one_minus_beta_1, beta_1, weight, one_minus_weight = \
            self._scalars(lr)
        momentums = self._slot("momentum", variables)
        velocities = self._slot("velocity", variables)
        # x_old = (y - (1 - beta_1) * z_old) / beta_1, from z before its update (y + (-a) is y - a exactly)
        averages = ops.add(variables, ops.mul(momentums, -one_minus_beta_1))
        averages = ops.div(averages, beta_1)
        # v += (g**2 - v) * (1 - beta_2)
        increments = ops.mul(grads, grads)
        ops.sub_(increments, velocities)
        ops.mul_(increments, one_minus_beta_2)
        ops.add_(velocities, increments)
        # z -= lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)
        denominators = ops.div(velocities, bias_correction_2)
        ops.sqrt_(denominators)
        ops.add_(denominators, self.epsilon)
        ops.sub_(momentums, ops.div(ops.mul(grads, lr), denominators))
        # x = (1 - 1/t) * x_old + (1/t) * z;  y = (1 - beta_1) * z + beta_1 * x
        ops.mul_(averages, one_minus_weight)
        ops.add_(averages, ops.mul(momentums, weight))
        ops.mul_(averages, beta_1)
        ops.add_(averages, ops.mul(momentums, one_minus_beta_1))
        ops.copy_(variables, averages)

    @torch.no_grad()
    def averaged_weights(self):
        """``x``, the running average of the ``z`` iterates, per built variable: ``(y - (1 - beta_1) z) / beta_1``
        (what the Schedule-Free paper evaluates; Keras and lamina keep ``y`` in the model)."""
        if not self.built:
            raise ValueError("ScheduleFreeAdamW.averaged_weights() needs a built optimizer: call "
                             "`optimizer.build(variables)` or train first.")
        beta_1 = f32(self.beta_1)
        one_minus_beta_1, beta_1 = (1 - beta_1).item(), beta_1.item()
        return [(v.detach() - one_minus_beta_1 * z) / beta_1
                for v, z in zip(self._trainable_variables, self._slots["momentum"])]

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}
