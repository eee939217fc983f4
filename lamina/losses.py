"""Keras 3 losses on torch tensors: functions giving per-sample losses and ``Loss`` classes that reduce them.

A function such as ``mean_squared_error(y_true, y_pred)`` returns one value per
sample (the last axis reduced). A ``Loss`` instance's ``__call__(y_true, y_pred,
sample_weight=None)`` converts its inputs to float32 tensors on ``y_pred``'s
device, calls ``call`` and reduces as Keras does: ``"sum_over_batch_size"``
(default; also ``"mean"``) divides the weighted sum by the number of loss
values, ``"mean_with_sample_weight"`` by the sum of the weights, ``"sum"``
sums, ``"none"``/None returns the weighted values. A ``_keras_mask`` on
``y_pred`` (or on the losses, from ``ignore_class``) masks values out.

Config departure: Keras 3.15's ``Huber``, ``CosineSimilarity`` and
``SparseCategoricalCrossentropy`` configs drop ``delta``/``axis``, so they do not
round-trip; lamina's configs keep them (Keras reads them fine).
"""

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from lamina import config, registry
from lamina.naming import to_snake_case, unique_name
from lamina.ops.arguments import is_int
from lamina.serialization import deserialize_keras_object, resolve_identifier, serialize_keras_object

_MODULE = "keras.losses"
_squared_errors = torch._C._nn.mse_loss  # F.mse_loss's kernel, for inputs of one shape
_NO_REDUCTION = torch.nn._reduction.get_enum("none")
_MEAN_REDUCTION = torch.nn._reduction.get_enum("mean")
_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


# ---------------------------------------------------------------- shared helpers
def as_tensors(y_true, y_pred, dtype=None):
    """``y_pred`` as a float tensor (``dtype``, default floatx) and ``y_true`` in its dtype, on its device."""
    floatx = getattr(torch, config.floatx())
    dtype = dtype or floatx
    if type(y_pred) is torch.Tensor and type(y_true) is torch.Tensor and y_pred.dtype is dtype \
            and y_true.dtype is dtype and y_true.device == y_pred.device:
        return y_true, y_pred  # already what the conversions below would return (the training loop's case)
    mask = getattr(y_pred, "_keras_mask", None)
    y_pred = torch.as_tensor(np.asarray(y_pred) if not isinstance(y_pred, torch.Tensor) else y_pred)
    if not y_pred.is_floating_point() or dtype != floatx:
        y_pred = y_pred.to(dtype)
    if mask is not None:
        y_pred._keras_mask = mask
    y_true = torch.as_tensor(np.asarray(y_true) if not isinstance(y_true, torch.Tensor) else y_true)
    return y_true.to(device=y_pred.device, dtype=y_pred.dtype), y_pred


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rank matching: drops (or, against a rank-1 partner, adds) a trailing axis of size 1."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def _mean_over_last_axis(values):
    """``mean(values, axis=-1)``; an axis of size 1 is dropped instead (the same values and gradient, without
    a reduction and its autograd node)."""
    return values.squeeze(-1) if values.ndim and values.shape[-1] == 1 else torch.mean(values, dim=-1)


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {_REDUCTIONS}. "
                         f"Received: reduction={reduction!r}")
    return reduction


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras's ``reduce_weighted_values``: mask into the weights, weight, then reduce."""
    _check_reduction(reduction)
    if sample_weight is not None:
        sample_weight = torch.as_tensor(sample_weight, device=values.device).to(values.dtype)
    if mask is not None:
        mask = torch.as_tensor(mask, device=values.device)
        if reduction in ("mean", "sum_over_batch_size"):
            # Rescale so that the mean over the valid entries is taken.
            valid = mask.to(values.dtype).sum()
            scale = torch.where(valid > 0, mask.numel() / valid, torch.zeros_like(valid))
            float_mask = torch.where(mask.bool(), scale, torch.zeros_like(scale))
        else:
            float_mask = mask.to(values.dtype)
        if sample_weight is not None:
            float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
            sample_weight = sample_weight * float_mask
        else:
            sample_weight = float_mask
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    if reduction in (None, "none") or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        loss, divisor = values.sum(), sample_weight.sum()
        return torch.where(divisor != 0, loss / divisor, torch.zeros_like(loss))
    if not values.numel():
        return values.new_zeros(())
    # Keras's sum / count. torch's CPU mean is that very sum divided by the count (forward and backward, the
    # same roundings) in one op; elsewhere a mean may multiply by the reciprocal, which rounds differently.
    return values.mean() if values.device.type == "cpu" else values.sum() / values.numel()


