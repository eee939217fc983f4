"""Keras 3.15's distillation losses: how a teacher's outputs (or features) and a student's are compared.

A ``DistillationLoss`` turns ``(teacher_outputs, student_outputs)`` into one scalar. ``LogitsDistillation``
compares the final outputs divided by a temperature; ``FeatureDistillation`` compares the outputs of two named
layers (or the final outputs). Both take ``loss`` as a name, a loss function or ``Loss`` instance, or a nested
structure of them matching the outputs, ``None`` skipping an output; the teacher's values are the loss's
``y_true``.

Keras's numbers, rule for rule (checked in tests/distillation): ``LogitsDistillation`` turns logits into
probabilities (softmax over the last axis) and scales by ``temperature ** 2`` only for a ``KLDivergence``
*instance*. A loss given by name is resolved the way Keras resolves it, to the loss *function*
(``"kl_divergence"`` -> ``losses.kl_divergence``), which is then applied to the scaled logits themselves, so the
default ``loss="kl_divergence"`` clips the logits to ``[epsilon, 1]`` without a softmax (docs/distillation.md).
"""

import torch

from lamina import losses, tree
from lamina.registry import register_builtin
from lamina.serialization import serialize_keras_object

_MODULE = "keras.distillation"


def _convert_loss_to_function(loss_item, owner):
    """A loss name resolved as Keras resolves it (``losses.get``: functions for function names, instances for
    class names); a callable kept as it is; None kept (that output is skipped)."""
    if loss_item is None or callable(loss_item) and not isinstance(loss_item, type):
        return loss_item
    if isinstance(loss_item, str):
        try:
            return losses.get(loss_item)
        except ValueError as error:
            raise ValueError(f"{owner}: unknown loss {loss_item!r} in `loss`; expected a Keras loss name such as "
                             f"'mse' or 'kl_divergence', a loss function or a Loss instance. ({error})") from None
    if isinstance(loss_item, type) and issubclass(loss_item, losses.Loss):
        return loss_item()
    raise TypeError(f"{owner}: each entry of `loss` must be a loss name, a loss function, a Loss instance or "
                    f"None. Received: {loss_item!r} (of type {type(loss_item).__name__}).")


def convert_losses(loss, owner):
    """``loss`` (a nested structure) with every entry resolved; ValueError if every entry is None."""
    converted = tree.map_structure(lambda item: _convert_loss_to_function(item, owner), loss)
    if all(item is None for item in tree.flatten(converted)):
        raise ValueError(f"{owner}: the `loss` argument must contain at least one non-None loss. "
                         f"Received: loss={loss!r}")
    return converted


def serialize_loss(loss):
    """A loss (or a nested structure of them) in Keras's form: a function as Keras 3.15 writes one
    (``{"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}``),
    a ``Loss`` instance as its config dict, None as None."""
    if isinstance(loss, (list, tuple)):
        return [serialize_loss(item) for item in loss]
    if isinstance(loss, dict):
        return {key: serialize_loss(value) for key, value in loss.items()}
    if loss is None or hasattr(loss, "get_config"):
        return serialize_keras_object(loss)
    name = getattr(loss, "__name__", None)
    if name is None:
        raise TypeError(f"Cannot serialize the loss {loss!r}: it is neither a named function nor a Loss.")
    return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}


def deserialize_loss(config):
    """The inverse of ``serialize_loss`` (a nested structure of configs, names or None)."""
    if config is None:
        return None
    if isinstance(config, list):
        return [deserialize_loss(item) for item in config]
    if isinstance(config, dict) and "class_name" not in config:
        return {key: deserialize_loss(value) for key, value in config.items()}
    return losses.deserialize(config)


def _scalar(value, like):
    """A Python number as a float32 tensor on ``like``'s device (Keras's ``0.0`` for a skipped output)."""
    if isinstance(value, torch.Tensor):
        return value
    device = like.device if isinstance(like, torch.Tensor) else None
    return torch.tensor(value, dtype=torch.float32, device=device)


def _sum_of(values, outputs):
    """``sum(stack(values))``, as Keras adds the losses of several outputs (on the outputs' device)."""
    like = next(iter(tree.flatten(outputs)), None)
    return torch.sum(torch.stack([_scalar(value, like) for value in values]))


@register_builtin(_MODULE)
class DistillationLoss:
    """Base class of distillation losses: subclasses implement ``compute_loss(teacher_outputs,
    student_outputs, **kwargs)`` returning a scalar tensor.

    ``validate_outputs`` (called by ``Distiller`` before each ``compute_loss``) checks that the teacher's and
    the student's outputs nest alike; ``validate_model_compatibility(teacher, student)`` (called once, when
    the ``Distiller`` is built) checks the models.
    """

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        raise NotImplementedError("Subclasses must implement compute_loss")

    def validate_outputs(self, teacher_outputs, student_outputs):
        tree.assert_same_structure(teacher_outputs, student_outputs)

    def validate_model_compatibility(self, teacher, student):
        pass


