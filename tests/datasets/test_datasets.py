"""lamina.datasets against Keras 3's own loaders, both reading the same synthetic cache (files in the real
files' formats, in a temporary KERAS_HOME; Keras's hash check accepts them and its download raises), plus
what Keras cannot check: no downloads, hash mismatches, malicious pickles, damaged files."""

import ast
import gzip
import inspect
import io
import json
import os
import pathlib
import pickle
import re
import struct
import tarfile

import numpy as np
import pytest

from lamina import config, datasets
from lamina.datasets import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,
                             reuters)
from lamina.utils import file_utils

MODULES = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist", "reuters"]
GCS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def _no_download(*args, **kwargs):
    raise AssertionError(f"Keras tried to download {args[:1]}")


@pytest.fixture
def home(tmp_path, monkeypatch, keras):
    """An empty KERAS_HOME, read by lamina and (its value cached at import) by Keras, which never downloads."""
    import keras.src.backend.config as keras_config
    import keras.src.utils.file_utils as keras_file_utils

    folder = tmp_path / "keras_home"
    (folder / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(folder))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(folder))
    monkeypatch.setattr(keras_file_utils, "urlretrieve", _no_download)
    return folder


@pytest.fixture
def any_hash(monkeypatch, keras):
    """Both hash checks accept the synthetic files (a test of the real check leaves this fixture out)."""
    import keras.src.utils.file_utils as keras_file_utils

    monkeypatch.setattr(keras_file_utils, "validate_file", lambda *args, **kwargs: True)
    monkeypatch.setattr(file_utils, "validate_file", lambda *args, **kwargs: True)


@pytest.fixture
def data_format(keras):
    saved = config.image_data_format(), keras.config.image_data_format()
    yield
    config.set_image_data_format(saved[0])
    keras.config.set_image_data_format(saved[1])


def _object_array(items):
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


def _sequences(rng, count, vocabulary=30):
    return _object_array([[int(w) for w in rng.integers(1, vocabulary, rng.integers(1, 13))] for _ in range(count)])


