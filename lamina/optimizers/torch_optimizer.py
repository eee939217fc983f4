"""Any ``torch.optim.Optimizer`` in ``compile``: Keras's optimizer surface over a PyTorch optimizer.

``model.compile(optimizer=torch.optim.AdamW(model.parameters(), fused=True), loss=...)`` trains with
PyTorch's own update rule. ``learning_rate`` reads and sets every parameter group's ``lr``, so
``ReduceLROnPlateau`` and ``LearningRateScheduler`` work. A PyTorch optimizer has no Keras config and
creates its state lazily, so the model file holds neither: ``load_model`` returns such a model
uncompiled (compile it again with a PyTorch optimizer), and ``model.optimizer.optimizer.state_dict()``
is the way to keep its state (see docs/training.md).
"""

import collections

import torch

from lamina.optimizers.base import apply_constraints


class TorchOptimizer:
    """Wraps ``optimizer`` (a ``torch.optim.Optimizer``) for lamina's training loop."""

    def __init__(self, optimizer):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"TorchOptimizer expects a torch.optim.Optimizer. Received: {optimizer!r}")
        self.optimizer = optimizer
        self.iterations = 0
        self.built = False
        self._constrained = set()

    def build(self, variables):
        """Checks that the PyTorch optimizer updates every trainable weight it is asked to."""
        owned = {id(p) for group in self.optimizer.param_groups for p in group["params"]}
        missing = sum(1 for variable in variables if id(variable) not in owned)
        if missing:
            raise ValueError(f"The PyTorch optimizer {type(self.optimizer).__name__} does not hold {missing} of the "
                             "model's trainable weights: create it with `model.parameters()` after the model is "
                             "built (call the model once or build it first).")
        self._constrained = {id(v) for v in variables if getattr(v, "constraint", None) is not None}
        self.built = True

    def _rebind(self, replacements, convert):
        """Points the PyTorch optimizer at new tensors standing for its weights (FSDP's sharded parameters):
        ``replacements`` maps ``id(weight)`` to its replacement; each state tensor of a weight's shape
        becomes ``convert(state, replacement)``."""
        for group in self.optimizer.param_groups:
            group["params"] = [replacements.get(id(p), p) for p in group["params"]]
        states = collections.defaultdict(dict)  # what torch.optim.Optimizer keeps per weight
        for p, state in self.optimizer.state.items():
            states[replacements.get(id(p), p)] = {
                key: convert(value, replacements[id(p)]) if id(p) in replacements and isinstance(value, torch.Tensor)
                and value.shape == p.shape else value for key, value in state.items()}
        self.optimizer.state = states

    def scale_loss(self, loss):
        return loss

    @torch.no_grad()
    def apply(self, grads, variables):
        """Sets each variable's ``.grad`` to its gradient and takes one step of the PyTorch optimizer."""
        variables = list(variables)
        if not self.built:
            self.build(variables)
        for gradient, variable in zip(grads, variables):
            if variable.grad is not gradient:
                variable.grad = gradient
        self.step()
        if self._constrained:
            apply_constraints(variables, self._constrained)

    def apply_gradients(self, grads_and_vars):
        grads, variables = zip(*grads_and_vars)
        self.apply(list(grads), list(variables))

    def step(self):
        self.optimizer.step()
        self.iterations += 1

    def finalize_variable_values(self, var_list):
        """Nothing to finalize: PyTorch optimizers keep no moving average of the weights."""

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @property
    def learning_rate(self):
        return self.optimizer.param_groups[0]["lr"]

    @learning_rate.setter
    def learning_rate(self, value):
        for group in self.optimizer.param_groups:
            group["lr"] = float(value)

    @property
    def variables(self):
        """Nothing for the model file: PyTorch optimizers keep their state in ``state_dict()``."""
        return []