@register_builtin(_MODULE)
class FeatureDistillation(DistillationLoss):
    """Compares intermediate features: the output of ``teacher_layer_name`` in the teacher with the output of
    ``student_layer_name`` in the student (the final outputs where a name is None).

    Args:
        loss: a loss name (``"mse"``, ``"cosine_similarity"``, ``"mae"``...), function or ``Loss`` instance, or a
            nested structure of them matching the features (None skips one); at least one must be given.
            Each is called as ``loss(teacher_features, student_features)`` and averaged to a scalar; the
            structure's values are summed. Defaults to ``"mse"``.
        teacher_layer_name: the teacher layer to read (a Functional or Sequential teacher); None: its output.
        student_layer_name: the student layer to read; None: its output.

    Example::

        FeatureDistillation(loss="mse", teacher_layer_name="dense_1", student_layer_name="dense_1")
    """

    def __init__(self, loss="mse", teacher_layer_name=None, student_layer_name=None):
        for argument, value in (("teacher_layer_name", teacher_layer_name),
                                ("student_layer_name", student_layer_name)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"FeatureDistillation: `{argument}` must be a layer name (a string) or None. "
                                f"Received: {argument}={value!r} (of type {type(value).__name__}).")
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = convert_losses(loss, "FeatureDistillation")

    def validate_model_compatibility(self, teacher, student):
        if self.teacher_layer_name is not None or self.student_layer_name is not None:
            subclassed = [role for role, model in (("teacher", teacher), ("student", student))
                          if getattr(model, "inputs", None) is None]
            if subclassed:
                raise ValueError(
                    "FeatureDistillation with specific layer names requires Functional or Sequential models. "
                    f"The {' and '.join(subclassed)} model(s) appear to be subclassed (no symbolic "
                    "inputs/outputs). Either use Functional/Sequential models, or use FeatureDistillation "
                    "without layer names (to distill final outputs only), or use LogitsDistillation instead.")
        for role, model, name in (("teacher", teacher, self.teacher_layer_name),
                                  ("student", student, self.student_layer_name)):
            if name is not None:
                try:
                    model.get_layer(name=name)
                except ValueError as error:
                    raise ValueError(f"FeatureDistillation: `{role}_layer_name={name!r}`: in {role} model "
                                     f"'{model.name}': {error}") from None

    def validate_outputs(self, teacher_outputs, student_outputs):
        super().validate_outputs(teacher_outputs, student_outputs)
        try:
            tree.assert_same_structure(self.loss, teacher_outputs)
        except ValueError as error:
            raise ValueError(f"FeatureDistillation: loss structure mismatch: the `loss` structure "
                             f"{_describe(self.loss)} does not match the features' structure "
                             f"{_describe(teacher_outputs)}. Error: {error}") from None

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        def apply_loss(loss_fn, teacher_features, student_features):
            if loss_fn is None:
                return 0.0
            return torch.mean(loss_fn(teacher_features, student_features))

        values = tree.map_structure(apply_loss, self.loss, teacher_outputs, student_outputs)
        return _sum_of(tree.flatten(values), teacher_outputs)

    def get_config(self):
        return {"loss": serialize_loss(self.loss), "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = deserialize_loss(config["loss"])
        return cls(**config)


@register_builtin(_MODULE)
class LogitsDistillation(DistillationLoss):
    """Compares the final outputs (logits), both divided by ``temperature``.

    Args:
        temperature: a positive number; higher values soften the distributions. Defaults to 3.0.
        loss: a loss name, function or ``Loss`` instance, or a nested structure of them matching the outputs
            (None skips one); at least one must be given. Defaults to ``"kl_divergence"``. A
            ``KLDivergence`` instance compares ``softmax(teacher / T)`` with ``softmax(student / T)`` and is
            scaled by ``T ** 2``; any other loss (the function ``"kl_divergence"`` names included, as in Keras)
            compares the scaled logits directly: ``mean(loss(teacher / T, student / T))``.

    Example::

        LogitsDistillation(temperature=4.0, loss=lamina.losses.KLDivergence())
    """

    def __init__(self, temperature=3.0, loss="kl_divergence"):
        self.temperature = temperature
        self.loss = convert_losses(loss, "LogitsDistillation")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ValueError(f"LogitsDistillation: `temperature` must be a positive number. Received: "
                             f"temperature={temperature!r} (of type {type(temperature).__name__}).")
        if temperature <= 0.0:
            raise ValueError(f"LogitsDistillation: `temperature` must be positive. Received: "
                             f"temperature={temperature!r}")

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        temperature = self.temperature
        teacher_scaled = tree.map_structure(lambda x: torch.divide(x, temperature), teacher_outputs)
        student_scaled = tree.map_structure(lambda x: torch.divide(x, temperature), student_outputs)

        def apply_loss(loss_fn, teacher_logits, student_logits):
            if loss_fn is None:
                return 0.0
            if isinstance(loss_fn, losses.KLDivergence):
                teacher_probs = torch.softmax(teacher_logits, dim=-1)
                student_probs = torch.softmax(student_logits, dim=-1)
                return torch.mean(loss_fn(teacher_probs, student_probs)) * (temperature ** 2)
            return torch.mean(loss_fn(teacher_logits, student_logits))

        values = tree.map_structure(apply_loss, self.loss, teacher_scaled, student_scaled)
        return _sum_of(tree.flatten(values), teacher_outputs)

    def get_config(self):
        return {"temperature": self.temperature, "loss": serialize_loss(self.loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = deserialize_loss(config["loss"])
        return cls(**config)


def _describe(structure):
    """A structure's shape with its leaves as ``*`` (Keras's ``tree.structure`` in words)."""
    if isinstance(structure, (list, tuple)):
        inner = ", ".join(_describe(item) for item in structure)
        return f"[{inner}]" if isinstance(structure, list) else f"({inner})"
    if isinstance(structure, dict):
        return "{" + ", ".join(f"{key!r}: {_describe(value)}" for key, value in structure.items()) + "}"
    return "*"
