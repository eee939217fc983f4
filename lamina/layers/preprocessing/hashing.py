"""Hashing and HashedCrossing: values (or crosses of values) to bins by TensorFlow's hash functions.

The bins equal Keras's: strings are hashed as their UTF-8 bytes, integers as their decimal text and
floats truncated to integers first (``tf.as_string``); without a salt the hash is FarmHash
``Fingerprint64``, with one SipHash-2-4 (see ``hash_functions``). Hashing runs in NumPy on the
host; the result is moved to the input tensor's device.
"""

import numpy as np
import torch

from lamina import config
from lamina.dtypes import TORCH_DTYPES, is_string_array, standardize_dtype
from lamina.layers.preprocessing.base import DataLayer, to_string_array
from lamina.layers.preprocessing.encoding import check_not_sparse, check_output_mode, encode, encoded_shape
from lamina.layers.preprocessing.hash_functions import fingerprint64, fingerprint_cat64, siphash
from lamina.ops.arguments import check_positive_int, is_int
from lamina.registry import register_builtin

_CROSS_HASH_KEY = np.uint64(0xDECAFCAFFE)  # tf.sparse.cross_hashed's default hash_key


def _host_values(values):
    """(NumPy array, device of the tensor it came from or None)."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy(), values.device
    return values if isinstance(values, np.ndarray) else np.asarray(values), None


def _utf8(strings):
    return [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in strings]


def text_bytes(array):
    """The flat byte strings TensorFlow hashes for ``array``: text as UTF-8, numbers as decimal text."""
    if is_string_array(array):
        return _utf8(array.ravel().tolist())
    if array.dtype.kind == "b":
        return [b"true" if v else b"false" for v in array.ravel().tolist()]  # tf.as_string's booleans
    if array.dtype.kind == "f":
        array = array.astype(np.int64)  # Keras truncates floats to int64 before hashing
    if array.dtype.kind not in "iu":
        raise TypeError(f"expected strings or numbers to hash, received an array of dtype {array.dtype}.")
    return [str(v).encode() for v in array.astype(np.int64).ravel().tolist()]


def hash_to_bins(array, num_bins, salt=None):
    """Bin ids (int64, ``array``'s shape) of TensorFlow's ``to_hash_bucket_fast``/``_strong``."""
    inverse = None
    if not is_string_array(array):  # numbers repeat: hash each value once
        array, inverse = np.unique(array.astype(np.int64) if array.dtype.kind == "f" else array, return_inverse=True)
    values = text_bytes(array)
    bins = ((siphash(values, salt) if salt is not None else fingerprint64(values)) % np.uint64(num_bins))
    bins = bins.astype(np.int64).reshape(array.shape)
    return bins if inverse is None else bins[inverse]


def check_salt(salt, owner):
    """Keras's salt: None, an int (used twice) or a pair of ints; returned as a list of two ints."""
    if salt is None:
        return None
    if is_int(salt):
        return [int(salt), int(salt)]
    if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(is_int(s) for s in salt):
        return [int(s) for s in salt]
    raise ValueError(f"{owner}: the `salt` argument must be an int or a tuple of 2 ints. Received: salt={salt!r}")


@register_builtin("keras.layers")
class Hashing(DataLayer):
    """Hashes values into ``num_bins`` bins: ``bin = hash(value) % num_bins`` (Keras's ids).

    Args:
        num_bins: the number of bins (with ``mask_value``, bin 0 is the mask's and the rest hash).
        mask_value: a value mapped to bin 0 (e.g. padding).
        salt: an int or two ints: use the keyed SipHash ("strong") hash instead of FarmHash.
        output_mode: ``"int"`` (bin ids; dtype int64, or int32 with ``dtype="int32"``), ``"one_hot"``,
            ``"multi_hot"`` or ``"count"`` (float vectors of size ``num_bins``).
        sparse: not supported.

    Input: strings (NumPy arrays, lists), integers or floats (tensors or arrays), any shape.
    Output shape: the input's (``int``), else encoded as ``CategoryEncoding``.

    >>> Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).flatten().tolist()
    [1, 0, 1, 1, 2]
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        output_mode = check_output_mode(output_mode, "Hashing")
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else config.floatx()
        super().__init__(**kwargs)
        self.num_bins = check_positive_int(num_bins, "num_bins", "Hashing")
        if output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError(f"Hashing: with output_mode='int', `dtype` must be 'int32' or 'int64'. Received: "
                             f"dtype={self.dtype!r}")
        check_not_sparse(sparse, "Hashing")
        self.mask_value = mask_value
        self.salt = check_salt(salt, "Hashing")
        self.strong_hash = self.salt is not None
        self.output_mode = output_mode
        self.sparse = False
        self._output_torch_dtype = TORCH_DTYPES[self.dtype]

    def _bins(self, array):
        if self.mask_value is None or self.num_bins == 1:
            return hash_to_bins(array, self.num_bins, self.salt)
        mask_value = self.mask_value.decode() if isinstance(self.mask_value, bytes) else self.mask_value
        return np.where(array == mask_value, 0, hash_to_bins(array, self.num_bins - 1, self.salt) + 1)

    def call(self, inputs):
        array, device = _host_values(inputs)
        if is_string_array(array):
            array = to_string_array(array, f"Hashing '{self.name}'")
        ids = torch.from_numpy(np.ascontiguousarray(self._bins(array)))
        if device is not None:
            ids = ids.to(device)
        return encode(ids, self.output_mode, self.num_bins, self._output_torch_dtype)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


@register_builtin("keras.layers")
class HashedCrossing(DataLayer):
    """Crosses two or more categorical features: each row's values together hash to one of ``num_bins``
    bins (``tf.sparse.cross_hashed``'s ids).

    Args:
        num_bins: the number of bins.
        output_mode: ``"int"`` (bin ids, int64) or ``"one_hot"`` (float vectors of size ``num_bins``).
        sparse: not supported.

    Input: a list of two or more features of equal shape ``()``, ``(batch,)`` or ``(batch, 1)``:
    integers (tensors, arrays) or strings (NumPy arrays, lists).
    Output shape: the features' shape (``int``), or ``(batch, num_bins)``.

    >>> HashedCrossing(num_bins=5)((np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])))
    tensor([1, 4, 1, 1, 3])
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        output_mode = check_output_mode(output_mode, "HashedCrossing", ("int", "one_hot"))
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_bins = check_positive_int(num_bins, "num_bins", "HashedCrossing")
        check_not_sparse(sparse, "HashedCrossing")
        self.output_mode = output_mode
        self.sparse = False
        self._output_torch_dtype = TORCH_DTYPES[self.dtype]

    def _convert_input(self, value):
        if isinstance(value, (list, tuple)):
            return [super(HashedCrossing, self)._convert_input(item) for item in value]
        return super()._convert_input(value)

    def _check_inputs(self, shapes, dtypes):
        if len(shapes) < 2:
            raise ValueError(f"HashedCrossing '{self.name}' should be called on a list of at least two inputs. "
                             f"Received {len(shapes)} input(s).")
        first = shapes[0]
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1):
            raise ValueError(f"HashedCrossing '{self.name}': every input must have shape (), (batch,) or (batch, 1). "
                             f"Received shapes {shapes}.")
        if any(tuple(shape) != tuple(first) for shape in shapes[1:]):
            raise ValueError(f"HashedCrossing '{self.name}': all inputs must have the same shape. Received {shapes}.")
        bad = [dtype for dtype in dtypes if dtype != "string" and not dtype.startswith(("int", "uint"))]
        if bad:
            raise ValueError(f"HashedCrossing '{self.name}': every input must be integers or strings. Received "
                             f"dtypes {dtypes}.")

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"HashedCrossing '{self.name}' should be called on a list or tuple of inputs. "
                             f"Received: {type(inputs).__name__}.")
        arrays = [_host_values(x) for x in inputs]
        self._check_inputs([a.shape for a, _ in arrays], [standardize_dtype(a.dtype) if a.dtype.kind != "O" else
                                                          "string" for a, _ in arrays])
        crossed = np.full(arrays[0][0].size, _CROSS_HASH_KEY, dtype=np.uint64)
        for array, _ in arrays:
            flat = array.ravel()
            feature = fingerprint64(_utf8(flat.tolist())) if is_string_array(array) else \
                flat.astype(np.int64).view(np.uint64)
            crossed = fingerprint_cat64(crossed, feature)
        ids = torch.from_numpy((crossed % np.uint64(self.num_bins)).astype(np.int64).reshape(arrays[0][0].shape))
        device = next((d for _, d in arrays if d is not None), None)
        if device is not None:
            ids = ids.to(device)
        if self.output_mode == "int":
            return ids.to(self._output_torch_dtype)
        return encode(ids, "one_hot", self.num_bins, TORCH_DTYPES[self.compute_dtype]).to(self._output_torch_dtype)

    def compute_output_spec(self, inputs, *args, **kwargs):
        self._check_inputs([tuple(x.shape) for x in inputs], [x.dtype for x in inputs])
        return super().compute_output_spec(inputs)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape[0], self.output_mode, self.num_bins)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name,
                "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
