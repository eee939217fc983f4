"""The Adam family with Keras's formulas: Adam, AdamW, Adamax, Nadam, Lamb.

Keras puts epsilon outside the root and folds the bias corrections into the
step size: ``w -= lr_t * m / (sqrt(v) + epsilon)`` with
``lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` (PyTorch's Adam divides by
``sqrt(v / (1 - beta_2**t)) + epsilon`` instead). Scalars are float32, as in Keras.
"""

import numpy as np
import torch

from lamina.optimizers.base import Optimizer, f32
from lamina.optimizers.flat import elementwise, multi_tensor_ops
from lamina import registry


class _Moments(Optimizer):
    """Shared by the family: beta_1, beta_2, epsilon and the first/second moment updates."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _update_moments(self, grads, variables):
        """``m = beta_1 * m + (1 - beta_1) * g``; ``v = beta_2 * v + (1 - beta_2) * g**2``."""
        ops = multi_tensor_ops(variables)
        momentums = self._slot("momentum", variables)
        velocities = self._slot("velocity", variables)
        ops.mul_(momentums, self.beta_1)
        ops.add_(momentums, grads, alpha=1 - self.beta_1)
        ops.mul_(velocities, self.beta_2)
        ops.add_(velocities, ops.mul(grads, grads), alpha=1 - self.beta_2)
        return momentums, velocities

    def _build_slots(self):
        self._add_slots("momentum", "velocity")

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


_CORRECTIONS_PER_TABLE = 1024


def bias_corrections(beta_1, beta_2, first_step, count):
    """``(1 - beta_1**t, sqrt(1 - beta_2**t))`` in float32 for ``t = first_step, ..., first_step + count - 1``,
    as a ``(count, 2)`` NumPy array, each value rounded as a 0-d float32 computation rounds it (Keras's): the
    steps are read through a strided view, so torch's ``pow`` takes its scalar loop for every element (its
    vectorized loop rounds some powers differently; tests/test_optimizers.py compares the two)."""
    steps = torch.arange(first_step, first_step + count, dtype=torch.float64).to(torch.float32)
    strided = torch.empty(2 * count, dtype=torch.float32)[::2].copy_(steps)
    corrections = 1 - torch.pow(f32((beta_1, beta_2)).view(2, 1), strided.view(1, count))
    corrections[1].sqrt_()
    return corrections.T.numpy()


@registry.register_builtin("keras.optimizers")
class Adam(_Moments):
    """``w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)``;
    ``amsgrad`` uses the running maximum of ``v``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.amsgrad = amsgrad

    def _build_slots(self):
        super()._build_slots()
        if self.amsgrad:
            self._add_slots("velocity_hat")

    @elementwise
    def _update(self, grads, variables, lr):
        ops = multi_tensor_ops(variables)
        alpha = self._step_size(lr)
        momentums, velocities = self._update_moments(grads, variables)
        if self.amsgrad:
            velocity_hats = self._slot("velocity_hat", variables)
            ops.maximum_(velocity_hats, velocities)
            velocities = velocity_hats
        denominators = ops.sqrt(velocities)
        ops.add_(denominators, self.epsilon)
        # w + (-alpha * m) / d: one op for Keras's w - (alpha * m) / d, rounded the same (negation is exact)
        ops.addcdiv_(variables, momentums, denominators, value=-alpha)

    def _step_size(self, lr):
        """Keras's ``lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` in float32, rounded as Keras computes it: the
        powers by torch's scalar ``pow``, the differences and root in float32, the product and quotient
        (correctly rounded anywhere) in NumPy float32. The bias corrections are read from a table made
        ``_CORRECTIONS_PER_TABLE`` steps at a time, which costs one lookup per step instead of five ops."""
        if torch.compiler.is_compiling():  # the same float32 roundings, as graph ops (NumPy is host-only)
            powers = torch.pow(f32((self.beta_1, self.beta_2)), self._iterations + 1)
            corrections = 1 - powers
            return (f32(lr) * corrections[1].sqrt() / corrections[0]).item()
        step = int(self._iterations) + 1
        table = getattr(self, "_corrections", None)
        if table is None or table[0] != (self.beta_1, self.beta_2) or not 0 <= step - table[1] < len(table[2]):
            rows = bias_corrections(self.beta_1, self.beta_2, step, _CORRECTIONS_PER_TABLE)
            # NumPy float32 scalars in a list: one list index per step instead of an array row and its unpacking
            table = self._corrections = ((self.beta_1, self.beta_2), step, [tuple(row) for row in rows])
        beta_1_correction, root_beta_2_correction = table[2][step - table[1]]
        return float(np.float32(lr) * root_beta_2_correction / beta_1_correction)

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}