# ---------------------------------------------------------------- loss functions
def _regression_pair(y_true, y_pred):
    y_true, y_pred = as_tensors(y_true, y_pred)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _squared_error(y_true, y_pred):
    """``(y_true - y_pred)**2`` elementwise (broadcast, as Keras subtracts). For inputs of one shape, torch's
    mse_loss kernel, (y_pred - y_true)**2: Keras's value bit for bit, gradient included, in one autograd node
    instead of two; called below F.mse_loss, whose broadcast_tensors adds two more nodes."""
    if y_true.shape != y_pred.shape:
        return torch.square(y_true - y_pred)
    return _squared_errors(y_pred, y_true, _NO_REDUCTION)


def _absolute_error(y_true, y_pred):
    """``|y_true - y_pred|`` elementwise."""
    return torch.abs(y_true - y_pred)


@registry.register_builtin(_MODULE)
def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred)**2, axis=-1)``."""
    return _mean_over_last_axis(_squared_error(*_regression_pair(y_true, y_pred)))


@registry.register_builtin(_MODULE)
def mean_absolute_error(y_true, y_pred):
    """``mean(|y_true - y_pred|, axis=-1)``."""
    return _mean_over_last_axis(_absolute_error(*_regression_pair(y_true, y_pred)))


@registry.register_builtin(_MODULE)
def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|(y_true - y_pred) / max(|y_true|, epsilon)|, axis=-1)``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    diff = torch.abs((y_true - y_pred) / torch.clamp(torch.abs(y_true), min=config.epsilon()))
    return 100.0 * _mean_over_last_axis(diff)


@registry.register_builtin(_MODULE)
def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    eps = config.epsilon()
    first = torch.log(torch.clamp(y_pred, min=eps) + 1.0)
    second = torch.log(torch.clamp(y_true, min=eps) + 1.0)
    return _mean_over_last_axis(torch.square(first - second))


@registry.register_builtin(_MODULE)
def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for aligned vectors."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    y_true = F.normalize(y_true, dim=axis, eps=config.epsilon())
    y_pred = F.normalize(y_pred, dim=axis, eps=config.epsilon())
    return -torch.sum(y_true * y_pred, dim=axis)


@registry.register_builtin(_MODULE)
def huber(y_true, y_pred, delta=1.0):
    """``mean(0.5 * e**2 if |e| <= delta else delta * |e| - 0.5 * delta**2, axis=-1)``, ``e = y_pred - y_true``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = torch.abs(error)
    delta = torch.tensor(delta, dtype=y_pred.dtype, device=y_pred.device)
    quadratic = 0.5 * torch.square(error)
    linear = delta * abs_error - 0.5 * torch.square(delta)
    return _mean_over_last_axis(torch.where(abs_error <= delta, quadratic, linear))


@registry.register_builtin(_MODULE)
def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed as ``x + softplus(-2x) - log(2)``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    x = y_pred - y_true
    return _mean_over_last_axis(x + F.softplus(x * -2.0) - math.log(2.0))


def _hinge_labels(y_true):
    """Labels in {0, 1} become {-1, 1}; others are kept."""
    is_binary = torch.all((y_true == 0) | (y_true == 1))
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


