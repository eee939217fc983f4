"""Muon: momentum orthogonalized by Newton-Schulz iterations for 2-D weights, AdamW for the others."""

import re

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer, f32


@registry.register_builtin("keras.optimizers")
class Muon(Optimizer):
    """Keras's Muon.

    A weight of rank 2 (not an embedding when ``exclude_embeddings``, not matching a regex of
    ``exclude_layers`` on its path) gets ``m = momentum * m + g``, ``u = NS(g + momentum * m)``
    (``NS(m)`` without ``nesterov``: ``ns_steps`` quintic Newton-Schulz iterations with coefficients
    ``muon_a, muon_b, muon_c`` towards the orthogonal factor) and
    ``w -= lr * u * sqrt(max(rows, cols)) * rms_rate`` (no scaling when ``rms_rate`` is None),
    after ``w *= 1 - weight_decay * lr``. Every other weight takes Keras's AdamW step with
    ``adam_beta_1``, ``adam_beta_2``, ``epsilon``, ``lr * adam_lr_ratio`` and ``adam_weight_decay``.
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004,
                 epsilon=1e-7, weight_decay=0.004, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, exclude_layers=None, exclude_embeddings=True,
                 muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5,
                 nesterov=True, rms_rate=0.2, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = exclude_layers or []
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _uses_adamw(self, variable):
        if variable.ndim != 2:
            return True
        path = getattr(variable, "path", "") or ""
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def _build_slots(self):
        self._adamw = {id(v) for v in self._trainable_variables if self._uses_adamw(v)}
        momentums, velocities = [], {}
        for variable in self._trainable_variables:  # Keras's order: each weight's momentum, then its velocity
            momentum = torch.zeros_like(variable, memory_format=torch.preserve_format)
            momentums.append(momentum)
            self._slot_order.append(momentum)
            if id(variable) in self._adamw:
                velocities[id(variable)] = torch.zeros_like(variable, memory_format=torch.preserve_format)
                self._slot_order.append(velocities[id(variable)])
        self._slots["momentum"] = momentums
        self._velocities = velocities

    def _apply_weight_decay(self, variables, lr):
        for variable in variables:
            if id(variable) in self._not_decayed:
                continue
            decay = self.adam_weight_decay if id(variable) in self._adamw else self.weight_decay
            if decay is not None:
                variable.sub_(variable * (f32(decay) * f32(lr)).item())

    def _update(self, grads, variables, lr):
        step = f32(int(self._iterations) + 1)
        for grad, variable, momentum in zip(grads, variables, self._slot("momentum", variables)):
            if id(variable) in self._adamw:
                self._adamw_step(grad, variable, momentum, self._velocities[id(variable)],
                                 f32(lr) * self.adam_lr_ratio, step)
            else:
                self._muon_step(grad, variable, momentum, lr)

    def _adamw_step(self, grad, variable, momentum, velocity, lr, step):
        alpha = (lr * torch.sqrt(1 - torch.pow(f32(self.adam_beta_2), step))
                 / (1 - torch.pow(f32(self.adam_beta_1), step))).item()
        momentum.add_((grad - momentum) * (1 - self.adam_beta_1))
        velocity.add_((torch.square(grad) - velocity) * (1 - self.adam_beta_2))
        variable.sub_(momentum * alpha / (torch.sqrt(velocity) + self.epsilon))

    def _muon_step(self, grad, variable, momentum, lr):
        momentum.add_(grad + momentum * (self.momentum - 1))
        direction = grad + self.momentum * momentum if self.nesterov else momentum
        update = self.zeropower_via_newtonschulz5(direction, self.ns_steps) * lr
        if self.rms_rate is not None:
            update = update * (max(update.shape[0], update.shape[1]) ** 0.5) * self.rms_rate
        variable.sub_(update)

    def zeropower_via_newtonschulz5(self, x, steps):
        """The approximate orthogonal factor of ``x`` (rank >= 2) by quintic Newton-Schulz iterations."""
        if x.ndim < 2:
            raise ValueError(f"Expected gradient or momentum to have at least 2 dimensions. Received: "
                             f"shape={tuple(x.shape)}")
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = x.transpose(-2, -1)
        x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
        for _ in range(steps):
            gram = x @ x.transpose(-2, -1)
            x = self.muon_a * x + (self.muon_b * gram + self.muon_c * gram @ gram) @ x
        return x.transpose(-2, -1) if tall else x

    def get_config(self):
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
                "epsilon": self.epsilon, "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate}
