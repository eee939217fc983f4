"""Category ids to one-hot, multi-hot, count and TF-IDF vectors: the output modes every id layer shares.

Ids outside ``[0, depth)`` contribute nothing (the lookups give masked values such an id on purpose,
as Keras's ``bincount`` drops them); ``CategoryEncoding`` checks its inputs before encoding.
"""

import torch

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def check_output_mode(value, owner, allowed=OUTPUT_MODES):
    """``value`` with Keras's aliases resolved ("binary" -> "multi_hot", "tf-idf" -> "tf_idf"), checked."""
    if not isinstance(value, str):
        raise TypeError(f"{owner}: the `output_mode` argument must be a string, one of {allowed}. Received: "
                        f"output_mode={value!r} of type {type(value).__name__}")
    value = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(value, value)
    if value not in allowed:
        raise ValueError(f"{owner}: the `output_mode` argument must be one of {allowed}. Received: "
                         f"output_mode={value!r}")
    return value


def check_not_sparse(sparse, owner):
    if sparse:
        raise ValueError(f"{owner}: `sparse=True` is not supported: lamina returns dense torch tensors "
                         "(Keras supports sparse outputs on its TensorFlow backend only).")


def encoded_shape(input_shape, output_mode, depth):
    """The output shape of ``encode`` for ids of ``input_shape`` (Keras's rule)."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)


def encode(ids, output_mode, depth, dtype, count_weights=None, idf_weights=None):
    """Encodes integer ``ids`` (a tensor) as ``output_mode`` vectors of size ``depth`` on the last axis.

    ``one_hot`` encodes each id (a trailing axis of size 1 is replaced); ``multi_hot`` and ``count``
    (and ``tf_idf``: counts times ``idf_weights``) reduce the last axis, the sample's ids.
    """
    if output_mode == "int":
        return ids.to(dtype)
    if ids.dim() == 0 and output_mode != "one_hot":
        ids = ids.reshape(1)  # a scalar is one sample of one id
    valid = (ids >= 0) & (ids < depth)
    clamped = ids.clamp(0, depth - 1)
    if output_mode == "one_hot":
        if ids.dim() > 1 and ids.shape[-1] == 1:
            clamped, valid = clamped.squeeze(-1), valid.squeeze(-1)
        out = torch.zeros(clamped.shape + (depth,), dtype=dtype, device=ids.device)
        return out.scatter_(-1, clamped.unsqueeze(-1), valid.unsqueeze(-1).to(dtype))
    out = torch.zeros(clamped.shape[:-1] + (depth,), dtype=dtype, device=ids.device)
    if output_mode == "multi_hot":
        return out.scatter_reduce_(-1, clamped, valid.to(dtype), reduce="amax")
    weights = valid.to(dtype) if count_weights is None else count_weights.to(dtype) * valid
    out = out.scatter_add_(-1, clamped, weights)
    return out if idf_weights is None else out * idf_weights.to(dtype)
