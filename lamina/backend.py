"""``lamina.backend``: Keras 3's ``keras.backend`` plus the Keras 2 backend functions (``from keras import
backend as K``: ``K.mean``, ``K.dot``, ``K.batch_dot``, ``K.int_shape``...) with Keras 2's semantics.

Keras 2's functions are written on ``lamina.ops``, so they take torch tensors, NumPy arrays and symbolic
tensors alike. Where Keras 2 and Keras 3 differ, these follow Keras 2: ``batch_dot``'s default axes and
output rank, ``dot`` on N-D tensors (last axis of x with the second-to-last of y), ``hard_sigmoid`` as
``clip(0.2 x + 0.5, 0, 1)``, ``softmax`` refusing 1-D input, ``concatenate``/``stack`` defaults
(axis -1 / 0), ``repeat(x, n)`` as RepeatVector, ``std``/``var`` biased, ``int_shape`` a tuple with None,
``shape`` a tensor-like tuple, ``variable`` a trainable ``Variable``, ``learning_phase`` from the call
context. ``backend()`` is ``"torch"``.
"""

import builtins

import numpy as np
import torch
import torch.nn.functional as F

from lamina import naming, ops, random as lamina_random
from lamina.config import epsilon, floatx, image_data_format, set_epsilon, set_floatx, set_image_data_format  # noqa
from lamina.dtypes import is_float_dtype, is_int_dtype, result_type, standardize_dtype  # noqa: F401
from lamina.engine import call_context
from lamina.variables import Variable
from lamina.engine.weights import IDENTITY_LAYOUT, WeightSpec
from lamina.models.model import Functional
from lamina.naming import clear_session  # noqa: F401
from lamina.ops import tensors
from lamina.symbolic.keras_tensor import KerasTensor, is_keras_tensor  # noqa: F401


def backend():
    """The name of the backend: ``"torch"``."""
    return "torch"


_uids = {}


def get_uid(prefix=""):
    """1, 2, 3... per ``prefix`` (Keras's ``get_uid``)."""
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def reset_uids():
    _uids.clear()


# ------------------------------------------------------------------------- variables (Keras 2)
def variable(value, dtype=None, name=None, constraint=None):
    """A trainable ``Variable`` (a ``torch.nn.Parameter``) holding ``value`` (floatx by default)."""
    tensor = tensors.to_tensor(value, dtype=dtype or floatx()).detach().clone()
    trainable = tensor.is_floating_point()
    name = name or f"variable_{get_uid('variable')}"
    spec = WeightSpec(tuple(tensor.shape), IDENTITY_LAYOUT, trainable, None, constraint)
    return Variable(tensor, requires_grad=trainable)._bind(spec, name, name)


def constant(value, dtype=None, shape=None, name=None):
    """A tensor of ``value`` (broadcast to ``shape`` when given)."""
    tensor = tensors.to_tensor(value, dtype=dtype or floatx())
    return tensor.broadcast_to(shape).clone() if shape is not None else tensor


def is_variable(x):
    return isinstance(x, torch.nn.Parameter)


def get_value(x):
    """``x`` as a NumPy array."""
    return ops.convert_to_numpy(x)


def batch_get_value(tensors_):
    return [get_value(x) for x in tensors_]


def set_value(x, value):
    """Writes ``value`` into the variable ``x``, in place."""
    with torch.no_grad():
        x.copy_(tensors.to_tensor(value, dtype=x.dtype, device=x.device))


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


eval = get_value  # noqa: A001  (Keras 2's name)


def update(x, new_x):
    set_value(x, new_x)
    return x


def update_add(x, increment):
    set_value(x, x + tensors.to_tensor(increment, device=x.device))
    return x


def update_sub(x, decrement):
    set_value(x, x - tensors.to_tensor(decrement, device=x.device))
    return x


def moving_average_update(x, value, momentum):
    """``x = x * momentum + value * (1 - momentum)``, in place."""
    return update_sub(x, (x - tensors.to_tensor(value, dtype=x.dtype, device=x.device)) * (1 - momentum))


def count_params(x):
    return int(np.prod(int_shape(x)))


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None):
    """A symbolic tensor of ``shape`` (batch included; None for unknown sizes), as ``lamina.Input``."""
    if shape is None:
        shape = (None,) * (ndim or 0)
    return KerasTensor(tuple(shape), dtype=standardize_dtype(dtype), sparse=sparse, name=name)


