"""StringLookup: strings to integer ids (and back) by a vocabulary given or adapted."""

import itertools

import numpy as np
import torch

from lamina.dtypes import STRING
from lamina.layers.preprocessing.base import to_string_array
from lamina.layers.preprocessing.hash_functions import fingerprint64, siphash
from lamina.layers.preprocessing.index_lookup import IndexLookup
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class StringLookup(IndexLookup):
    """Maps strings to ids: mask (if ``mask_token``), then OOV ids, then the vocabulary.

    Args:
        max_tokens: the largest vocabulary ``adapt`` keeps (mask and OOV ids included).
        num_oov_indices: OOV ids; with more than one, an unknown string's id is its FarmHash (SipHash
            with ``salt``) modulo ``num_oov_indices``, as in Keras. With 0, unknown strings raise.
        mask_token: a string mapped to id 0 (dropped in the non-int output modes).
        oov_token: the string an inverted lookup gives for OOV ids (default "[UNK]").
        vocabulary: a list/array of strings, or the path of a text file with one per line.
        idf_weights: the idf weight of each vocabulary entry (``output_mode="tf_idf"`` with a vocabulary).
        invert: map ids back to strings (NumPy ``str`` arrays out).
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"`` (float vectors
            of ``vocabulary_size()`` ids, or ``max_tokens`` with ``pad_to_max_tokens``).
        encoding: the encoding of ``bytes`` inputs.
        salt: an int or two ints: key the OOV hash (SipHash).

    Input: strings (NumPy ``str``/``bytes``/``object`` arrays, lists), any shape. Output: int64 ids of the
    same shape (on the layer's device), or encoded vectors (see ``CategoryEncoding``).

    >>> StringLookup(vocabulary=["a", "b", "c", "d"])(np.array([["a", "c", "d"], ["d", "z", "b"]]))
    tensor([[1, 3, 4], [4, 0, 2]])
    """

    _vocabulary_dtype = STRING
    input_dtype_default = STRING

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        self.encoding = encoding  # read while the base sets the vocabulary
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, salt=salt,
                         name=name, **kwargs)

    def _tokens_of(self, values):
        return [value.decode(self.encoding) if isinstance(value, bytes) else str(value) for value in values]

    def _input_array(self, data):
        return to_string_array(data, f"StringLookup '{self.name}'", self.encoding)

    def _set_table(self):
        start = self._token_start_index()
        self._token_ids = {token: start + index for index, token in enumerate(self._tokens)}
        self._vocabulary_array = np.array(self.get_vocabulary(), dtype=str) if self.invert else None

    def _lookup(self, inputs):
        array = self._input_array(inputs)
        ids = np.fromiter(map(self._token_ids.get, array.ravel().tolist(), itertools.repeat(-1)), dtype=np.int64,
                          count=array.size)
        device = self._device_anchor.device
        ids = torch.from_numpy(ids.reshape(array.shape)).to(device)
        masked = None
        if self.mask_token is not None:
            masked = torch.from_numpy(np.asarray(array == self.mask_token)).to(device)
        return ids, masked, array

    def _missing_tokens(self, array, missing):
        return array[missing.cpu().numpy()].tolist()

    def _oov_ids(self, array, missing):
        where = missing.cpu().numpy()
        values = [token.encode("utf-8") for token in array[where].tolist()]
        hashes = siphash(values, self.salt) if self.salt is not None else fingerprint64(values)
        ids = np.zeros(array.shape, dtype=np.int64)
        ids[where] = (hashes % np.uint64(self.num_oov_indices)).astype(np.int64)
        return torch.from_numpy(ids).to(missing.device)

    def _invert(self, inputs):
        ids = inputs.detach().cpu().numpy() if isinstance(inputs, torch.Tensor) else np.asarray(inputs)
        size = len(self._vocabulary_array)
        inside = (ids >= 0) & (ids < size)
        return np.where(inside, self._vocabulary_array[np.where(inside, ids, 0)], self.oov_token)

    def get_config(self):
        config = {**super().get_config(), "encoding": self.encoding}
        del config["vocabulary_dtype"]
        return config