@registry.register_builtin(_MODULE)
def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``, labels in {-1, 1} (0/1 converted)."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    return _mean_over_last_axis(torch.clamp(1.0 - _hinge_labels(y_true) * y_pred, min=0.0))


@registry.register_builtin(_MODULE)
def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)``, labels in {-1, 1} (0/1 converted)."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    return _mean_over_last_axis(torch.square(torch.clamp(1.0 - _hinge_labels(y_true) * y_pred, min=0.0)))


@registry.register_builtin(_MODULE)
def categorical_hinge(y_true, y_pred):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    pos = torch.sum(y_true * y_pred, dim=-1)
    neg = torch.amax((1.0 - y_true) * y_pred, dim=-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


@registry.register_builtin(_MODULE)
def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[epsilon, 1]``."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    y_true = torch.clamp(y_true, config.epsilon(), 1.0)
    y_pred = torch.clamp(y_pred, config.epsilon(), 1.0)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1)


@registry.register_builtin(_MODULE)
def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    return _mean_over_last_axis(y_pred - y_true * torch.log(y_pred + config.epsilon()))


def _clipped_log_probabilities(y_pred, axis):
    """Keras's probabilities path: renormalize along ``axis``, clip to ``[eps, 1 - eps]``, log."""
    eps = config.epsilon()
    y_pred = y_pred / torch.sum(y_pred, dim=axis, keepdim=True)
    return torch.log(torch.clamp(y_pred, eps, 1.0 - eps))


def _check_axis(axis):
    if not is_int(axis):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")


def _warn_single_class(y_pred, loss_name):
    if y_pred.shape[-1] == 1:
        warnings.warn(f"In loss {loss_name}, expected y_pred.shape to be (batch_size, num_classes) with "
                      f"num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. Consider using "
                      "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=3)


def _smooth_categorical(y_true, label_smoothing):
    """``y_true * (1 - s) + s / num_classes``: Keras's label smoothing for one-hot labels."""
    return y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1] if label_smoothing else y_true


