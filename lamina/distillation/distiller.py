"""Keras 3.15's ``Distiller``: a model that trains a student on labels and on a frozen teacher's outputs.

The Distiller is a subclassed ``Model`` whose ``call`` is the student's and whose ``compute_loss`` is

    total = student_loss_weight * student_loss + (1 - student_loss_weight) * sum_i(weight_i * distillation_i)

``student_loss`` being the compiled loss(es) on ``(y, student(x))`` (summed over outputs, averaged to a scalar)
and ``distillation_i`` each ``DistillationLoss`` on the teacher's and the student's outputs or named layers'
features. Everything around the step (callbacks, History, evaluate, predict, saving) is the Model's: the logs
are ``loss`` (the total, averaged over samples), the compiled metrics, and ``student_loss``,
``distillation_loss``, ``total_loss`` (each averaged over batches), as in Keras.
"""

import warnings

import torch

from lamina import tree
from lamina.distillation.distillation_loss import _convert_loss_to_function
from lamina.engine.layer import Layer
from lamina.layers.serialization import deserialize
from lamina.metrics import Mean
from lamina.models import Model, Sequential
from lamina.registry import register_builtin
from lamina.serialization import deserialize_keras_object, serialize_keras_object

_FINAL_OUTPUT = "final_output"


@register_builtin("keras.distillation")
class Distiller(Model):
    """Distills a frozen ``teacher`` model into a trainable ``student``.

    Args:
        teacher: a ``Model`` (trained); set ``trainable = False`` here.
        student: a ``Model`` to train; inputs and outputs must match the teacher's in shape and dtype
            (where both are known).
        distillation_losses: one ``DistillationLoss`` (``LogitsDistillation``, ``FeatureDistillation``, or a
            subclass) or a list of them.
        distillation_loss_weights: one weight per loss in a list (default: 1.0 each); ignored, as in Keras, when
            ``distillation_losses`` is a single loss (its weight is 1.0).
        student_loss_weight: the weight of the supervised loss, in [0, 1]; the distillation losses get
            ``1 - student_loss_weight``. Defaults to 0.5.
        name: defaults to ``"distiller"``.

    ``compile(optimizer="adam", loss=..., metrics=None, **kwargs)`` takes the student's supervised loss
    (required) and the ``Model.compile`` arguments. After ``fit``, ``distiller.student`` is the trained model.

    Example::

        distiller = Distiller(teacher, student, LogitsDistillation(temperature=3.0), student_loss_weight=0.5)
        distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        distiller.fit(x, y, epochs=10)   # logs: loss, accuracy, student_loss, distillation_loss, total_loss
    """

    def __init__(self, teacher, student, distillation_losses, distillation_loss_weights=None,
                 student_loss_weight=0.5, name="distiller", **kwargs):
        super().__init__(name=name, **kwargs)
        _validate_models(teacher, student)
        self.teacher = teacher
        self.student = student
        if isinstance(student_loss_weight, bool) or not isinstance(student_loss_weight, (int, float)):
            raise ValueError(f"Distiller: `student_loss_weight` must be a number between 0.0 and 1.0. Received: "
                             f"student_loss_weight={student_loss_weight!r} (of type "
                             f"{type(student_loss_weight).__name__}).")
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(f"Distiller: `student_loss_weight` must be between 0.0 and 1.0. Received: "
                             f"student_loss_weight={student_loss_weight!r}")
        self.student_loss_weight = student_loss_weight
        if distillation_losses is None:
            raise ValueError("Distiller: `distillation_losses` cannot be None. Provide a distillation loss "
                             "(e.g. LogitsDistillation or FeatureDistillation) or a list of distillation losses.")
        if not isinstance(distillation_losses, (list, tuple)):
            self.distillation_losses = [distillation_losses]
            self.distillation_loss_weights = [1.0]
        else:
            self.distillation_losses = distillation_losses
            if distillation_loss_weights is None:
                self.distillation_loss_weights = [1.0] * len(distillation_losses)
            elif len(distillation_loss_weights) != len(distillation_losses):
                raise ValueError(f"Distiller: the number of `distillation_loss_weights` "
                                 f"({len(distillation_loss_weights)}) must match the number of "
                                 f"`distillation_losses` ({len(distillation_losses)}). Received: "
                                 f"distillation_loss_weights={distillation_loss_weights!r}")
            else:
                self.distillation_loss_weights = distillation_loss_weights
        for index, distillation_loss in enumerate(self.distillation_losses):
            missing = [method for method in ("compute_loss", "validate_outputs", "validate_model_compatibility")
                       if not callable(getattr(distillation_loss, method, None))]
            if missing:
                raise TypeError(f"Distiller: `distillation_losses[{index}]` must be a DistillationLoss (such as "
                                f"LogitsDistillation or FeatureDistillation); it lacks {missing}. Received: "
                                f"{distillation_loss!r} (of type {type(distillation_loss).__name__}).")
            distillation_loss.validate_model_compatibility(teacher, student)
        self._create_multi_feature_extractors()
        self.teacher.trainable = False
        self.student_loss_tracker = Mean(name="student_loss")
        self.distillation_loss_tracker = Mean(name="distillation_loss")
        self.total_loss_tracker = Mean(name="total_loss")

    # ------------------------------------------------------------------ feature extraction
    def _create_multi_feature_extractors(self):
        """One functional model per side returning the final output and every named layer's output, so each
        step runs the teacher once (and the student once more) whatever the number of feature losses."""
        teacher_names, student_names = [], []
        for distillation_loss in self.distillation_losses:
            for names, attribute in ((teacher_names, "teacher_layer_name"), (student_names, "student_layer_name")):
                name = getattr(distillation_loss, attribute, None)
                if name and name not in names:
                    names.append(name)
        self._teacher_feature_extractor = _feature_extractor(self.teacher, teacher_names)
        self._student_feature_extractor = _feature_extractor(self.student, student_names)

    def _extract_all_teacher_features(self, x):
        with torch.no_grad():  # the teacher is frozen: no gradient reaches it, so no graph is kept
            if self._teacher_feature_extractor is not None:
                return self._teacher_feature_extractor(x, training=False)
            return {_FINAL_OUTPUT: self.teacher(x, training=False)}

    def _extract_all_student_features(self, x, y_pred):
        if self._student_feature_extractor is not None:
            # Keras runs the student's extractor with training=True, in evaluation too: so does lamina.
            return self._student_feature_extractor(x, training=True)
        return {_FINAL_OUTPUT: y_pred}

    def _features_for(self, distillation_loss, teacher_features, student_features, y_pred):
        """The (teacher, student) values ``distillation_loss`` compares."""
        if getattr(distillation_loss, "teacher_layer_name", None) is None:
            return teacher_features[_FINAL_OUTPUT], y_pred
        pair = []
        for features, attribute in ((teacher_features, "teacher_layer_name"),
                                    (student_features, "student_layer_name")):
            name = getattr(distillation_loss, attribute, None) or _FINAL_OUTPUT
            if name not in features:
                raise RuntimeError(f"Failed to extract features for {type(distillation_loss).__name__} targeting "
                                   f"teacher layer '{distillation_loss.teacher_layer_name}' and student layer "
                                   f"'{getattr(distillation_loss, 'student_layer_name', None)}': layer '{name}' "
                                   f"not found in extracted features. Available: {list(features)}")
            pair.append(features[name])
        return tuple(pair)

    # ------------------------------------------------------------------ training
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """``Model.compile`` with the student's supervised ``loss`` (required: a name, a function or ``Loss``,
        or one per output) kept by the Distiller; ``metrics`` must be a list or tuple (or None)."""
        if loss is None:
            raise ValueError("Distiller.compile: `loss` (the student's supervised loss) cannot be None. Received: "
                             "loss=None; expected a loss name such as 'sparse_categorical_crossentropy', a loss "
                             "function or a Loss instance.")
        self._student_loss = tree.map_structure(lambda item: _convert_loss_to_function(item, "Distiller.compile"),
                                                loss)
        self._student_loss_for_serialization = loss
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"Distiller.compile: `metrics` must be a list or tuple. Received: metrics={metrics!r} "
                             f"(of type {type(metrics).__name__}).")
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        """Does not compile, as Keras: the compile config holds no student loss (``loss`` is None there)."""
        warnings.warn("`compile()` was not called as part of model loading because the model's `compile()` method "
                      "is custom (Distiller). Call `distiller.compile(optimizer=..., loss=...)` after loading.",
                      stacklevel=2)

    def call(self, inputs, training=None, **kwargs):
        return self.student(inputs, training=training, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The weighted sum of the student loss and the distillation losses (``sample_weight`` unused, as in
        Keras); updates the three loss trackers."""
        if y_pred is None:
            y_pred = self(x, training=training)
        like = tree.flatten(y_pred)[0]
        student_loss = _zero(like)
        if self.student_loss_weight > 0.0 and y is not None:
            values = tree.flatten(tree.map_structure(lambda fn, target, output: fn(target, output),
                                                     self._student_loss, y, y_pred))
            if len({tuple(value.shape) for value in values}) > 1:
                raise ValueError("Distiller: the student losses of the outputs returned values of different shapes "
                                 f"{[tuple(value.shape) for value in values]}, which cannot be summed. Pass Loss "
                                 "instances (each reduces to a scalar) in `compile(loss=...)`.")
            student_loss = torch.sum(torch.stack(values)) if len(values) > 1 else values[0]
            if student_loss.ndim > 0:
                student_loss = torch.mean(student_loss)
        distillation_loss = _zero(like)
        if self.student_loss_weight < 1.0:
            teacher_features = self._extract_all_teacher_features(x)
            student_features = self._extract_all_student_features(x, y_pred)
            for distillation_fn, weight in zip(self.distillation_losses, self.distillation_loss_weights):
                teacher_values, student_values = self._features_for(distillation_fn, teacher_features,
                                                                    student_features, y_pred)
                distillation_fn.validate_outputs(teacher_values, student_values)
                value = distillation_fn.compute_loss(teacher_values, student_values)
                if getattr(value, "ndim", 0) > 0:
                    raise ValueError(f"Distillation loss {type(distillation_fn).__name__} returned a non-scalar "
                                     f"loss with shape {tuple(value.shape)}. The compute_loss method must return "
                                     "a scalar tensor.")
                distillation_loss = torch.add(distillation_loss, torch.multiply(_float32(weight, like), value))
        student_weight = _float32(self.student_loss_weight, like)
        total_loss = torch.add(torch.multiply(student_weight, student_loss),
                               torch.multiply(torch.subtract(_float32(1.0, like), student_weight), distillation_loss))
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total_loss)
        return total_loss

    # ------------------------------------------------------------------ config
    def get_config(self):
        # Layer's base config (name, trainable, dtype) is Keras's Model.get_config of a subclassed model.
        return {**Layer.get_config(self),
                "teacher": serialize_keras_object(self.teacher),
                "student": serialize_keras_object(self.student),
                "distillation_losses": [serialize_keras_object(loss) for loss in self.distillation_losses],
                "distillation_loss_weights": self.distillation_loss_weights,
                "student_loss_weight": self.student_loss_weight}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["teacher"] = deserialize(config["teacher"])
        config["student"] = deserialize(config["student"])
        config["distillation_losses"] = [deserialize_keras_object(loss, printable_module_name="distillation loss")
                                         for loss in config["distillation_losses"]]
        return cls(**config)


def _zero(like):
    """Keras's ``0.0`` start of a loss sum, as a float32 tensor on ``like``'s device."""
    return torch.zeros((), dtype=torch.float32, device=like.device)


def _float32(value, like):
    """A Python weight as Keras's ops convert it: a float32 tensor (so ``1 - w`` rounds as Keras's does)."""
    return torch.tensor(value, dtype=torch.float32, device=like.device)


def _feature_extractor(model, layer_names):
    """A functional model on ``model``'s inputs returning ``{"final_output": ..., name: layer output}``, or
    None when no layer is named."""
    if not layer_names:
        return None
    if getattr(model, "inputs", None) is None:
        raise ValueError(f"Cannot create feature extractor for {model.name}. The model has no symbolic inputs "
                         "attribute.")
    final_output = model.layers[-1].output if isinstance(model, Sequential) else model.output
    outputs = {_FINAL_OUTPUT: final_output}
    for name in layer_names:
        outputs[name] = model.get_layer(name=name).output
    return Model(inputs=model.inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")


def _validate_models(teacher, student):
    for role, model in (("teacher", teacher), ("student", student)):
        if not isinstance(model, Model):
            raise ValueError(f"Distiller: `{role}` must be a lamina (Keras) Model. Received: {role}={model!r} "
                             f"(of type {type(model).__name__}).")
    for context in ("input", "output"):
        teacher_tensors = getattr(teacher, f"{context}s", None)
        student_tensors = getattr(student, f"{context}s", None)
        if teacher_tensors is None or student_tensors is None:
            continue
        if len(teacher_tensors) != len(student_tensors):
            raise ValueError(f"Distiller: teacher and student have different numbers of {context}s. Teacher: "
                             f"{len(teacher_tensors)}, Student: {len(student_tensors)}.")
        for teacher_tensor, student_tensor in zip(teacher_tensors, student_tensors):
            _check_shapes(tuple(teacher_tensor.shape), tuple(student_tensor.shape), context)
    for context in ("input", "output"):
        teacher_tensors = getattr(teacher, f"{context}s", None)
        student_tensors = getattr(student, f"{context}s", None)
        if teacher_tensors is None or student_tensors is None:
            return  # Keras checks output dtypes only where the input dtypes were checked
        for teacher_tensor, student_tensor in zip(teacher_tensors, student_tensors):
            if teacher_tensor.dtype != student_tensor.dtype:
                raise ValueError(f"Distiller: teacher and student {context} dtypes must match. Teacher: "
                                 f"{teacher_tensor.dtype}, Student: {student_tensor.dtype}.")


def _check_shapes(teacher_shape, student_shape, context):
    if len(teacher_shape) != len(student_shape):
        raise ValueError(f"Distiller: teacher and student {context} shapes have different dimensions. Teacher: "
                         f"{teacher_shape}, Student: {student_shape}.")
    for teacher_dim, student_dim in zip(teacher_shape, student_shape):
        if teacher_dim is not None and student_dim is not None and teacher_dim != student_dim:
            raise ValueError(f"Distiller: teacher and student {context} shapes are incompatible. Teacher: "
                             f"{teacher_shape}, Student: {student_shape}. All dimensions must match.")