@registry.register_builtin("keras.optimizers")
class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004): ``w *= 1 - weight_decay * lr`` before each step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


@registry.register_builtin("keras.optimizers")
class Adamax(_Moments):
    """``m = beta_1 * m + (1 - beta_1) * g``; ``u = max(beta_2 * u, |g|)``;
    ``w -= lr * m / ((u + epsilon) * (1 - beta_1**t))``."""

    def _build_slots(self):
        self._add_slots("momentum", "norm")

    @elementwise
    def _update(self, grads, variables, lr):
        ops = multi_tensor_ops(variables)
        beta_1_power = torch.pow(f32(self.beta_1), f32(int(self._iterations) + 1))
        momentums = self._slot("momentum", variables)
        norms = self._slot("norm", variables)
        ops.mul_(momentums, self.beta_1)
        ops.add_(momentums, grads, alpha=1 - self.beta_1)
        ops.mul_(norms, self.beta_2)
        ops.maximum_(norms, ops.abs(grads))
        denominators = ops.mul(ops.add(norms, self.epsilon), (1 - beta_1_power).item())
        ops.sub_(variables, ops.div(ops.mul(momentums, lr), denominators))


@registry.register_builtin("keras.optimizers")
class Nadam(_Moments):
    """Adam with Nesterov momentum and Keras's momentum schedule ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``:
    ``m_hat = u_{t+1} * m / (1 - prod u_1..u_{t+1}) + (1 - u_t) * g / (1 - prod u_1..u_t)``,
    ``w -= lr * m_hat / (sqrt(v / (1 - beta_2**t)) + epsilon)``."""

    def _build_slots(self):
        super()._build_slots()
        self._u_product = f32(1.0)
        self._extra_variables.append(self._u_product)

    @elementwise
    def _update(self, grads, variables, lr):
        ops = multi_tensor_ops(variables)
        step = int(self._iterations)
        beta_1 = f32(self.beta_1)
        u_t = beta_1 * (1.0 - 0.5 * torch.pow(f32(0.96), f32(step + 1)))
        u_t_1 = beta_1 * (1.0 - 0.5 * torch.pow(f32(0.96), f32(step + 2)))
        u_product_t = self._u_product * u_t
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = torch.pow(f32(self.beta_2), f32(step + 1))
        self._u_product.copy_(u_product_t)
        momentums, velocities = self._update_moments(grads, variables)
        m_hats = ops.add(
            ops.div(ops.mul(momentums, u_t_1.item()), (1 - u_product_t_1).item()),
            ops.div(ops.mul(grads, (1 - u_t).item()), (1 - u_product_t).item()))
        v_hats = ops.div(velocities, (1 - beta_2_power).item())
        denominators = ops.add(ops.sqrt(v_hats), self.epsilon)
        ops.sub_(variables, ops.div(ops.mul(m_hats, lr), denominators))


@registry.register_builtin("keras.optimizers")
class Lamb(_Moments):
    """Adam's bias-corrected step scaled per variable by the trust ratio ``||w|| / ||step||`` (1 when
    either norm is 0): ``step = m_hat / (sqrt(v_hat) + epsilon)``, ``w -= ratio * lr * step``."""

    def _update(self, grads, variables, lr):
        step = f32(int(self._iterations) + 1)
        beta_1_power = torch.pow(f32(self.beta_1), step).item()
        beta_2_power = torch.pow(f32(self.beta_2), step).item()
        momentums, velocities = self._update_moments(grads, variables)
        m_hats = torch._foreach_div(momentums, 1.0 - beta_1_power)
        denominators = torch._foreach_add(torch._foreach_sqrt(torch._foreach_div(velocities, 1.0 - beta_2_power)),
                                          self.epsilon)
        updates = torch._foreach_div(m_hats, denominators)
        weight_norms = torch._foreach_norm(variables)
        update_norms = torch._foreach_norm(updates)
        for variable, update, w_norm, g_norm in zip(variables, updates, weight_norms, update_norms):
            ratio = torch.where((w_norm > 0) & (g_norm > 0), w_norm / g_norm, torch.ones_like(w_norm))
            variable.sub_(update * (ratio * lr))
