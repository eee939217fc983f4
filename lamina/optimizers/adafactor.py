"""Adafactor: Adam-like steps from factored second moments (a row and a column average per matrix)."""

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer, f32


def _keras_view(tensor, variable):
    """``tensor`` (stored like ``variable``) as a view in Keras's layout, so rows and columns are Keras's."""
    spec = getattr(variable, "_spec", None)
    return tensor if spec is None else spec.layout.to_keras(tensor)


def _rms(x):
    return torch.sqrt(torch.mean(torch.square(x)))


@registry.register_builtin("keras.optimizers")
class Adafactor(Optimizer):
    """Keras's Adafactor. For a weight of rank >= 2 (in Keras's layout), with ``t`` the step:

    ``beta = 1 - t**beta_2_decay``; ``g2 = g**2 + epsilon_1``; ``r = beta r + (1 - beta) mean(g2, -1)``,
    ``c = beta c + (1 - beta) mean(g2, -2)``, ``v = (r / mean(r)) outer c`` (vectors: ``v`` is the
    running mean of ``g2``); ``u = g / sqrt(v)`` clipped to RMS ``clip_threshold``;
    ``w -= max(epsilon_2, rms(w)) * min(lr, 1 / sqrt(t)) * u``. With ``relative_step`` a float
    learning rate is also capped at ``1 / sqrt(t)``.
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                 relative_step=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def _build_slots(self):
        self._factors = {}
        velocities = []
        for variable in self._trainable_variables:
            keras_shape = tuple(_keras_view(variable, variable).shape)
            if len(keras_shape) >= 2:
                rows = variable.new_zeros(keras_shape[:-1])
                columns = variable.new_zeros(keras_shape[:-2] + keras_shape[-1:])
                self._factors[id(variable)] = (rows, columns)
                self._slot_order.extend((rows, columns))
            else:  # Keras keeps two unused int32 zeros here; they keep the state in Keras's order
                self._slot_order.extend((torch.zeros((), dtype=torch.int32), torch.zeros((), dtype=torch.int32)))
            velocity = torch.zeros_like(variable, memory_format=torch.preserve_format)
            velocities.append(velocity)
            self._slot_order.append(velocity)
        self._slots["velocity"] = velocities

    def _update(self, grads, variables, lr):
        step = f32(int(self._iterations) + 1)
        lr = f32(lr)
        if self.relative_step and self._learning_rate is self._lr_variable:
            lr = torch.minimum(lr, 1 / torch.sqrt(step))
        rho = torch.minimum(lr, 1 / torch.sqrt(step))
        beta = 1 - torch.pow(step, self.beta_2_decay)
        for grad, variable, velocity in zip(grads, variables, self._slot("velocity", variables)):
            w, g, v = _keras_view(variable, variable), _keras_view(grad, variable), _keras_view(velocity, variable)
            alpha = torch.maximum(f32(self.epsilon_2).to(w.device), _rms(w)) * rho.to(w.device)
            squared = torch.square(g) + self.epsilon_1
            beta_t = beta.to(w.device, w.dtype)
            if id(variable) in self._factors:
                rows, columns = self._factors[id(variable)]
                rows.mul_(beta_t).add_((1 - beta_t) * squared.mean(dim=-1))
                columns.mul_(beta_t).add_((1 - beta_t) * squared.mean(dim=-2))
                v.copy_((rows / rows.mean(dim=-1, keepdim=True)).unsqueeze(-1) * columns.unsqueeze(-2))
            else:
                v.mul_(beta_t).add_((1 - beta_t) * squared)
            update = g / torch.sqrt(v)
            update = update / torch.clamp(_rms(update) / self.clip_threshold, min=1.0)
            w.sub_(alpha * update)

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}
