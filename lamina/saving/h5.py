"""Guarded HDF5 access for Keras's weight files: every failure is a ValueError that names the file.

h5py is optional (the ``h5`` extra): it is imported here, when a Keras file is read or written, never at
``import lamina``. Reading refuses what a hostile file could use against the reader: soft and external
links, external or virtual datasets, non-numeric data, and datasets that declare far more bytes than
the file stores (a "shape bomb"). Files are opened read-only from memory; nothing is written while
reading.
"""

import contextlib
import io
import math

import numpy as np

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 may put its superblock after a user block of 512 bytes times a power of two.
_SIGNATURE_OFFSETS = (0, 512, 1024, 2048, 4096)
# A dataset declaring more than this many bytes must store at least 1/_MAX_EXPANSION of them.
_BOMB_FLOOR_BYTES = 1 << 26
_MAX_EXPANSION = 1000
_NUMERIC_KINDS = "biuf"
# The largest attribute HDF5 keeps in one object header (Keras splits longer name lists).
_HEADER_LIMIT = 64512


def import_h5py():
    """h5py, or an ImportError saying how to install it."""
    try:
        import h5py  # optional dependency (the `h5` extra): only Keras files need it
    except ImportError as error:
        raise ImportError("Reading and writing Keras files (.keras, .h5, .weights.h5) needs h5py: "
                          "`pip install lamina[h5]` (or `pip install h5py`).") from error
    return h5py


def is_hdf5(head):
    """Whether ``head`` (the first 4 KiB or more of a file) holds an HDF5 signature."""
    return any(head[offset:offset + len(HDF5_SIGNATURE)] == HDF5_SIGNATURE for offset in _SIGNATURE_OFFSETS)


@contextlib.contextmanager
def open_for_reading(payload, filepath):
    """An ``h5py.File`` over ``payload`` (bytes), read-only; a ValueError naming ``filepath`` if it is not HDF5."""
    h5py = import_h5py()
    try:
        handle = h5py.File(io.BytesIO(payload), "r")
    except (OSError, ValueError, OverflowError) as error:  # h5py overflows on some damaged superblocks
        raise ValueError(f"{filepath}: not a valid HDF5 file (truncated or corrupt: {error}).") from None
    try:
        yield handle
    except (OSError, RuntimeError, KeyError, TypeError, OverflowError) as error:  # h5py on corrupt (meta)data
        raise ValueError(f"{filepath}: corrupt HDF5 data ({type(error).__name__}: {error}).") from None
    except ValueError as error:  # h5py's and text decoding's own ValueErrors do not name the file
        if str(filepath) in str(error):
            raise
        raise ValueError(f"{filepath}: corrupt HDF5 data ({error}).") from None
    finally:
        handle.close()


def _link_class(parent, name):
    try:
        return parent.get(name, default=None, getclass=True, getlink=True)
    except (OSError, RuntimeError, KeyError, ValueError):
        return None


def has(parent, path):
    """Whether ``path`` (relative, '/'-separated) names a hard-linked object below ``parent``."""
    h5py = import_h5py()
    current = parent
    for part in path.split("/"):
        if not isinstance(current, h5py.Group) or _link_class(current, part) is not h5py.HardLink:
            return False
        current = current[part]
    return True


def group(parent, path, filepath):
    """The group at ``path`` below ``parent``, following hard links only."""
    h5py = import_h5py()
    current = parent
    for part in path.split("/"):
        link = _link_class(current, part) if part else None
        if link is None:
            raise ValueError(f"{filepath}: the HDF5 group {path!r} is missing (below {parent.name!r}).")
        if link is not h5py.HardLink:
            raise ValueError(f"{filepath}: {path!r} is an HDF5 {link.__name__}; links are not allowed in "
                             "weight files.")
        current = current[part]
        if not isinstance(current, h5py.Group):
            raise ValueError(f"{filepath}: {current.name!r} should be an HDF5 group, found {type(current).__name__}.")
    return current