def _tar_gz(members, compresslevel=6):
    """A .tar.gz holding ``{name: bytes}``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=compresslevel) as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


class _Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the CIFAR batches: protocol 2, strings as 8-bit BINSTRINGs (read
    back as bytes with ``encoding="bytes"``), numpy's reconstructor under its numpy < 2 name."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_string(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("ascii")
        opcode = pickle.SHORT_BINSTRING + bytes([len(data)]) if len(data) < 256 else \
            pickle.BINSTRING + struct.pack("<i", len(data))
        self.write(opcode + data)
        self.memoize(obj)

    dispatch[bytes] = dispatch[str] = save_string

    def save_global(self, obj, name=None):
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)


def _python2_pickle(value):
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(value)
    return buffer.getvalue()


def _cifar_batch(data, **labels):
    """A CIFAR batch as the real files hold it: bytes keys, uint8 (n, 3072) data, lists of labels."""
    batch = {b"batch_label": b"synthetic", b"data": data, b"filenames": [b"x.png"] * len(data)}
    batch.update({key.encode(): [int(v) for v in values] for key, values in labels.items()})
    return _python2_pickle(batch)


def _write(home, name, what):
    path = home / "datasets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if callable(what):
        what(path)
    else:
        path.write_bytes(what)
    return path


def _idx(values, dims):
    header = (0x800 + len(dims)).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    return gzip.compress(header + values.astype(np.uint8).tobytes())


def _assert_same(ours, theirs):
    """Same nesting, types, dtypes, shapes, memory layout and values (object arrays element by element)."""
    assert type(ours) is type(theirs)
    if isinstance(ours, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
    elif isinstance(ours, np.ndarray):
        assert (ours.dtype, ours.shape, ours.flags.writeable) == (theirs.dtype, theirs.shape, theirs.flags.writeable)
        if ours.dtype == object:
            assert ours.tolist() == theirs.tolist()
            assert [type(x) for x in ours.flat] == [type(x) for x in theirs.flat]
        else:
            assert ours.strides == theirs.strides
            np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs


def _compare(ours, theirs, *args, **kwargs):
    try:
        expected = theirs(*args, **kwargs)
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            ours(*args, **kwargs)
        return
    _assert_same(ours(*args, **kwargs), expected)


# --- the namespace --------------------------------------------------------------------------------------------


def test_namespace_and_signatures_are_keras(keras):
    assert sorted(name for name in dir(keras.datasets) if not name.startswith("_")) == MODULES
    for name in MODULES:
        theirs, ours = getattr(keras.datasets, name), getattr(datasets, name)
        for function in (n for n in dir(theirs) if not n.startswith("_")):
            assert inspect.signature(getattr(ours, function)) == inspect.signature(getattr(theirs, function))
    assert reuters.get_label_names() == keras.datasets.reuters.get_label_names()


def test_the_dataset_modules_import_nothing_heavy():
    allowed = ("contextlib", "gzip", "json", "os", "pickle", "zipfile", "zlib", "numpy", "lamina.config",
               "lamina.datasets", "lamina.utils.file_utils")
    for path in pathlib.Path(datasets.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                     for alias in node.names]
        assert all(name.startswith(allowed) for name in imported), (path.name, imported)


# --- differential: the same cache through Keras's loaders and lamina's ----------------------------------------


def test_mnist_matches_keras(keras, home, any_hash, rng):
    arrays = dict(x_train=rng.integers(0, 256, (9, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, 9, np.uint8),
                  x_test=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, 4, np.uint8))
    _write(home, "mnist.npz", lambda path: np.savez_compressed(path, **arrays))
    _write(home, "digits.npz", lambda path: np.savez(path, **arrays))
    _compare(mnist.load_data, keras.datasets.mnist.load_data)
    _compare(mnist.load_data, keras.datasets.mnist.load_data, path="digits.npz")
    (x_train, y_train), _ = mnist.load_data()
    assert (x_train.dtype, x_train.shape, y_train.shape) == (np.uint8, (9, 28, 28), (9,))


def test_fashion_mnist_matches_keras(keras, home, any_hash, rng):
    for split, count in (("train", 8), ("t10k", 5)):
        _write(home, f"fashion-mnist/{split}-labels-idx1-ubyte.gz", _idx(rng.integers(0, 10, count), [count]))
        _write(home, f"fashion-mnist/{split}-images-idx3-ubyte.gz",
               _idx(rng.integers(0, 256, (count, 28, 28)), [count, 28, 28]))
    _compare(fashion_mnist.load_data, keras.datasets.fashion_mnist.load_data)


@pytest.mark.parametrize("kwargs", [{}, dict(test_split=0.5, seed=0), dict(test_split=0.0),
                                    dict(test_split=0.33, seed=5), dict(test_split=1.0), dict(test_split=-0.1)])
def test_boston_housing_matches_keras(keras, home, any_hash, rng, kwargs):
    _write(home, "boston_housing.npz", lambda path: np.savez(path, x=rng.normal(size=(31, 13)), y=rng.normal(size=31)))
    _compare(boston_housing.load_data, keras.datasets.boston_housing.load_data, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, dict(version="small"), dict(version="small", test_split=0.1, seed=3),
                                    dict(test_split=0.0, seed=0), dict(version="medium"), dict(test_split=1)])
def test_california_housing_matches_keras(keras, home, any_hash, rng, kwargs):
    x, y = rng.normal(size=(650, 8)).astype(np.float32), rng.normal(size=650).astype(np.float32)
    _write(home, "california_housing.npz", lambda path: np.savez(path, x=x, y=y))
    _compare(california_housing.load_data, keras.datasets.california_housing.load_data, **kwargs)


@pytest.mark.parametrize("image_data_format", ["channels_last", "channels_first"])
def test_cifar10_matches_keras(keras, home, any_hash, data_format, image_data_format):
    rng = np.random.default_rng(0)
    pattern = (np.arange(10000 * 3072) % 251).astype(np.uint8).reshape(10000, 3072)  # cheap to compress
    members = {f"cifar-10-batches-py/data_batch_{i}": _cifar_batch(np.roll(pattern, i, axis=0),
                                                                   labels=rng.integers(0, 10, 10000))
               for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = _cifar_batch(pattern[:10000][::-1].copy(),
                                                             labels=rng.integers(0, 10, 10000))
    _write(home, "cifar-10-batches-py-target_archive", _tar_gz(members, compresslevel=1))
    config.set_image_data_format(image_data_format)
    keras.config.set_image_data_format(image_data_format)
    _compare(cifar10.load_data, keras.datasets.cifar10.load_data)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == ((50000, 32, 32, 3) if image_data_format == "channels_last" else (50000, 3, 32, 32))
    assert (x_train.dtype, y_train.dtype, y_train.shape, y_test.shape) == (np.uint8, np.uint8, (50000, 1), (10000, 1))


def _cifar100(home, rng, count=(12, 5)):
    members = {f"cifar-100-python/{split}": _cifar_batch(rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                                                         fine_labels=rng.integers(0, 100, n),
                                                         coarse_labels=rng.integers(0, 20, n))
               for split, n in zip(("train", "test"), count)}
    _write(home, "cifar-100-python-target_archive", _tar_gz(members))


@pytest.mark.parametrize("image_data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("label_mode", ["fine", "coarse", "medium"])
def test_cifar100_matches_keras(keras, home, any_hash, rng, data_format, image_data_format, label_mode):
    _cifar100(home, rng)
    config.set_image_data_format(image_data_format)
    keras.config.set_image_data_format(image_data_format)
    _compare(cifar100.load_data, keras.datasets.cifar100.load_data, label_mode=label_mode)


IMDB_CASES = [{}, dict(num_words=20), dict(num_words=15, skip_top=4), dict(maxlen=9), dict(maxlen=9, seed=0),
              dict(seed=1, index_from=0), dict(start_char=None), dict(start_char=None, index_from=0),
              dict(oov_char=None, num_words=12, skip_top=2), dict(start_char=None, oov_char=None, index_from=2),
              dict(maxlen=6, num_words=10, skip_top=1, oov_char=5, start_char=7, index_from=1), dict(maxlen=1),
              dict(path="reviews.npz"), dict(nb_words=3)]


@pytest.mark.parametrize("kwargs", IMDB_CASES, ids=str)
def test_imdb_matches_keras(keras, home, any_hash, rng, kwargs):
    arrays = dict(x_train=_sequences(rng, 11), y_train=rng.integers(0, 2, 11), x_test=_sequences(rng, 7),
                  y_test=rng.integers(0, 2, 7))
    for name in ("imdb.npz", "reviews.npz"):
        _write(home, name, lambda path: np.savez(path, **arrays))
    _compare(imdb.load_data, keras.datasets.imdb.load_data, **kwargs)


@pytest.mark.parametrize("kwargs", IMDB_CASES[:-2] + [dict(test_split=0.5), dict(test_split=0.0, maxlen=8),
                                                      dict(test_split=0.9, num_words=9, seed=4)], ids=str)
def test_reuters_matches_keras(keras, home, any_hash, rng, kwargs):
    _write(home, "reuters.npz", lambda path: np.savez(path, x=_sequences(rng, 17), y=rng.integers(0, 46, 17)))
    _compare(reuters.load_data, keras.datasets.reuters.load_data, **kwargs)


def test_equal_length_sequences_give_keras_2d_object_arrays(keras, home, any_hash):
    same = _object_array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [2, 2, 2]])
    _write(home, "imdb.npz", lambda path: np.savez(path, x_train=same, y_train=np.arange(4), x_test=same,
                                                   y_test=np.arange(4)))
    _compare(imdb.load_data, keras.datasets.imdb.load_data)
    assert imdb.load_data()[0][0].shape == (4, 4)


@pytest.mark.parametrize("module", ["imdb", "reuters"])
def test_word_indices_match_keras(keras, home, any_hash, module):
    index = {"the": 1, "and": 2, "caf\u00e9": 3}
    _write(home, f"{module}_word_index.json", json.dumps(index).encode())
    _compare(getattr(datasets, module).get_word_index, getattr(keras.datasets, module).get_word_index)
    assert getattr(datasets, module).get_word_index() == index


# --- lamina only: no downloads, hashes, pickles, damaged files ------------------------------------------------

MISSING = [
    (mnist.load_data, f"{GCS}mnist.npz", "mnist.npz"),
    (fashion_mnist.load_data, f"{GCS}train-labels-idx1-ubyte.gz", "fashion-mnist/train-labels-idx1-ubyte.gz"),
    (boston_housing.load_data, f"{GCS}boston_housing.npz", "boston_housing.npz"),
    (california_housing.load_data, f"{GCS}california_housing.npz", "california_housing.npz"),
    (cifar10.load_data, "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
     "cifar-10-batches-py-target_archive"),
    (cifar100.load_data, "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
     "cifar-100-python-target_archive"),
    (imdb.load_data, f"{GCS}imdb.npz", "imdb.npz"),
    (imdb.get_word_index, f"{GCS}imdb_word_index.json", "imdb_word_index.json"),
    (reuters.load_data, f"{GCS}reuters.npz", "reuters.npz"),
    (reuters.get_word_index, f"{GCS}reuters_word_index.json", "reuters_word_index.json"),
]


@pytest.mark.parametrize("load, url, name", MISSING,
                         ids=[f"{load.__module__[16:]}.{load.__name__}" for load, *_ in MISSING])
def test_an_empty_cache_says_what_to_put_where(home, load, url, name):
    with pytest.raises(FileNotFoundError) as error:
        load()
    assert url in str(error.value) and str(home / "datasets" / name) in str(error.value)
    assert "lamina does not download" in str(error.value)


def test_a_file_whose_hash_differs_is_refused_not_used(home, rng):
    _write(home, "mnist.npz", lambda path: np.savez(path, x_train=np.zeros((1, 28, 28), np.uint8), y_train=[0],
                                                    x_test=np.zeros((1, 28, 28), np.uint8), y_test=[0]))
    with pytest.raises(ValueError, match=f"mnist.npz does not match the expected hash 731c5ac6.*Replace it with "
                                         f"the file from {GCS}mnist.npz"):
        mnist.load_data()
    _write(home, "imdb_word_index.json", b"{}")
    with pytest.raises(ValueError, match="does not match the expected hash bfafd718b763782e994055a2d397834f"):
        imdb.get_word_index()
    _cifar100(home, rng)
    with pytest.raises(ValueError, match="cifar-100-python-target_archive does not match the expected hash 85cd44"):
        cifar100.load_data()


class _Payload:
    """What a malicious pickle does: call os.system while being loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_malicious_cifar_pickle_is_refused(home, any_hash, tmp_path):
    marker = tmp_path / "ran"
    members = {"cifar-100-python/train": _python2_pickle({b"data": _Payload(marker), b"fine_labels": []})}
    _write(home, "cifar-100-python-target_archive", _tar_gz(members))
    with pytest.raises(pickle.UnpicklingError, match=r"Refusing to load `posix.system` from .*cifar-100-python/train: "
                                                     r"a dataset's pickles may rebuild numpy arrays and nothing else"):
        cifar100.load_data()
    assert not marker.exists()


