"""Array helpers from ``keras.utils``: one-hot encoding and normalization."""

import numpy as np
import torch
import torch.nn.functional as F

from lamina import config
from lamina.ops.arguments import is_int


def to_categorical(x, num_classes=None):
    """One-hot encodes class indices: shape ``(..., num_classes)``, float32.

    A trailing axis of size 1 is dropped first, so ``(n, 1)`` labels give
    ``(n, num_classes)``. ``num_classes`` defaults to ``max(x) + 1``. A torch
    tensor gives a torch tensor, anything else a NumPy array.

    >>> to_categorical([0, 2])
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    is_tensor = isinstance(x, torch.Tensor)
    values = x.detach().cpu().numpy() if is_tensor else np.asarray(x)
    indices = values.astype("int64")
    if not np.array_equal(indices, values):
        raise ValueError(f"to_categorical: x must hold integer class indices. Received: x={x!r}")
    if indices.ndim > 1 and indices.shape[-1] == 1:
        indices = indices.reshape(indices.shape[:-1])
    if not num_classes:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"to_categorical: class indices must be in [0, {num_classes}). "
                         f"Received: indices from {indices.min()} to {indices.max()}, num_classes={num_classes}")
    categorical = np.eye(num_classes, dtype="float32")[indices]
    return torch.from_numpy(categorical).to(x.device) if is_tensor else categorical


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms leave ``x`` unchanged).

    NumPy in gives NumPy out, as Keras (a 1-D array comes back with a leading
    axis of 1). A torch tensor gives a torch tensor, with norms floored at
    ``config.epsilon()``; ``order`` must then be an int >= 1.
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        return x / (norm if axis is None else np.expand_dims(norm, axis))
    if not is_int(order) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1 for tensors. Received: order={order!r}")
    x = torch.as_tensor(x)
    if x.ndim == 0:
        x = x.reshape(1)
    dim = tuple(range(x.ndim)) if axis is None else axis
    return F.normalize(x, p=order, dim=dim, eps=config.epsilon())