@registry.register_builtin(_MODULE)
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y_true * log(p), axis)``, ``p`` the softmax of logits or the renormalized, clipped
    probabilities; ``label_smoothing`` s gives ``y_true * (1 - s) + s / num_classes``."""
    _check_axis(axis)
    y_true, y_pred = as_tensors(y_true, y_pred)
    _warn_single_class(y_pred, "categorical_crossentropy")
    if y_true.shape != y_pred.shape:
        raise ValueError("Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}")
    y_true = _smooth_categorical(y_true, label_smoothing)
    log_prob = F.log_softmax(y_pred, dim=axis) if from_logits else _clipped_log_probabilities(y_pred, axis)
    return -torch.sum(y_true * log_prob, dim=axis)


@registry.register_builtin(_MODULE)
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical crossentropy with integer labels (shape of ``y_pred`` without ``axis``, or with it
    of size 1). Labels equal to ``ignore_class`` give 0 and are masked out of the reduction."""
    _check_axis(axis)
    y_true, y_pred = as_tensors(y_true, y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    class_axis = axis % y_pred.ndim
    expected = tuple(d for i, d in enumerate(y_pred.shape) if i != class_axis)
    if tuple(y_true.shape) != expected:
        raise ValueError("Arguments `target` and `output` must have the same shape up until the last dimension: "
                         f"target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}")
    valid = None
    if ignore_class is not None:
        valid = y_true != ignore_class
        y_true = torch.where(valid, y_true, torch.zeros_like(y_true))
    labels = y_true.long()
    log_prob = F.log_softmax(y_pred, dim=class_axis) if from_logits else \
        _clipped_log_probabilities(y_pred, class_axis)
    classes = y_pred.shape[class_axis]
    # On CPU, gather's own bounds check fails first (nothing to pay until it does); elsewhere a bad index
    # is a device-side assert that poisons the CUDA context, so the range is checked before.
    if labels.device.type != "cpu" and labels.numel() and not torch.compiler.is_compiling():
        _check_labels(labels, classes)
    try:
        result = -torch.gather(log_prob, class_axis, labels.unsqueeze(class_axis)).squeeze(class_axis)
    except RuntimeError:
        _check_labels(labels, classes)
        raise
    if valid is not None:
        result = torch.where(valid, result, torch.zeros_like(result))
        result._keras_mask = valid
    return result


def _check_labels(labels, classes):
    """A ValueError naming the loss, the offending label and the class count when a label is out of range."""
    low, high = torch.aminmax(labels)
    if low < 0 or high >= classes:
        bad = int(low) if low < 0 else int(high)
        raise ValueError(f"sparse_categorical_crossentropy: label {bad} is out of range for {classes} classes "
                         f"(labels must be in [0, {classes})). Received labels in [{int(low)}, {int(high)}].")


def _smooth_binary(y_true, label_smoothing):
    return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing if label_smoothing else y_true


def _elementwise_binary_crossentropy(y_true, y_pred, from_logits):
    if y_true.shape != y_pred.shape:
        raise ValueError("Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}")
    if from_logits:
        return F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    eps = config.epsilon()
    return F.binary_cross_entropy(torch.clamp(y_pred, eps, 1.0 - eps), y_true, reduction="none")


@registry.register_builtin(_MODULE)
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean(-(y log p + (1 - y) log(1 - p)), axis)``, ``p`` clipped to ``[eps, 1 - eps]`` (or the
    sigmoid of logits); ``label_smoothing`` s gives ``y * (1 - s) + 0.5 * s``."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    return torch.mean(_elementwise_binary_crossentropy(y_true, y_pred, from_logits), dim=axis)


@registry.register_builtin(_MODULE)
def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean((1 - p_t)**gamma * bce, axis)``, ``p_t = y p + (1 - y)(1 - p)``; with class balancing
    each term is weighted by ``alpha`` (positives) or ``1 - alpha`` (negatives)."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    bce = _elementwise_binary_crossentropy(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal_bce = torch.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal_bce = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal_bce
    return torch.mean(focal_bce, dim=axis)


@registry.register_builtin(_MODULE)
def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """``sum(alpha * (1 - p)**gamma * -y_true * log(p), axis)``, ``p`` the renormalized, clipped
    probabilities (the softmax of logits); ``label_smoothing`` as in ``categorical_crossentropy``."""
    _check_axis(axis)
    y_true, y_pred = as_tensors(y_true, y_pred)
    _warn_single_class(y_pred, "categorical_focal_crossentropy")
    y_true = _smooth_categorical(y_true, label_smoothing)
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    eps = config.epsilon()
    output = torch.clamp(y_pred / torch.sum(y_pred, dim=axis, keepdim=True), eps, 1.0 - eps)
    return torch.sum(alpha * torch.pow(1.0 - output, gamma) * (-y_true * torch.log(output)), dim=axis)


@registry.register_builtin(_MODULE)
def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """``(1 - p**q) / q``, ``p`` the predicted probability of the integer label ``y_true`` (noise-robust)."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    one_hot = F.one_hot(y_true.long(), num_classes=y_pred.shape[-1]).to(y_pred.dtype)
    return (1.0 - torch.pow(torch.sum(y_pred * one_hot, dim=-1), q)) / q


@registry.register_builtin(_MODULE)
def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Circle loss of L2-normalized embeddings ``y_pred`` (batch, dim) with integer labels ``y_true``
    against ``ref_embeddings``/``ref_labels`` (default: the batch itself); one value per row, masked
    where it is 0, as Keras does."""
    y_true, y_pred = as_tensors(y_true, y_pred)
    labels = y_true.to(torch.int32)
    references = y_pred if ref_embeddings is None else torch.as_tensor(ref_embeddings, device=y_pred.device)
    ref_labels = labels if ref_labels is None else torch.as_tensor(ref_labels, device=y_pred.device).to(torch.int32)
    distances = torch.clamp(1.0 - y_pred @ references.T.to(y_pred.dtype), min=0.0)
    positive = labels.reshape(-1, 1) == ref_labels.reshape(-1, 1).T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~torch.eye(labels.numel(), ref_labels.numel(), dtype=torch.bool, device=y_pred.device)
    positive_weights = torch.clamp((margin + distances) * positive, min=0.0)
    negative_weights = torch.clamp((1.0 + margin - distances) * negative, min=0.0)
    positive_terms = -gamma * positive_weights * (margin - distances)
    negative_terms = gamma * negative_weights * (1.0 - margin - distances)
    minus_inf = torch.full_like(distances, float("-inf"))
    loss = F.softplus(torch.logsumexp(torch.where(positive, positive_terms, minus_inf), dim=1)
                      + torch.logsumexp(torch.where(negative, negative_terms, minus_inf), dim=1))
    loss._keras_mask = loss > 0
    return loss


@registry.register_builtin(_MODULE)
def ctc(y_true, y_pred):
    """Connectionist temporal classification loss per sample: ``y_true`` (batch, max_label_length) integer
    labels padded with 0 (the blank), ``y_pred`` (batch, time, classes) logits (log-softmaxed here,
    as Keras's torch backend does); every sequence uses all ``time`` steps."""
    if len(y_true.shape) != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in "
                         f"integer format. Received: y_true.shape={tuple(y_true.shape)}")
    if len(y_pred.shape) != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
                         f"num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}")
    y_pred = torch.as_tensor(y_pred)
    y_pred = y_pred if y_pred.is_floating_point() else y_pred.float()
    targets = torch.as_tensor(y_true, device=y_pred.device).long()
    input_lengths = torch.full((y_pred.shape[0],), y_pred.shape[1], dtype=torch.long, device=y_pred.device)
    target_lengths = torch.sum(targets != 0, dim=-1)
    log_probs = F.log_softmax(y_pred.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="none")