def test_a_malicious_object_array_is_refused(home, any_hash, tmp_path, rng):
    marker = tmp_path / "ran"
    evil = _object_array([[1, 2], _Payload(marker)])
    _write(home, "imdb.npz", lambda path: np.savez(path, x_train=evil, y_train=[0, 1], x_test=evil, y_test=[0, 1]))
    _write(home, "reuters.npz", lambda path: np.savez(path, x=evil, y=[0, 1]))
    for load in (imdb.load_data, reuters.load_data):
        with pytest.raises(pickle.UnpicklingError, match=r"Refusing to load `posix.system`"):
            load()
    assert not marker.exists()


def test_object_arrays_are_refused_where_keras_refuses_them(keras, home, any_hash):
    _write(home, "boston_housing.npz", lambda path: np.savez(path, x=_object_array([[1.0], [2.0]]), y=[1.0, 2.0]))
    with pytest.raises(ValueError):
        keras.datasets.boston_housing.load_data()
    with pytest.raises(ValueError, match=r"boston_housing.npz \(ValueError: array 'x' is an object array"):
        boston_housing.load_data()


def _truncated(payload):
    return payload[: len(payload) * 2 // 3]


def _npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_damaged_files_give_clear_errors(home, any_hash, rng):
    damaged = r"the file is truncated, corrupted or not the dataset's. Replace it with the file from "
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    mnist_bytes = _npz_bytes(x_train=images, y_train=[1, 2, 3], x_test=images, y_test=[1, 2, 3])
    _write(home, "mnist.npz", _truncated(mnist_bytes))
    with pytest.raises(ValueError, match=r"Could not read .*mnist.npz \(BadZipFile: .*\): " + damaged):
        mnist.load_data()
    _write(home, "mnist.npz", _npz_bytes(x_train=images, y_train=[1, 2, 3]))
    with pytest.raises(ValueError, match=r"mnist.npz \(ValueError: no array named 'x_test'\)"):
        mnist.load_data()
    _write(home, "mnist.npz", b"not a zip file")
    with pytest.raises(ValueError, match=r"Could not read .*mnist.npz"):
        mnist.load_data()
    _write(home, "imdb_word_index.json", b'{"the": 1, "an')
    with pytest.raises(ValueError, match=r"imdb_word_index.json \(JSONDecodeError"):
        imdb.get_word_index()
    for split in ("train", "t10k"):
        _write(home, f"fashion-mnist/{split}-labels-idx1-ubyte.gz", _idx(np.arange(3), [3]))
        _write(home, f"fashion-mnist/{split}-images-idx3-ubyte.gz", _truncated(_idx(images, [3, 28, 28])))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz \(EOFError"):
        fashion_mnist.load_data()


def test_damaged_archives_and_batches_give_clear_errors(home, any_hash, rng):
    members = {f"cifar-100-python/{split}": _cifar_batch(rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                                                         fine_labels=range(4), coarse_labels=range(4))
               for split in ("train", "test")}
    _write(home, "cifar-100-python-target_archive", _truncated(_tar_gz(members)))
    with pytest.raises(ValueError, match=r"get_file: could not extract .*cifar-100-python-target_archive, it is "
                                         r"truncated or corrupted"):
        cifar100.load_data()
    assert not (home / "datasets" / "cifar-100-python-target").exists()  # no partial extraction left
    members["cifar-100-python/test"] = _truncated(members["cifar-100-python/test"])
    _write(home, "cifar-100-python-target_archive", _tar_gz(members))
    with pytest.raises(ValueError, match=r"cifar-100-python/test \((UnpicklingError|EOFError).*Replace it with the "
                                         r"file from https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"):
        cifar100.load_data()
