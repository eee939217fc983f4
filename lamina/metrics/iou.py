"""Intersection-over-union metrics from a confusion matrix: IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU.

State is one ``(num_classes, num_classes)`` confusion matrix (rows: true class, columns: predicted),
in the metric's dtype: int32 by default, as in Keras, so float sample weights are truncated (a
warning says so; pass ``dtype="float32"`` to keep them). Labels outside ``[0, num_classes)`` and
``ignore_class`` are left out.
"""

import warnings

import torch

from lamina import config, registry
from lamina.dtypes import TORCH_DTYPES, standardize_dtype
from lamina.metrics.base import MODULE, Metric


def _as_tensor(x, dtype=None):
    tensor = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return tensor.detach() if dtype is None else tensor.detach().to(dtype)


class _IoUBase(Metric):
    """The confusion matrix; subclasses read IoUs off it."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=standardize_dtype(dtype or "int32"))
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((num_classes, num_classes), name="total_confusion_matrix", dtype=self.dtype)

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        dtype = TORCH_DTYPES[self.dtype]
        y_true, y_pred = _as_tensor(y_true), _as_tensor(y_pred)
        if not self.sparse_y_true:
            y_true = torch.argmax(y_true, dim=self.axis)
        if not self.sparse_y_pred:
            y_pred = torch.argmax(y_pred, dim=self.axis)
        y_true, y_pred = y_true.to(dtype).reshape(-1), y_pred.to(dtype).reshape(-1)
        self._follow_device(y_pred.device)
        y_true = y_true.to(y_pred.device)
        if sample_weight is None:
            weights = torch.ones_like(y_true)
        else:
            weights = _as_tensor(sample_weight)
            if weights.is_floating_point() and not dtype.is_floating_point:
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may result in an "
                              "incorrect weight due to type casting Consider using integer weights.", stacklevel=2)
            weights = torch.broadcast_to(weights.to(device=y_pred.device, dtype=dtype).reshape(-1), y_true.shape)
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            valid &= y_true != self.ignore_class
        cells = (y_true * self.num_classes + y_pred).long()[valid]
        counts = torch.zeros(self.num_classes ** 2, dtype=dtype, device=y_pred.device)
        counts.index_add_(0, cells, weights[valid])
        self.total_cm += counts.reshape(self.num_classes, self.num_classes)


@registry.register_builtin(MODULE)
class IoU(_IoUBase):
    """Mean of ``tp / (tp + fp + fn)`` over ``target_class_ids`` (classes never seen count as absent).

    Inputs: integer class ids (``sparse_y_true``/``sparse_y_pred``; else scores reduced by argmax
    along ``axis``), any shape; ``sample_weight`` broadcast to them.
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is [0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        matrix = self.total_cm.to(torch.float32)
        true_positives = torch.diagonal(matrix)
        denominator = matrix.sum(dim=0) + matrix.sum(dim=1) - true_positives
        ids = torch.tensor(self.target_class_ids, device=matrix.device)
        true_positives, denominator = true_positives[ids], denominator[ids]
        valid = denominator > 1e-9
        iou = torch.where(valid, true_positives / (denominator + config.epsilon()), torch.zeros_like(denominator))
        return iou.sum(dim=self.axis) / (valid.float().sum() + config.epsilon())

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@registry.register_builtin(MODULE)
class BinaryIoU(IoU):
    """IoU of binary labels with predictions thresholded at ``threshold`` (``y_pred >= threshold`` is 1)."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = _as_tensor(y_pred, torch.float32) >= self.threshold
        super().update_state(_as_tensor(y_true, TORCH_DTYPES[self.dtype]), predicted, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


@registry.register_builtin(MODULE)
class MeanIoU(IoU):
    """IoU averaged over every class."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@registry.register_builtin(MODULE)
class OneHotIoU(IoU):
    """IoU for one-hot labels (and, unless ``sparse_y_pred``, per-class scores)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


@registry.register_builtin(MODULE)
class OneHotMeanIoU(MeanIoU):
    """MeanIoU for one-hot labels (and, unless ``sparse_y_pred``, per-class scores)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
