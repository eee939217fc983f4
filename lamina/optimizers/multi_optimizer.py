"""MultiOptimizer and OptimizerMap: a different optimizer for different variables, as Keras's.

An ``OptimizerMap`` maps variable paths to optimizers: a key is a path or a regular expression matched
against the whole path (``re.fullmatch``), ``"encoder/.*"`` for everything under ``encoder``; unmatched
variables go to ``default_optimizer``. ``MultiOptimizer(optimizer_map)`` (an ``OptimizerMap``, or any
callable from a variable to an optimizer) builds each optimizer on its own variables and, at each
``apply``, hands each its gradients; each clips, decays and averages (``use_ema``) on its own, and
counts its own ``iterations`` (only the steps that reached it).

``compile(optimizer=MultiOptimizer(...))`` and ``fit`` work as with any optimizer; the model file keeps
the state of every inner optimizer. A MultiOptimizer has no learning rate of its own: read and set
those of ``multi.optimizers``.
"""

import re
from collections.abc import MutableMapping

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer, inner_optimizer_from_config
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.serialization import serialize_keras_object


def _check_inner(owner, what, optimizer):
    """A ValueError unless ``optimizer`` may be one of a MultiOptimizer's optimizers."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{owner}: {what} must be a lamina optimizer (a lamina.optimizers.Optimizer such as "
                         f"Adam()). Received: {optimizer!r} of type {type(optimizer).__name__}")
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError(f"{owner}: {what} cannot be LossScaleOptimizer; wrap the MultiOptimizer in a "
                         f"LossScaleOptimizer instead. Received: {optimizer!r}")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{owner}: {what} cannot be MultiOptimizer; map the variables to plain optimizers in "
                         f"one OptimizerMap. Received: {optimizer!r}")


@registry.register_builtin("keras.optimizers")
class OptimizerMap(MutableMapping):
    """Variable paths (or regular expressions over them) to optimizers, with a default.

    Args:
        default_optimizer: the optimizer of every variable no key matches.
        optimizer_map: optional ``{path or pattern: optimizer}``.

    ``optimizer_map[path]`` is the optimizer of an exact key, else of the one pattern that fully matches
    ``path`` (a ValueError if several do), else ``default_optimizer``; ``optimizer_map(variable)`` looks up
    ``variable.path``.

    >>> opt_map = lamina.optimizers.OptimizerMap(default_optimizer=lamina.optimizers.SGD())
    >>> opt_map["encoder/.*"] = lamina.optimizers.Adam()
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("OptimizerMap: `default_optimizer` must be a lamina optimizer (a "
                            "lamina.optimizers.Optimizer such as SGD()). "
                            f"Received: default_optimizer={default_optimizer!r}")
        _check_inner("OptimizerMap", "`default_optimizer`", default_optimizer)
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError("OptimizerMap: `optimizer_map` must be a dictionary of variable paths (or patterns) "
                            f"to optimizers. Received: optimizer_map={optimizer_map!r}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self):
        return self._default_optimizer

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}: the patterns {matching} all match "
                             "it. Make the patterns exclusive, or add the exact path as a key.")
        if matching:
            return self._optimizer_map[matching[0]]
        return self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(f"OptimizerMap: '{key}' already exists in the OptimizerMap with value "
                             f"{self._optimizer_map[key]}. Please make sure to not use duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: key must be a string (a variable path or a regular expression). "
                             f"Received: {key!r} of type {type(key).__name__}")
        try:
            re.compile(key)
        except re.error as error:
            raise ValueError(f"OptimizerMap: key {key!r} is not a valid regular expression ({error}).") from None
        _check_inner("OptimizerMap", "optimizer", optimizer)
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        path = getattr(variable, "path", None)
        if not isinstance(path, str):
            raise TypeError("OptimizerMap: the variable has no `path` to look up (a plain torch tensor). Use "
                            "lamina Variables (a lamina model's weights), or give MultiOptimizer a callable "
                            f"from a variable to an optimizer. Received: {type(variable).__name__} of shape "
                            f"{tuple(getattr(variable, 'shape', ()))}")
        return self[path]

    def get_config(self):
        return {"default_optimizer": serialize_keras_object(self._default_optimizer),
                "optimizer_map": serialize_keras_object(self._optimizer_map)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        default_optimizer = inner_optimizer_from_config(config["default_optimizer"], custom_objects)
        optimizer_map = {key: inner_optimizer_from_config(value, custom_objects)
                         for key, value in (config.get("optimizer_map") or {}).items()}
        return cls(default_optimizer, optimizer_map)

    def __repr__(self):
        return f"<OptimizerMap default={self._default_optimizer.name}, keys={list(self._optimizer_map)}>"


@registry.register_builtin("keras.optimizers")
class MultiOptimizer(Optimizer):
    """Delegates each variable to the optimizer ``optimizer_map`` gives it.

    Args:
        optimizer_map: an ``OptimizerMap``, or a callable taking a variable and returning its optimizer
            (then the optimizers are discovered at ``build``, in the variables' order).
        loss_scale_factor: overrides the inner optimizers' ``loss_scale_factor`` (gradients are divided
            by it; ``scale_loss`` multiplies the loss).
        name: defaults to ``"multi_optimizer"``, numbered.

    ``variables`` lists ``iterations``, a learning-rate placeholder (Keras's layout) and then each inner
    optimizer's variables, in the order of ``optimizers``: the map's values, then its default, then
    optimizers first returned by a callable.

    >>> multi = lamina.optimizers.MultiOptimizer(lamina.optimizers.OptimizerMap(
    ...     default_optimizer=lamina.optimizers.SGD(0.1),
    ...     optimizer_map={".*encoder/.*": lamina.optimizers.Adam(1e-3)}))
    >>> model.compile(optimizer=multi, loss="mse")
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        if isinstance(optimizer_map, Optimizer) or not callable(optimizer_map):
            raise TypeError("MultiOptimizer: `optimizer_map` must be an OptimizerMap or a callable that returns "
                            "the optimizer of a variable. Received: "
                            f"optimizer_map={optimizer_map!r} of type {type(optimizer_map).__name__}")
        self._inner_optimizers = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        candidates = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for optimizer in candidates + ([default] if default is not None else []):
            self._adopt(optimizer)
        self._owner = {}

    def _adopt(self, optimizer):
        """The index of ``optimizer`` among the inner ones, added (with this loss scale) if new."""
        for index, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return index
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    @property
    def optimizers(self):
        """The inner optimizers."""
        return self._inner_optimizers

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on the "
                             "individual sub-optimizers instead (`multi_optimizer.optimizers`).")

    @learning_rate.setter
    def learning_rate(self, value):
        if "_optimizer_map" not in self.__dict__:  # the base class's placeholder, as Keras keeps one
            Optimizer.learning_rate.fset(self, value)
            return
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
                             "individual sub-optimizers instead (`multi_optimizer.optimizers`).")

    @property
    def loss_scale_factor(self):
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for optimizer in self.__dict__.get("_inner_optimizers", ()):
            optimizer.loss_scale_factor = value

    @property
    def variables(self):
        own = [self._iterations, self._lr_variable]
        return own + [variable for optimizer in self._inner_optimizers for variable in optimizer.variables]

    def build(self, variables):
        """Asks the map for each variable's optimizer and builds each optimizer on its variables; once."""
        if self.built:
            return
        variables = list(variables)
        owner, groups = {}, [[] for _ in self._inner_optimizers]
        for i, variable in enumerate(variables):
            if not isinstance(variable, torch.Tensor):
                raise TypeError(f"MultiOptimizer.build expects torch tensors (e.g. model.trainable_weights). "
                                f"Received at index {i}: {type(variable).__name__}")
            optimizer = self._optimizer_map(variable)
            _check_inner("MultiOptimizer", f"the optimizer of variable '{getattr(variable, 'path', i)}'", optimizer)
            index = self._adopt(optimizer)
            groups.extend([] for _ in range(len(self._inner_optimizers) - len(groups)))
            owner[id(variable)] = index
            groups[index].append(variable)
        for optimizer, group in zip(self._inner_optimizers, groups):
            if group:
                optimizer.build(group)
        self._trainable_variables = variables
        self._index = {id(variable): i for i, variable in enumerate(variables)}
        self._owner = owner
        self.built = True

    def _group(self, grads, variables):
        """``(grads, variables)`` per inner optimizer, in the variables' order."""
        groups = [([], []) for _ in self._inner_optimizers]
        for i, (grad, variable) in enumerate(zip(grads, variables)):
            index = self._owner.get(id(variable))
            if index is None:
                raise ValueError(f"MultiOptimizer: unknown variable at index {i}. This optimizer can only update "
                                 "the variables it was built with; create a new optimizer for a new set of variables.")
            groups[index][0].append(grad)
            groups[index][1].append(variable)
        return groups

    @torch.no_grad()
    def apply(self, grads, variables=None):
        """Hands each inner optimizer the gradients of its variables; then ``iterations += 1``."""
        if len(grads) == 0:
            return
        variables = self._variables_for(grads, variables)
        if len(grads) != len(self._owner):
            raise ValueError(f"Gradients must match trainable variables one-to-one. Received {len(grads)} gradients "
                             f"and {len(self._owner)} variables.")
        for optimizer, (sub_grads, sub_variables) in zip(self._inner_optimizers, self._group(grads, variables)):
            if sub_variables:
                optimizer.apply(sub_grads, sub_variables)
        self._iterations += 1

    def step(self):
        """torch.optim style: each inner optimizer applies its variables' ``.grad`` (those with one)."""
        if not self.built:
            raise ValueError("MultiOptimizer.step() needs the variables first: call "
                             "`optimizer.build(model.parameters())` once before training.")
        groups = self._group([v.grad for v in self._trainable_variables], self._trainable_variables)
        for optimizer, (sub_grads, _) in zip(self._inner_optimizers, groups):
            if any(grad is not None for grad in sub_grads):
                optimizer.step()
        self._iterations += 1

    @torch.no_grad()
    def finalize_variable_values(self, var_list):
        """Each inner optimizer finalizes its own variables (copies its EMA into them with ``use_ema``)."""
        var_list = list(var_list)
        groups = self._group(var_list, var_list)
        for optimizer, (_, sub_variables) in zip(self._inner_optimizers, groups):
            if sub_variables:
                optimizer.finalize_variable_values(sub_variables)

    def slot_owners(self):
        owners = {}
        for optimizer in self._inner_optimizers:
            owners.update(optimizer.slot_owners())
        return owners

    def _rebind(self, replacements, convert):
        for optimizer in self._inner_optimizers:
            if optimizer.built:
                optimizer._rebind(replacements, convert)
        variables = [replacements.get(id(variable), variable) for variable in self._trainable_variables]
        self._owner = {id(new): self._owner[id(old)] for old, new in zip(self._trainable_variables, variables)}
        self._trainable_variables = variables
        self._index = {id(variable): i for i, variable in enumerate(variables)}

    def get_config(self):
        return {"optimizer_map": serialize_keras_object(self._optimizer_map),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer_map"] = inner_optimizer_from_config(config["optimizer_map"], custom_objects, "optimizer map")
        return cls(**config)
