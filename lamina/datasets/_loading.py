"""What the datasets share: safe readers for Keras's files, the seeded shuffles and splits, and the
imdb/reuters sequence encoding.

Reading a dataset never runs code from a file. Numeric ``.npy`` arrays load with pickle disabled; the
object arrays of imdb.npz/reuters.npz (ragged lists of word indices) and the CIFAR batches are pickles,
read by an unpickler that rebuilds numpy arrays and refuses every other global, with
``pickle.UnpicklingError`` (Keras 3.15's own rule, ``keras.src.datasets.npz_utils``). A file that is
truncated, corrupted or not the dataset's raises ``ValueError`` naming it and the URL its content comes
from.
"""

import contextlib
import gzip
import json
import pickle
import zipfile
import zlib

import numpy as np

from lamina import config

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# Rebuilding a pickled numpy array takes these globals and nothing else; numpy < 2 writes
# `numpy.core.multiarray`, numpy >= 2 `numpy._core.multiarray`.
_ARRAY_GLOBALS = frozenset({("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                            ("numpy._core.multiarray", "_reconstruct")})

# What reading a damaged file raises, from zip, gzip, zlib, pickle, json and numpy's .npy reader.
_DAMAGED = (EOFError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, zlib.error,
            zipfile.BadZipFile, pickle.UnpicklingError)


class _Refused(pickle.UnpicklingError):
    """A dataset's pickle asked for a global that is not one of a numpy array's."""


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file, path, **kwargs):
        super().__init__(file, **kwargs)
        self.path = path

    def find_class(self, module, name):
        if (module, name) in _ARRAY_GLOBALS:
            return super().find_class(module, name)
        raise _Refused(f"Refusing to load `{module}.{name}` from {self.path}: a dataset's pickles may rebuild "
                       "numpy arrays and nothing else. The file may be corrupted or malicious.")


@contextlib.contextmanager
def reading(path, origin):
    """Re-raises a damaged file's parse error as a ``ValueError`` naming the file and its origin."""
    try:
        yield
    except _Refused:
        raise
    except _DAMAGED as error:
        raise ValueError(f"Could not read {path} ({type(error).__name__}: {error}): the file is truncated, "
                         f"corrupted or not the dataset's. Replace it with the file from {origin}.") from error


def _read_npy(archive, key, objects, path):
    try:
        info = archive.getinfo(f"{key}.npy")
    except KeyError:
        raise ValueError(f"no array named {key!r}") from None
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        # version 3.0 differs from 2.0 only in the header's text encoding (utf-8 for latin-1)
        read_header = np.lib.format.read_array_header_1_0 if version[0] == 1 else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(member)
        if not dtype.hasobject:
            member.seek(0)
            return np.lib.format.read_array(member, allow_pickle=False)
        if not objects:
            raise ValueError(f"array {key!r} is an object array, which this dataset's file never holds")
        array = _ArrayUnpickler(member, path).load()
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise ValueError(f"array {key!r} does not match its header {shape}")
    return array


def read_npz(path, origin, keys, objects=False):
    """The arrays ``keys`` of the ``.npz`` file ``path``, in that order. Numeric arrays load with pickle
    disabled; object arrays (``objects=True``: imdb and reuters) through the numpy-only unpickler."""
    with reading(path, origin), zipfile.ZipFile(path) as archive:
        return tuple(_read_npy(archive, key, objects, path) for key in keys)


def read_idx(path, origin, offset, shape=None):
    """The uint8 payload of a gzipped idx file (Fashion-MNIST), after its ``offset``-byte header."""
    with reading(path, origin), gzip.open(path, "rb") as f:
        values = np.frombuffer(f.read(), np.uint8, offset=offset)
        return values if shape is None else values.reshape(shape)


def read_cifar_batch(path, origin, label_key="labels"):
    """``(data, labels)`` of one pickled CIFAR batch: uint8 ``(n, 3, 32, 32)`` and the list of labels."""
    with reading(path, origin), open(path, "rb") as f:
        loaded = _ArrayUnpickler(f, path, encoding="bytes").load()
        batch = {key.decode("utf8"): value for key, value in loaded.items()}
        data = batch["data"]
        return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def read_json(path, origin):
    """A word index: the JSON object of ``path``."""
    with reading(path, origin), open(path, encoding="utf-8") as f:
        return json.load(f)


def to_image_data_format(images):
    """``(n, 3, 32, 32)`` images as ``config.image_data_format()`` lays them out (a transposed view for
    channels_last, as Keras returns)."""
    return images.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else images


def shuffled(rng, x, y):
    """``x`` and ``y`` in the order ``rng.shuffle`` gives ``arange(len(x))``, as Keras shuffles them."""
    indices = np.arange(len(x))
    rng.shuffle(indices)
    return x[indices], y[indices]


def check_test_split(test_split):
    """The housing datasets' check, made before any file is read."""
    if not (0 <= test_split < 1):
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 (exclusive of 1).")


def shuffled_split(x, y, test_split, seed):
    """Keras's housing split: shuffle with ``RandomState(seed)``, the last ``test_split`` for testing."""
    x, y = shuffled(np.random.RandomState(seed), x, y)
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


def mark(sequences, start_char, index_from):
    """Each sequence as a list, its words shifted by ``index_from``, led by ``start_char`` unless None."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in sequences]
    if index_from:
        return [[w + index_from for w in x] for x in sequences]
    return [list(x) for x in sequences]


def drop_long(maxlen, sequences, labels):
    """The sequences shorter than ``maxlen`` (Keras drops the others rather than cutting them), with
    their labels, as two lists."""
    kept = [(x, y) for x, y in zip(sequences, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def limit_vocabulary(sequences, num_words, skip_top, oov_char):
    """Words outside ``[skip_top, num_words)`` become ``oov_char``, or are dropped when it is None.
    ``num_words=None`` means the largest index present (itself then out, as in Keras)."""
    if not num_words:
        num_words = max(max(x) for x in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in sequences]
    return [[w for w in x if skip_top <= w < num_words] for x in sequences]