def dataset(parent, name, filepath):
    """The numeric dataset ``name`` (may contain '/') below ``parent``, checked before anything is read."""
    h5py = import_h5py()
    if "/" in name:
        head, name = name.rsplit("/", 1)
        parent = group(parent, head, filepath)
    link = _link_class(parent, name)
    where = f"{parent.name.rstrip('/')}/{name}"
    if link is None:
        raise ValueError(f"{filepath}: the HDF5 dataset {where!r} is missing.")
    if link is not h5py.HardLink:
        raise ValueError(f"{filepath}: {where!r} is an HDF5 {link.__name__}; links are not allowed in weight files.")
    value = parent[name]
    if not isinstance(value, h5py.Dataset):
        raise ValueError(f"{filepath}: {where!r} should be an HDF5 dataset, found {type(value).__name__}.")
    if value.external or value.is_virtual:
        raise ValueError(f"{filepath}: {where!r} is an external or virtual HDF5 dataset; its data would be read "
                         "from other files, which is not allowed.")
    keras_bfloat16 = value.dtype.kind == "V" and value.dtype.itemsize == 2 \
        and value.attrs.get("dtype") in ("bfloat16", b"bfloat16")  # Keras's opaque 2-byte bfloat16 (read converts)
    if value.dtype.kind not in _NUMERIC_KINDS and not keras_bfloat16:
        raise ValueError(f"{filepath}: {where!r} holds {value.dtype} data; weights must be numeric.")
    declared = math.prod(value.shape or ()) * value.dtype.itemsize
    stored = value.id.get_storage_size()
    if declared > _BOMB_FLOOR_BYTES and declared > _MAX_EXPANSION * stored:
        raise ValueError(f"{filepath}: {where!r} declares shape {value.shape} ({declared} bytes) but stores only "
                         f"{stored} bytes; refusing to read it.")
    return value


def read(value):
    """A checked dataset's contents as a NumPy array (bfloat16 where Keras marked it so)."""
    array = np.asarray(value[()])
    if value.attrs.get("dtype") in ("bfloat16", b"bfloat16"):
        import ml_dtypes  # optional: only bfloat16 weights need it; it comes with Keras and JAX

        array = array.view(ml_dtypes.bfloat16) if array.dtype.itemsize == 2 else array.astype(ml_dtypes.bfloat16)
    return array


def text(value):
    """An HDF5 attribute value (bytes, str or a 0-d array) as a str."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def string_list(node, name, filepath):
    """A list-of-strings attribute, joining the chunks ``name0``, ``name1``… Keras writes for long lists."""
    attributes = node.attrs
    if name in attributes:
        chunks = [attributes[name]]
    else:
        chunks, index = [], 0
        while f"{name}{index}" in attributes:
            chunks.append(attributes[f"{name}{index}"])
            index += 1
    values = []
    for chunk in chunks:
        chunk = np.asarray(chunk)
        if chunk.dtype.kind not in "OSUf" or (chunk.dtype.kind == "f" and chunk.size):
            raise ValueError(f"{filepath}: the attribute {name!r} of {node.name!r} should list names, found "
                             f"{chunk.dtype} data.")
        values.extend(text(item) for item in chunk.reshape(-1))
    return values


def write_string_list(node, name, values):
    """Stores a list-of-strings attribute as Keras does: bytes, split into ``name0``, ``name1``… when the
    list is too long for one HDF5 object header; an empty list is an empty float array."""
    data = np.asarray([value.encode("utf-8") for value in values]) if values else np.zeros((0,), "float64")
    chunks = 1
    while data.nbytes > _HEADER_LIMIT * chunks:
        chunks += 1
    if chunks == 1:
        node.attrs[name] = data
        return
    for index, chunk in enumerate(np.array_split(data, chunks)):
        node.attrs[f"{name}{index}"] = chunk


def write_array(node, name, array):
    """A dataset ``name`` holding ``array`` (bfloat16 stored as Keras stores it, with a dtype attribute)."""
    array = np.asarray(array)
    if array.dtype.name == "bfloat16":
        created = node.create_dataset(name, data=array)
        created.attrs["dtype"] = "bfloat16"
        return created
    return node.create_dataset(name, data=array)
