"""Knowledge distillation, as ``keras.distillation`` (Keras 3.15): a frozen teacher trains a student.

``Distiller(teacher, student, distillation_losses, distillation_loss_weights=None, student_loss_weight=0.5)``
is a ``Model``; ``LogitsDistillation`` and ``FeatureDistillation`` are the built-in ``DistillationLoss``es
(docs/distillation.md).
"""

from lamina.distillation.distillation_loss import DistillationLoss, FeatureDistillation, LogitsDistillation
from lamina.distillation.distiller import Distiller

__all__ = ["Distiller", "DistillationLoss", "FeatureDistillation", "LogitsDistillation"]
