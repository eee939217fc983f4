"""Keras 3 optimizers on torch tensors, with Keras's formulas, defaults and configs.

``get("adam")``, ``get({"class_name": "Adam", "config": {...}})`` or an instance;
``serialize``/``deserialize`` speak Keras's config form. Each optimizer also works
in a plain PyTorch loop: ``opt.build(model.parameters())`` then ``opt.step()``.
"""

import torch

from lamina.optimizers import schedules
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.adam import Adam, Adamax, AdamW, Lamb, Nadam
from lamina.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from lamina.optimizers.base import Optimizer
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.lion import Lion
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from lamina.optimizers.muon import Muon
from lamina.optimizers.schedule_free import ScheduleFreeAdamW
from lamina.optimizers.sgd import SGD
from lamina.optimizers.torch_optimizer import TorchOptimizer
from lamina.serialization import deserialize_keras_object, serialize_keras_object

ALL_OPTIMIZERS = {cls.__name__: cls for cls in (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam,
                                                Ftrl, Lion, LossScaleOptimizer, Adafactor, Lamb, Muon,
                                                ScheduleFreeAdamW, MultiOptimizer, OptimizerMap)}
# Keras resolves the lower-case names, e.g. "adam" or "rmsprop".
_BY_LOWER_NAME = {name.lower(): cls for name, cls in ALL_OPTIMIZERS.items()}


def serialize(optimizer):
    """The Keras-form config dict of an optimizer."""
    return serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """An optimizer from its Keras-form config (class names matched case-insensitively, as Keras)."""
    if isinstance(config, dict) and config.get("class_name", "").lower() in _BY_LOWER_NAME:
        config = {**config, "class_name": _BY_LOWER_NAME[config["class_name"].lower()].__name__}
    return deserialize_keras_object(config, module_objects=ALL_OPTIMIZERS, custom_objects=custom_objects,
                                    printable_module_name="optimizer")


def get(identifier):
    """An optimizer from an instance, a name (``"adam"``, ``"sgd"``...), a config dict, or a
    ``torch.optim.Optimizer`` (wrapped in ``TorchOptimizer``)."""
    if isinstance(identifier, (Optimizer, TorchOptimizer)) or identifier is None:
        return identifier
    if isinstance(identifier, torch.optim.Optimizer):
        return TorchOptimizer(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_LOWER_NAME.get(identifier.lower())
        if cls is not None:
            return cls()
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


__all__ = ["Optimizer", "TorchOptimizer", "LossScaleOptimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl",
           "Lion", "Adafactor", "Lamb", "Muon", "ScheduleFreeAdamW", "MultiOptimizer", "OptimizerMap", "schedules", "get",
           "serialize", "deserialize"]