def _overlap_terms(y_true, y_pred, axis):
    y_true, y_pred = as_tensors(y_true, y_pred)
    dim = tuple(axis) if isinstance(axis, (list, tuple)) else axis

    def total(x):
        return torch.sum(x) if dim is None else torch.sum(x, dim=dim)

    return y_true, y_pred, total


@registry.register_builtin(_MODULE)
def dice(y_true, y_pred, axis=None):
    """``1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon)``, summed over ``axis``
    (None: everything, one value per call)."""
    y_true, y_pred, total = _overlap_terms(y_true, y_pred, axis)
    return 1.0 - 2.0 * total(y_true * y_pred) / (total(y_true) + total(y_pred) + config.epsilon())


@registry.register_builtin(_MODULE)
def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """``1 - tp / (tp + alpha * fp + beta * fn + epsilon)`` with soft counts summed over ``axis``
    (as Keras: ``fp = sum((1 - y_pred) * y_true)``, ``fn = sum(y_pred * (1 - y_true))``)."""
    y_true, y_pred, total = _overlap_terms(y_true, y_pred, axis)
    intersection = total(y_true * y_pred)
    fp = total((1.0 - y_pred) * y_true)
    fn = total(y_pred * (1.0 - y_true))
    return 1.0 - intersection / (intersection + fp * alpha + fn * beta + config.epsilon())