def cast_to_floatx(x):
    """``x`` as floatx: a tensor for a tensor, a NumPy array otherwise."""
    if isinstance(x, torch.Tensor):
        return x.to(tensors.floatx())
    return np.asarray(x, dtype=floatx())


def to_dense(x):
    return x.to_dense() if isinstance(x, torch.Tensor) and x.is_sparse else x


def is_sparse(x):
    return isinstance(x, torch.Tensor) and x.is_sparse


# ------------------------------------------------------------------------------ shapes
def int_shape(x):
    """The shape of ``x`` as a tuple of ints (None for unknown sizes)."""
    return tuple(x.shape) if isinstance(x, KerasTensor) else tuple(int(d) for d in np.shape(x)) \
        if not isinstance(x, torch.Tensor) else tuple(x.shape)


def shape(x):
    """The shape of ``x`` (a tuple of ints, with None where a symbolic dimension is unknown)."""
    return int_shape(x)


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    return standardize_dtype(x.dtype)


def cast(x, dtype):  # noqa: A002  (dtype shadows the function above, as in Keras 2)
    return ops.cast(x, dtype)


# ------------------------------------------------------------------------------- creation
def zeros(shape, dtype=None, name=None):
    return ops.zeros(shape, dtype=dtype or floatx())


def ones(shape, dtype=None, name=None):
    return ops.ones(shape, dtype=dtype or floatx())


def eye(size, dtype=None, name=None):
    if isinstance(size, (list, tuple)):
        return ops.eye(size[0], size[1], dtype=dtype or floatx())
    return ops.eye(size, dtype=dtype or floatx())


def zeros_like(x, dtype=None, name=None):
    return ops.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None, name=None):
    return ops.ones_like(x, dtype=dtype)


