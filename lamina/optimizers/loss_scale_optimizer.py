"""LossScaleOptimizer: dynamic loss scaling for float16 training, as Keras's.

The loss is multiplied by a scale (``scale_loss``) so that small float16 gradients don't underflow;
``apply`` divides the gradients by it again. A step whose gradients are not all finite is skipped and
halves the scale; after ``dynamic_growth_steps`` finite steps in a row the scale doubles.
``compile`` wraps the optimizer in one when the model computes in float16 (``auto_scale_loss``).
"""

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer, inner_optimizer_from_config
from lamina.serialization import serialize_keras_object

_INNER_ONLY = ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema", "ema_momentum",
               "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps")


@registry.register_builtin("keras.optimizers")
class LossScaleOptimizer(Optimizer):
    """Wraps ``inner_optimizer`` with a dynamic loss scale.

    Args:
        inner_optimizer: the optimizer that applies the (unscaled) gradients.
        initial_scale: the starting loss scale (2**15).
        dynamic_growth_steps: finite steps after which the scale doubles (2000).
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000, name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, set "
                             "`loss_scale_factor` directly on the `inner_optimizer`.")
        for key in _INNER_ONLY:
            if kwargs.pop(key, None) not in (None, False, 0.99):
                raise ValueError(f"LossScaleOptimizer does not support `{key}`. Instead, set `{key}` on the "
                                 "`inner_optimizer`.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: {sorted(kwargs)}.")
        if not hasattr(inner_optimizer, "apply"):
            raise TypeError(f"LossScaleOptimizer: `inner_optimizer` must be an optimizer. "
                            f"Received: inner_optimizer={inner_optimizer!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.inner_optimizer.loss_scale_factor = None
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.step_counter = torch.zeros((), dtype=torch.int64)
        self.dynamic_scale = torch.full((), self.initial_scale, dtype=torch.float32)

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if getattr(self, "inner_optimizer", None) is not None:  # the base class sets it before there is one
            self.inner_optimizer.learning_rate = value

    @property
    def variables(self):
        return [self.step_counter, self.dynamic_scale] + list(self.inner_optimizer.variables)

    def build(self, variables):
        variables = list(variables)
        self.inner_optimizer.build(variables)
        self._trainable_variables = variables
        self.built = True

    def _rebind(self, replacements, convert):
        self.inner_optimizer._rebind(replacements, convert)
        self._trainable_variables = [replacements.get(id(v), v) for v in self._trainable_variables]

    def scale_loss(self, loss):
        """``loss`` times the current loss scale."""
        return loss * self.dynamic_scale.to(loss.device)

    @torch.no_grad()
    def apply(self, grads, variables=None):
        """Unscales ``grads`` and applies them with the inner optimizer, unless one is not finite."""
        if not self.built:
            self.build(variables if variables is not None else [])
        present = [g for g in grads if g is not None]
        if not present:
            raise ValueError("No gradients provided for any variable.")
        found_inf = torch.zeros(1, device=present[0].device)
        inverse_scale = torch.full((1,), 1.0 / float(self.dynamic_scale), device=present[0].device)
        unscaled = [g.float() if g is not None and g.dtype != torch.float32 else g for g in grads]
        unscaled = [None if g is None else g.clone() for g in unscaled]
        torch._amp_foreach_non_finite_check_and_unscale_([g for g in unscaled if g is not None], found_inf,
                                                         inverse_scale)
        compiling = torch.compiler.is_compiling()
        if _is_set(found_inf) if compiling else found_inf.item():
            self.step_counter.zero_()
            self.dynamic_scale.mul_(0.5)
            return
        self.inner_optimizer.apply(unscaled, variables)
        if compiling:  # the counter stays in the graph: no Python branch on its value
            grow = self.step_counter == self.dynamic_growth_steps - 1
            self.dynamic_scale.copy_(torch.where(grow, self.dynamic_scale * 2.0, self.dynamic_scale))
            self.step_counter.copy_(torch.where(grow, 0, self.step_counter + 1))
        elif int(self.step_counter) == self.dynamic_growth_steps - 1:
            self.step_counter.zero_()
            self.dynamic_scale.mul_(2.0)
        else:
            self.step_counter += 1

    def step(self):
        """``apply`` on the built variables' ``.grad``."""
        variables = list(self._trainable_variables)
        self.apply([v.grad for v in variables], variables)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {"name": self.name, "inner_optimizer": serialize_keras_object(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["inner_optimizer"] = inner_optimizer_from_config(config["inner_optimizer"], custom_objects)
        return cls(**config)


@torch.compiler.disable
def _is_set(flag):
    """Whether ``flag`` (a tensor) is non-zero, read outside a compiled graph: the step branches on it, and
    the graph resumes on the Python bool (two cases, two compilations at most)."""
    return bool(flag.item())