# ---------------------------------------------------------------- Loss classes
@registry.register_builtin(_MODULE)
class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.

    Args:
        reduction: "sum_over_batch_size" (default), "mean", "mean_with_sample_weight", "sum", "none" or None.
        name: defaults to the snake_case class name.
        dtype: the dtype inputs are cast to (default floatx, float32).
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.reduction = _check_reduction(reduction)
        self._dtype_name = dtype or config.floatx()
        self._torch_dtype = getattr(torch, self._dtype_name)

    @property
    def dtype(self):
        """The dtype name inputs are cast to ("float32"), as Keras's ``Loss.dtype``."""
        return self._dtype_name

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = as_tensors(y_true, y_pred, self._torch_dtype)
        in_mask = getattr(y_pred, "_keras_mask", None)
        losses = self.call(y_true, y_pred)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = in_mask.bool() & out_mask.bool()
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, mask=mask, reduction=self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, reduction={self.reduction}>"


@registry.register_builtin(_MODULE)
class LossFunctionWrapper(Loss):
    """A ``Loss`` computing ``fn(y_true, y_pred, **kwargs)`` after Keras's rank matching."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def __call__(self, y_true, y_pred, sample_weight=None):
        errors = _ELEMENTWISE_ERRORS.get(self.fn)
        if errors is not None and sample_weight is None and self.reduction in _MEAN_REDUCTIONS:
            y_true, y_pred = as_tensors(y_true, y_pred, self._torch_dtype)  # what Loss.__call__ converts first
            if y_pred.device.type == "cpu" and y_pred.ndim > 1 and y_pred.shape[-1] == 1 \
                    and y_true.shape == y_pred.shape and y_pred.numel() and not hasattr(y_pred, "_keras_mask"):
                # The training loop's case: per-sample values are the errors themselves (a mean over one value),
                # and their mean over the batch is the mean of the errors: the same values and gradient, bit for bit
                count = y_pred.numel()
                if errors is _squared_error and not torch.compiler.is_compiling() and count & (count - 1) == 0 \
                        and y_pred.dtype in _EXACT_SCALING:
                    # One autograd node instead of two: its backward, (2 / count) * (y_pred - y_true) * g, scales by
                    # a power of two where Keras's 2 * (y_pred - y_true) * (g / count) does, which rounds alike
                    # (until a gradient element falls below float32's smallest normal, ~1.2e-38). Not in a traced
                    # step, where branching on the batch size would recompile for each size.
                    return _squared_errors(y_pred, y_true, _MEAN_REDUCTION)
                return errors(y_true, y_pred).mean()
        return super().__call__(y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        if type(self) is LossFunctionWrapper:
            return {**super().get_config(), "fn": serialize_keras_object(self.fn), **self._fn_kwargs}
        return {**super().get_config(), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize_keras_object(config["fn"], module_objects=ALL_OBJECTS,
                                                    printable_module_name="loss function")
        return cls(**config)

    def __getattr__(self, name):
        kwargs = self.__dict__.get("_fn_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _declare(name, fn, default_name, **defaults):
    """A registered ``LossFunctionWrapper`` subclass for ``fn`` with Keras's arguments and defaults:
    ``**defaults`` (in order, positional or keyword), then ``reduction``, ``name``, ``dtype``; e.g.
    ``BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction=..., name=..., dtype=None)``.
    """

    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, dtype=None, **kwargs):
        if len(args) > len(defaults):
            raise TypeError(f"{type(self).__name__} takes at most {len(defaults)} positional arguments "
                            f"({', '.join(defaults)}); received {len(args)}.")
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): {sorted(unknown)}")
        values = {**defaults, **dict(zip(defaults, args)), **kwargs}
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **values)

    cls = type(name, (LossFunctionWrapper,), {"__init__": __init__, "__module__": __name__,
                                              "__doc__": f"Reduces ``{fn.__name__}``: {fn.__doc__}"})
    cls.__qualname__ = name
    return registry.register_builtin(_MODULE)(cls)


# Losses whose per-sample value is the mean over the last axis of an elementwise error (y_true, y_pred): with a
# last axis of size 1 and no weights, LossFunctionWrapper averages the errors in one reduction.
_ELEMENTWISE_ERRORS = {mean_squared_error: _squared_error, mean_absolute_error: _absolute_error}
_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")
_EXACT_SCALING = (torch.float32, torch.float64)  # where a power-of-two scaling of a gradient is exact (no half overflow)

MeanSquaredError = _declare("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _declare("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _declare("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                       "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _declare("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                       "mean_squared_logarithmic_error")
CosineSimilarity = _declare("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)
Huber = _declare("Huber", huber, "huber_loss", delta=1.0)
LogCosh = _declare("LogCosh", log_cosh, "log_cosh")
Hinge = _declare("Hinge", hinge, "hinge")
SquaredHinge = _declare("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _declare("CategoricalHinge", categorical_hinge, "categorical_hinge")
KLDivergence = _declare("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _declare("Poisson", poisson, "poisson")
BinaryCrossentropy = _declare("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                              from_logits=False, label_smoothing=0.0, axis=-1)
BinaryFocalCrossentropy = _declare("BinaryFocalCrossentropy", binary_focal_crossentropy,
                                   "binary_focal_crossentropy", apply_class_balancing=False, alpha=0.25,
                                   gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalCrossentropy = _declare("CategoricalCrossentropy", categorical_crossentropy,
                                   "categorical_crossentropy", from_logits=False, label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = _declare("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                         "sparse_categorical_crossentropy", from_logits=False, ignore_class=None,
                                         axis=-1)

CategoricalFocalCrossentropy = _declare("CategoricalFocalCrossentropy", categorical_focal_crossentropy,
                                        "categorical_focal_crossentropy", alpha=0.25, gamma=2.0, from_logits=False,
                                        label_smoothing=0.0, axis=-1)
Circle = _declare("Circle", circle, "circle", gamma=80.0, margin=0.4, remove_diagonal=True)


@registry.register_builtin(_MODULE)
class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Reduces ``categorical_generalized_cross_entropy``: q in (0, 1); q -> 0 is crossentropy, q = 1 MAE."""

    def __init__(self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy",
                 dtype=None):
        if not 0 < q < 1:
            raise ValueError("q must be in the interval (0, 1)")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)