def arange(start, stop=None, step=1, dtype="int32"):
    """Keras 2's ``arange``: int32 by default; a negative ``stop`` alone gives an empty range."""
    if stop is None and start < 0:
        start = 0
    return ops.arange(start, stop, step, dtype=dtype)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return lamina_random.normal(shape, mean, stddev, dtype=dtype, seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return lamina_random.uniform(shape, minval, maxval, dtype=dtype, seed=seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return lamina_random.truncated_normal(shape, mean, stddev, dtype=dtype, seed=seed)


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    """1 with probability ``p``, else 0."""
    return ops.cast(lamina_random.uniform(shape, dtype=dtype, seed=seed) <= p, dtype or floatx())


random_binomial = random_bernoulli


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    return variable(random_normal(shape, mean, scale, dtype=dtype, seed=seed), dtype=dtype, name=name)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    return variable(random_uniform(shape, low, high, dtype=dtype, seed=seed), dtype=dtype, name=name)


# -------------------------------------------------------------------------- reductions
def _bool_as_float(x):
    x = x if isinstance(x, (torch.Tensor, KerasTensor)) else tensors.to_tensor(x)
    return ops.cast(x, floatx()) if x.dtype in (torch.bool, "bool") else x


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return ops.sum(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    return ops.prod(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return ops.mean(_bool_as_float(x), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return ops.max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return ops.min(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return ops.var(_bool_as_float(x), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return ops.std(_bool_as_float(x), axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    return ops.any(x, axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return ops.all(x, axis=axis, keepdims=keepdims)


def argmax(x, axis=-1):
    return ops.argmax(x, axis=axis)


def argmin(x, axis=-1):
    return ops.argmin(x, axis=axis)


def cumsum(x, axis=0):
    return ops.cumsum(x, axis=axis)


def cumprod(x, axis=0):
    return ops.cumprod(x, axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    return ops.logsumexp(x, axis=axis, keepdims=keepdims)


# -------------------------------------------------------------------------- element-wise
square, abs, sqrt, exp, log, sign, sin, cos, tanh, sigmoid, softplus, softsign = (  # noqa: A001
    ops.square, ops.abs, ops.sqrt, ops.exp, ops.log, ops.sign, ops.sin, ops.cos, ops.tanh, ops.sigmoid,
    ops.softplus, ops.softsign)
equal, not_equal, greater, greater_equal, less, less_equal, maximum, minimum = (
    ops.equal, ops.not_equal, ops.greater, ops.greater_equal, ops.less, ops.less_equal, ops.maximum, ops.minimum)


def round(x):  # noqa: A001
    return ops.round(x)


def pow(x, a):  # noqa: A001
    return ops.power(x, a)


def clip(x, min_value, max_value):
    """``x`` clipped to [min_value, max_value] (a max below the min is raised to it, as Keras 2)."""
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) and max_value < min_value:
        max_value = min_value
    if min_value is None:
        min_value = -np.inf
    if max_value is None:
        max_value = np.inf
    return ops.clip(x, min_value, max_value)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Keras 2's relu: ``alpha`` below ``threshold``, capped at ``max_value``."""
    x = tensors.to_tensor(x)
    negative = F.relu(threshold - x) if alpha else None
    out = x * (x > threshold).to(x.dtype) if threshold else F.relu(x)
    if max_value is not None:
        out = torch.clamp(out, 0, max_value)
    return out - alpha * negative if alpha else out


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def hard_sigmoid(x):
    """Keras 2's hard sigmoid: ``clip(0.2 x + 0.5, 0, 1)``."""
    return ops.clip(ops.add(ops.multiply(x, 0.2), 0.5), 0.0, 1.0)


def softmax(x, axis=-1):
    if len(int_shape(x)) <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: shape {int_shape(x)}")
    return ops.softmax(x, axis=axis)


def l2_normalize(x, axis=None):
    """``x / sqrt(max(sum(x**2), 1e-12))`` over ``axis`` (every axis for None), as ``tf.math.l2_normalize``."""
    squared = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.rsqrt(ops.maximum(squared, 1e-12)))


def dropout(x, level, noise_shape=None, seed=None):
    return lamina_random.dropout(x, level, noise_shape=noise_shape, seed=seed)


def stop_gradient(variables):
    if isinstance(variables, (list, tuple)):
        return [ops.stop_gradient(v) for v in variables]
    return ops.stop_gradient(variables)


# ---------------------------------------------------------------------------- products
def dot(x, y):
    """Keras 2's dot: matrix product, and for N-D the last axis of ``x`` with the second-to-last of ``y``
    (shape ``x.shape[:-1] + y.shape[:-2] + y.shape[-1:]``)."""
    return ops.dot(x, y)


def batch_dot(x, y, axes=None):
    """Per-sample dot products of ``x`` ``(batch, ...)`` and ``y`` ``(batch, ...)`` over ``axes`` (default:
    the last axis of ``x`` with the last of a 2-D ``y`` or the second-to-last of a higher one); the result
    has ``x.ndim + y.ndim - 2`` axes, at least 2 (Keras 2's rule)."""
    x, y = tensors.to_tensor(x), tensors.to_tensor(y)
    x_ndim, y_ndim = x.ndim, y.ndim
    if x_ndim < 2 or y_ndim < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}.")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"Cannot do batch_dot on inputs with different batch sizes. Received inputs with shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}.")
    if isinstance(axes, int):
        axes = [axes, axes]
    if axes is None:
        axes = [x_ndim - 1, y_ndim - 1] if y_ndim == 2 else [x_ndim - 1, y_ndim - 2]
    if builtins.any(isinstance(a, (list, tuple)) for a in axes):
        raise ValueError(f"Multiple target dimensions are not supported. Expected: None, int, (int, int). "
                         f"Provided: {axes}")
    a0, a1 = (a + n if a < 0 else a for a, n in zip(axes, (x_ndim, y_ndim)))
    if 0 in (a0, a1):
        raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy "
                         "batch dimension with K.expand_dims(x, 0).")
    if x.shape[a0] != y.shape[a1]:
        raise ValueError(f"Cannot do batch_dot on inputs with shapes {tuple(x.shape)} and {tuple(y.shape)} with "
                         f"axes={list(axes)}. x.shape[{a0}] != y.shape[{a1}] ({x.shape[a0]} != {y.shape[a1]}).")
    x_moved, y_moved = x.movedim(a0, -1), y.movedim(a1, 1)
    x_mid, y_trail = x_moved.shape[1:-1], y_moved.shape[2:]
    batch, depth = x.shape[0], x.shape[a0]
    result = torch.bmm(x_moved.reshape(batch, -1, depth), y_moved.reshape(batch, depth, -1))
    result = result.reshape((batch,) + tuple(x_mid) + tuple(y_trail))
    return result.unsqueeze(-1) if x_ndim == 2 and y_ndim == 2 else result


# ------------------------------------------------------------------------ manipulation
def reshape(x, shape):
    return ops.reshape(x, shape)


def permute_dimensions(x, pattern):
    return ops.transpose(x, pattern)


def transpose(x):
    return ops.transpose(x)


def expand_dims(x, axis=-1):
    return ops.expand_dims(x, axis)


def squeeze(x, axis):
    return ops.squeeze(x, axis)


def flatten(x):
    return ops.reshape(x, (-1,))


def batch_flatten(x):
    """``(batch, ...)`` to ``(batch, prod(...))``."""
    return ops.reshape(x, (-1, int(np.prod(int_shape(x)[1:]))))


def concatenate(tensors_, axis=-1):
    return ops.concatenate(list(tensors_), axis=axis)


def stack(x, axis=0):
    return ops.stack(list(x), axis=axis)


def tile(x, n):
    return ops.tile(x, [n] if isinstance(n, int) else n)


def repeat(x, n):
    """``(batch, dim)`` to ``(batch, n, dim)``: each sample repeated ``n`` times (RepeatVector)."""
    if ndim(x) != 2:
        raise ValueError(f"K.repeat expects a 2-D tensor. Received: shape {int_shape(x)}")
    return ops.repeat(ops.expand_dims(x, 1), n, axis=1)


def repeat_elements(x, rep, axis):
    """Each slice along ``axis`` repeated ``rep`` times (as ``np.repeat``)."""
    return ops.repeat(x, rep, axis=axis)


def reverse(x, axes):
    return ops.flip(x, axis=axes)


def gather(reference, indices):
    """Rows of ``reference`` at ``indices`` (along axis 0)."""
    return ops.take(reference, indices, axis=0)


def one_hot(indices, num_classes):
    return ops.one_hot(indices, num_classes)


def temporal_padding(x, padding=(1, 1)):
    """Zero-pads the time axis (1) of ``(batch, time, features)``."""
    return ops.pad(x, [[0, 0], list(padding), [0, 0]])


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zero-pads the two spatial axes of a 4-D tensor."""
    data_format = data_format or image_data_format()
    rows, cols = (list(p) for p in padding)
    pattern = [[0, 0], [0, 0], rows, cols] if data_format == "channels_first" else [[0, 0], rows, cols, [0, 0]]
    return ops.pad(x, pattern)


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    """Zero-pads the three spatial axes of a 5-D tensor."""
    data_format = data_format or image_data_format()
    pairs = [list(p) for p in padding]
    pattern = [[0, 0], [0, 0], *pairs] if data_format == "channels_first" else [[0, 0], *pairs, [0, 0]]
    return ops.pad(x, pattern)


def resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """Images scaled by integer factors (``data_format`` required, as Keras 2)."""
    rows = 1 if data_format == "channels_last" else 2
    size = (int_shape(x)[rows] * height_factor, int_shape(x)[rows + 1] * width_factor)
    return ops.image.resize(x, size, interpolation=interpolation, data_format=data_format)


def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """Volumes scaled by integer factors by repeating elements."""
    first = 1 if data_format == "channels_last" else 2
    for axis, factor in zip(range(first, first + 3), (depth_factor, height_factor, width_factor)):
        x = repeat_elements(x, factor, axis)
    return x


def bias_add(x, bias, data_format=None):
    """``x + bias`` with ``bias`` along the channel axis (``data_format``)."""
    data_format = data_format or image_data_format()
    bias_shape = int_shape(bias)
    if len(bias_shape) not in (1, ndim(x) - 1):
        raise ValueError(f"Unexpected bias dimensions {len(bias_shape)}, expect to be 1 or {ndim(x) - 1} dimensions")
    if data_format == "channels_first" and ndim(x) > 2:
        if len(bias_shape) == 1:
            return ops.add(x, ops.reshape(bias, (1, bias_shape[0]) + (1,) * (ndim(x) - 2)))
        return ops.add(x, ops.reshape(bias, (1, bias_shape[-1]) + bias_shape[:-1]))
    return ops.add(x, bias)


# ------------------------------------------------------------------------- control flow
def switch(condition, then_expression, else_expression):
    """``then_expression`` where ``condition`` holds, else ``else_expression`` (callables are called;
    a scalar condition picks one whole branch)."""
    then_value = then_expression() if callable(then_expression) else then_expression
    else_value = else_expression() if callable(else_expression) else else_expression
    condition = tensors.to_tensor(condition, dtype=torch.bool)
    if condition.ndim == 0:
        return then_value if bool(condition) else else_value
    then_value = tensors.to_tensor(then_value)
    while condition.ndim < then_value.ndim:
        condition = condition.unsqueeze(-1)
    return torch.where(condition, then_value, tensors.to_tensor(else_value, device=then_value.device))


def learning_phase():
    """1 inside a training call (``training=True`` or ``model.train()`` in effect), else 0."""
    context = call_context.current()
    return int(bool(context is not None and context.training))


def set_learning_phase(value):
    raise NotImplementedError("set_learning_phase: lamina has no global learning phase. Pass training=True to "
                              "the call, or use model.train() / model.eval().")


def in_train_phase(x, alt, training=None):
    """``x`` in training, ``alt`` otherwise (callables are called)."""
    training = learning_phase() if training is None else training
    chosen = x if training in (1, True) else alt
    return chosen() if callable(chosen) else chosen


def in_test_phase(x, alt, training=None):
    return in_train_phase(alt, x, training=training)


def map_fn(fn, elems, name=None, dtype=None):
    return ops.map(fn, elems)


def foldl(fn, elems, initializer=None, name=None):
    """``fn(accumulator, x)`` over the leading axis of ``elems``, left to right."""
    elems = tensors.to_tensor(elems)
    accumulator, items = (elems[0], elems[1:]) if initializer is None else (initializer, elems)
    for item in items:
        accumulator = fn(accumulator, item)
    return accumulator


def foldr(fn, elems, initializer=None, name=None):
    """``fn(accumulator, x)`` over the leading axis of ``elems``, right to left."""
    return foldl(fn, torch.flip(tensors.to_tensor(elems), (0,)), initializer)


def print_tensor(x, message="", summarize=3):
    print(message, x)
    return x


def gradients(loss, variables):
    """The gradients of the scalar ``loss`` with respect to ``variables`` (None where unconnected)."""
    return list(torch.autograd.grad(loss, list(variables), retain_graph=True, allow_unused=True))


class _Function:
    """``K.function(inputs, outputs)``: the values of ``outputs`` for given ``inputs`` (a model of them)."""

    def __init__(self, inputs, outputs, name=None):
        self._model = Functional(inputs, outputs, name=name)
        self._single = not isinstance(outputs, (list, tuple))

    def __call__(self, inputs):
        with torch.no_grad():
            results = self._model(inputs if not isinstance(inputs, (list, tuple)) or len(inputs) != 1 else inputs[0])
        results = [results] if self._single else list(results)
        return [ops.convert_to_numpy(r) for r in results]


def function(inputs, outputs, updates=None, name=None, **kwargs):
    return _Function(inputs, outputs, name=name)


# -------------------------------------------------------------------------------- losses
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return ops.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, ignore_class=None):
    loss = ops.sparse_categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)
    if ignore_class is not None:
        target = tensors.to_tensor(target).reshape(loss.shape)
        loss = torch.where(target == ignore_class, 0.0, loss)
    return loss


def binary_crossentropy(target, output, from_logits=False):
    return ops.binary_crossentropy(target, output, from_logits=from_logits)


def binary_focal_crossentropy(target, output, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False):
    """Element-wise binary focal cross-entropy (Lin et al.)."""
    target, output = tensors.to_tensor(target), tensors.to_tensor(output)
    if from_logits:
        output = torch.sigmoid(output)
    target = target.to(output.dtype)
    p_t = target * output + (1 - target) * (1 - output)
    focal = (1 - p_t) ** gamma * binary_crossentropy(target, output)
    if apply_class_balancing:
        focal = (target * alpha + (1 - target) * (1 - alpha)) * focal
    return focal


def categorical_focal_crossentropy(target, output, alpha=0.25, gamma=2.0, from_logits=False, axis=-1):
    """Categorical focal cross-entropy (Lin et al.)."""
    target, output = tensors.to_tensor(target), tensors.to_tensor(output)
    if from_logits:
        output = torch.softmax(output, dim=axis)
    output = output / output.sum(dim=axis, keepdim=True)
    output = torch.clamp(output, epsilon(), 1.0 - epsilon())
    return torch.sum(alpha * (1 - output) ** gamma * -target * torch.log(output), dim=axis)


def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """Keras 2's CTC loss on softmax outputs ``y_pred`` ``(batch, time, classes)`` (blank = last class):
    ``(batch, 1)``."""
    y_pred = tensors.to_tensor(y_pred)
    log_probs = torch.log(y_pred.transpose(0, 1) + epsilon())
    loss = F.ctc_loss(log_probs, tensors.to_tensor(y_true).long(), tensors.to_tensor(input_length).reshape(-1).long(),
                      tensors.to_tensor(label_length).reshape(-1).long(), blank=y_pred.shape[-1] - 1,
                      reduction="none")
    return loss.unsqueeze(1)


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Keras 2's CTC decoding of softmax outputs (blank = last class): (list of decoded ``(batch, time)``
    tensors padded with -1, log probabilities ``(batch, top_paths)``)."""
    y_pred = tensors.to_tensor(y_pred)
    logits = torch.log(y_pred + epsilon())
    paths, scores = ops.ctc_decode(logits, tensors.to_tensor(input_length).reshape(-1),
                                   strategy="greedy" if greedy else "beam_search", beam_width=beam_width,
                                   top_paths=top_paths, mask_index=y_pred.shape[-1] - 1)
    return [paths[k] for k in range(paths.shape[0])], scores


# ---------------------------------------------------------------------- normalization
def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """(normalized x, mean, variance) with the batch statistics over ``reduction_axes``."""
    mean_, variance = ops.moments(x, list(reduction_axes), keepdims=True)
    normalized = (tensors.to_tensor(x) - mean_) * torch.rsqrt(variance + epsilon)
    if gamma is not None:
        normalized = normalized * _broadcast_like(gamma, mean_)
    if beta is not None:
        normalized = normalized + _broadcast_like(beta, mean_)
    return normalized, mean_.squeeze(), variance.squeeze()


def _broadcast_like(value, reference):
    return tensors.to_tensor(value).reshape(reference.shape)


def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` (Keras 2's argument order)."""
    x = tensors.to_tensor(x)
    out = (x - tensors.to_tensor(mean)) * torch.rsqrt(tensors.to_tensor(var) + epsilon)
    if gamma is not None:
        out = out * tensors.to_tensor(gamma)
    return out + tensors.to_tensor(beta) if beta is not None else out


def in_top_k(predictions, targets, k):
    return ops.in_top_k(targets, predictions, k)


# ------------------------------------------------------------------------ convolutions
def _conv(x, kernel, strides, padding, data_format, dilation_rate):
    return ops.conv(x, kernel, strides, padding, data_format or image_data_format(), dilation_rate)


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D convolution; ``kernel`` ``(width, in, out)``; "causal" pads the left."""
    if padding == "causal":
        left = dilation_rate * (int_shape(kernel)[0] - 1)
        x = temporal_padding(x, (left, 0)) if (data_format or "channels_last") == "channels_last" else \
            ops.pad(x, [[0, 0], [0, 0], [left, 0]])
        padding = "valid"
    return _conv(x, kernel, strides, padding, data_format, dilation_rate)


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """2-D convolution; ``kernel`` ``(height, width, in, out)``."""
    return _conv(x, kernel, strides, padding, data_format, dilation_rate)


def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format=None, dilation_rate=(1, 1, 1)):
    """3-D convolution; ``kernel`` ``(depth, height, width, in, out)``."""
    return _conv(x, kernel, strides, padding, data_format, dilation_rate)


def conv2d_transpose(x, kernel, output_shape, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """Transposed 2-D convolution to ``output_shape``; ``kernel`` ``(height, width, out, in)``."""
    data_format = data_format or image_data_format()
    result = ops.conv_transpose(x, kernel, strides, padding, None, data_format, dilation_rate)
    rows = 1 if data_format == "channels_last" else 2
    target = tuple(output_shape)[rows:rows + 2]
    if tuple(result.shape[rows:rows + 2]) != target:
        extra = [t - r for t, r in zip(target, result.shape[rows:rows + 2])]
        result = ops.conv_transpose(x, kernel, strides, padding, extra, data_format, dilation_rate)
    return result


def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    return ops.depthwise_conv(x, depthwise_kernel, strides, padding, data_format or image_data_format(),
                              dilation_rate)


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    return ops.separable_conv(x, depthwise_kernel, pointwise_kernel, strides, padding,
                              data_format or image_data_format(), dilation_rate)


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """2-D max or average pooling (``pool_mode`` "max" or "avg"; strides default to 1, as Keras 2)."""
    return _pool(x, pool_size, strides, padding, data_format, pool_mode)


def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None, pool_mode="max"):
    """3-D max or average pooling."""
    return _pool(x, pool_size, strides, padding, data_format, pool_mode)


def _pool(x, pool_size, strides, padding, data_format, pool_mode):
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"Invalid pooling mode: {pool_mode!r}. Expected 'max' or 'avg'.")
    pool = ops.max_pool if pool_mode == "max" else ops.average_pool
    return pool(x, pool_size, strides, padding, data_format or image_data_format())


def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    """Locally connected 1-D: a separate kernel per output step. ``kernel``: ``(steps, k * in, out)``."""
    return local_conv(inputs, kernel, (kernel_size,) if isinstance(kernel_size, int) else kernel_size,
                      (strides,) if isinstance(strides, int) else strides, None, data_format)


def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """Locally connected 2-D. ``kernel``: ``(rows * cols, kh * kw * in, out)``."""
    return local_conv(inputs, kernel, kernel_size, strides, output_shape, data_format)


def local_conv(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """Keras 2's ``local_conv``: each output position has its own kernel."""
    data_format = data_format or image_data_format()
    x = tensors.to_tensor(inputs)
    if data_format == "channels_first":
        x = x.movedim(1, -1)
    kernel = tensors.to_tensor(kernel)
    rank = len(kernel_size)
    patches = x
    for axis in range(rank):
        patches = patches.unfold(1 + axis, kernel_size[axis], strides[axis])
    # (batch, *out, in, *k) -> (batch, positions, *k, in), flattened as Keras 2 orders the kernel rows
    positions = patches.shape[1:1 + rank]
    order = [0, *range(1, 1 + rank), *range(2 + rank, 2 + 2 * rank), 1 + rank]
    patches = patches.permute(order).reshape(x.shape[0], int(np.prod(positions)), -1)
    out = torch.einsum("bpi,pio->bpo", patches, kernel).reshape(x.shape[0], *positions, kernel.shape[-1])
    return out.movedim(-1, 1) if data_format == "channels_first" else out


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None, unroll=False,
        input_length=None, time_major=False, zero_output_for_mask=False, return_all_outputs=True):
    """Keras 2's ``rnn``: iterates ``step_function(input_t, states) -> (output_t, new_states)`` over time.

    Returns (last_output, outputs ``(batch, time, ...)``, new_states). With ``mask`` ``(batch, time)``,
    masked steps keep the previous states and output (zeros with ``zero_output_for_mask``)."""
    inputs = tensors.to_tensor(inputs)
    if not time_major:
        inputs = inputs.transpose(0, 1)
    steps = inputs.shape[0]
    if mask is not None:
        mask = tensors.to_tensor(mask, dtype=torch.bool, device=inputs.device)
        mask = mask.transpose(0, 1) if not time_major else mask
    states = list(initial_states)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs, last_output = [], None
    for t in order:
        args = (inputs[t], states + list(constants)) if constants else (inputs[t], states)
        output, new_states = step_function(*args)
        new_states = list(new_states)
        if mask is not None:
            keep = mask[t]
            expand = lambda v: keep.reshape((-1,) + (1,) * (v.ndim - 1))  # noqa: E731
            previous = last_output if last_output is not None else torch.zeros_like(output)
            new_states = [torch.where(expand(n), n, s) for n, s in zip(new_states, states)]
            output = torch.where(expand(output), output, torch.zeros_like(output) if zero_output_for_mask
                                 else previous)
        states = new_states
        last_output = output
        outputs.append(output)
    stacked = torch.stack(outputs if return_all_outputs else outputs[-1:])
    if not time_major:
        stacked = stacked.transpose(0, 1)
    return last_output, stacked, states


def name_scope(name):
    return naming.name_scope(name)


def manual_variable_initialization(value):
    """Keras 2's switch for TF1 sessions: nothing to do (variables are initialized on creation)."""


def learning_phase_scope(value):
    raise NotImplementedError("learning_phase_scope: pass training= to the call, or use model.train()/eval().")

