"""IntegerLookup: integer tokens to contiguous ids (and back), as tensor lookups on the input's device."""

import numpy as np
import torch

from lamina.layers.preprocessing.hashing import hash_to_bins
from lamina.layers.preprocessing.index_lookup import IndexLookup
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class IntegerLookup(IndexLookup):
    """Maps integers to ids: mask (if ``mask_token``), then OOV ids, then the vocabulary.

    Args:
        max_tokens, num_oov_indices, vocabulary, idf_weights, invert, output_mode, pad_to_max_tokens,
        salt: as ``StringLookup``.
        mask_token: an integer mapped to id 0 (e.g. 0 for padding).
        oov_token: the integer an inverted lookup gives for OOV ids (default -1).
        vocabulary_dtype: "int64" (the only one, as in Keras).
        oov_method: how an unknown integer picks one of several OOV ids: ``"floormod"`` (its value modulo
            ``num_oov_indices``) or ``"farmhash"`` (the hash of its decimal text, keyed by ``salt``).

    Input: integer tensors or arrays, any shape. Output: int64 ids of the same shape, on the input's
    device, or encoded vectors (see ``CategoryEncoding``).

    >>> IntegerLookup(vocabulary=[12, 36, 1138, 42])(torch.tensor([[12, 1138, 42], [42, 1000, 36]]))
    tensor([[1, 3, 4], [4, 0, 2]])
    """

    _vocabulary_dtype = "int64"
    input_dtype_default = "int64"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError("IntegerLookup: only vocabulary_dtype='int64' is supported. Received: "
                             f"vocabulary_dtype={vocabulary_dtype!r}")
        if salt is not None and oov_method != "farmhash":
            raise ValueError(f"IntegerLookup: `salt` can only be used with oov_method='farmhash'. Received: "
                             f"oov_method={oov_method!r}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, name=name, **kwargs)

    def _tokens_of(self, values):
        return [int(value) for value in values]

    def _input_array(self, data):
        array = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
        if array.dtype.kind not in "iuf" and not (array.dtype == object and array.size == 0):
            raise TypeError(f"IntegerLookup '{self.name}': expected integers, received an array of dtype "
                            f"{array.dtype}.")
        return array.astype(np.int64)

    def _set_table(self):
        device = self._device_anchor.device
        keys = torch.tensor(self._tokens, dtype=torch.int64)
        order = torch.argsort(keys)
        ids = torch.arange(len(self._tokens), dtype=torch.int64) + self._token_start_index()
        self.register_buffer("_sorted_keys", keys[order].to(device), persistent=False)
        self.register_buffer("_sorted_ids", ids[order].to(device), persistent=False)
        default = -1 if self.oov_token is None else int(self.oov_token)
        vocabulary = [default if token is None else token for token in self.get_vocabulary()]
        self.register_buffer("_vocabulary_tensor", torch.tensor(vocabulary, dtype=torch.int64).to(device),
                             persistent=False)

    def _as_tensor(self, inputs):
        if isinstance(inputs, torch.Tensor):
            return inputs if inputs.dtype is torch.int64 else inputs.to(torch.int64)
        return torch.from_numpy(self._input_array(inputs)).to(self._device_anchor.device)

    def _lookup(self, inputs):
        values = self._as_tensor(inputs)
        keys = self._sorted_keys.to(values.device)
        if keys.numel():
            position = torch.searchsorted(keys, values).clamp_(max=keys.numel() - 1)
            found = keys[position] == values
            ids = torch.where(found, self._sorted_ids.to(values.device)[position], -1)
        else:
            ids = torch.full_like(values, -1)
        masked = values == int(self.mask_token) if self.mask_token is not None else None
        return ids, masked, values

    def _missing_tokens(self, values, missing):
        return values[missing].tolist()

    def _oov_ids(self, values, missing):
        if self.oov_method == "floormod":
            return torch.remainder(values, self.num_oov_indices)
        bins = hash_to_bins(values.cpu().numpy(), self.num_oov_indices, self.salt)
        return torch.from_numpy(bins).to(values.device)

    def _invert(self, inputs):
        ids = self._as_tensor(inputs)
        table = self._vocabulary_tensor.to(ids.device)
        inside = (ids >= 0) & (ids < table.numel())
        default = -1 if self.oov_token is None else int(self.oov_token)
        return torch.where(inside, table[ids.clamp(0, max(table.numel() - 1, 0))], default)

    def get_config(self):
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