@registry.register_builtin(_MODULE)
class CTC(LossFunctionWrapper):
    """Reduces ``ctc``: ``y_true`` (batch, max_label_length) labels padded with 0, ``y_pred`` logits."""

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


@registry.register_builtin(_MODULE)
class Dice(LossFunctionWrapper):
    """Reduces ``dice`` (segmentation overlap) summed over ``axis``."""

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)


@registry.register_builtin(_MODULE)
class Tversky(LossFunctionWrapper):
    """Reduces ``tversky``: Dice with ``alpha``/``beta`` weighing false positives and false negatives."""

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None,
                 dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis)


# Short names Keras accepts for the functions (``get("mse")``).
ALIASES = {"mse": mean_squared_error, "MSE": mean_squared_error, "mae": mean_absolute_error,
           "MAE": mean_absolute_error, "mape": mean_absolute_percentage_error,
           "MAPE": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
           "MSLE": mean_squared_logarithmic_error, "kld": kl_divergence, "KLD": kl_divergence,
           "bce": binary_crossentropy, "BCE": binary_crossentropy, "logcosh": log_cosh}
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh

ALL_OBJECTS = {**registry.builtins_of(_MODULE), **ALIASES}


def serialize(loss):
    """A loss function's name, or a ``Loss``'s Keras-form config dict."""
    return serialize_keras_object(loss)


def deserialize(config, custom_objects=None):
    """A loss function or ``Loss`` from a name or a Keras-form config."""
    return deserialize_keras_object(config, module_objects=ALL_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="loss function")


def get(identifier):
    """A loss from None, a name (``"mse"``, ``"categorical_crossentropy"``, ``"Huber"``), a config dict,
    a ``Loss`` class or instance, or a callable. Names of classes give instances, as in Keras."""
    return resolve_identifier(identifier, deserialize, "loss")
