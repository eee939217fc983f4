"""Any ``torch.optim.Optimizer`` in ``compile``: Keras's optimizer surface over a PyTorch optimizer.

``model.compile(optimizer=torch.optim.AdamW(model.parameters(), fused=True), loss=...)`` trains with
PyTorch's own update rule. ``learning_rate`` reads and sets every parameter group's ``lr``, so
``ReduceLROnPlateau`` and ``LearningRateScheduler`` work. A PyTorch optimizer has no Keras config and
creates its state lazily, so the model file holds neither: ``load_model`` returns such a model
uncompiled (compile it again with a PyTorch optimizer), and ``model.optimizer.optimizer.state_dict()``
is the way to keep its state (see docs/training.md).
"""

import torch


class TorchOptimizer:
    """Wraps ``optimizer`` (a ``torch.optim.Optimizer``) for lamina's training loop."""

    def __init__(self, optimizer):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"TorchOptimizer expects a torch.optim.Optimizer. Received: {optimizer!r}")
        self.optimizer = optimizer
        self.iterations = 0
        self.built = False

    def build(self, variables):
        """Checks that the PyTorch optimizer updates every trainable weight it is asked to."""
        owned = {id(p) for group in self.optimizer.param_groups for p in group["params"]}
        missing = sum(1 for variable in variables if id(variable) not in owned)
        if missing:
            raise ValueError(f"The PyTorch optimizer {type(self.optimizer).__name__} does not hold {missing} of the "
                             "model's trainable weights: create it with `model.parameters()` after the model is "
                             "built (call the model once or build it first).")
        self.built = True

    def step(self):
        self.optimizer.step()
        self.iterations += 1

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
