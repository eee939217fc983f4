"""Data adapters for ``fit``/``evaluate``/``predict``: arrays, generators, torch data, ``PyDataset``.

Every adapter yields batches of torch tensors (CPU, or where the user's data already lives) packed
as Keras packs them: ``x`` alone, ``(x, y)`` or ``(x, y, sample_weight)``; the loop moves them to the
model's device and hands them to ``train_step``/``test_step``/``predict_step``.
"""

import math
import warnings

import numpy as np
import torch

from lamina import config, tree
from lamina.dtypes import is_string_array


class PyDataset:
    """A sequence of batches, as ``keras.utils.PyDataset``: implement ``__len__`` and ``__getitem__``.

    ``__getitem__(index)`` returns one batch: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``.
    ``on_epoch_end()`` runs after each epoch. ``workers``/``use_multiprocessing``/``max_queue_size``
    are accepted for Keras compatibility; batches are read in the training process.

    >>> class Batches(PyDataset):
    ...     def __len__(self): return 10
    ...     def __getitem__(self, i): return np.ones((4, 3)), np.zeros((4, 1))
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__.")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__.")

    def on_epoch_end(self):
        """Called after each epoch (e.g. to reshuffle)."""

    @property
    def num_batches(self):
        return len(self)


def to_tensor(value):
    """A torch tensor from an array-like; float64 becomes float32 (floatx), as Keras does. Text stays a
    NumPy array of strings, for the string layers (``TextVectorization``, ``StringLookup``) to read."""
    if value is None or isinstance(value, torch.Tensor) and value.dtype is not torch.float64:
        return value
    if not isinstance(value, torch.Tensor):
        value = np.asarray(value)
        if is_string_array(value):
            return value
    tensor = torch.as_tensor(value)
    return tensor.float() if tensor.dtype is torch.float64 else tensor


def _take(value, order):
    """Rows ``order`` of a tensor (on its device) or of a NumPy string array."""
    if isinstance(value, np.ndarray):
        return value[order.numpy()]
    return value.index_select(0, order if order.device == value.device else order.to(value.device))


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """A batch as Keras packs it: ``x`` (``(x,)`` when ``x`` is itself a tuple or list), ``(x, y)`` or
    ``(x, y, sample_weight)``."""
    if y is None and sample_weight is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a batch given as ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sw)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"Data should be `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`. Received a tuple of "
                     f"{len(data)} elements.")


def _convert_part(part):
    """One part of a batch as tensors; a sequence of strings (a DataLoader collates text into a tuple) is one
    array."""
    if isinstance(part, (list, tuple)) and part and all(isinstance(item, (str, bytes)) for item in part):
        return np.asarray(part)
    return tree.map_structure(to_tensor, part)


def _convert_batch(batch):
    return pack_x_y_sample_weight(*(_convert_part(part) if part is not None else None
                                    for part in unpack_x_y_sample_weight(batch)))


def move(structure, device):
    """``structure``'s tensors on ``device`` (non-blocking from pinned memory); CPU batches stay as they are."""
    if device.type == "cpu":
        return structure
    return tree.map_structure(lambda t: t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t,
                              structure)


def batch_size_of(x):
    """The number of samples in a batch of inputs (the first axis of its first tensor)."""
    return next(leaf for leaf in tree.flatten(x) if leaf is not None).shape[0]


def _num_samples(structure):
    sizes = {int(leaf.shape[0]) for leaf in tree.flatten(structure) if leaf is not None}
    if len(sizes) != 1:
        raise ValueError(f"Data cardinality is ambiguous: the arrays have different numbers of samples {sorted(sizes)}. "
                         "Make sure all arrays contain the same number of samples.")
    return sizes.pop()


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights ``class_weight[class of y]`` (y as class indices, (n, 1) or one-hot)."""
    if tree.is_nested(y):
        raise ValueError("`class_weight` is only supported for models with a single output.")
    labels = y.reshape(-1) if y.ndim == 1 or y.shape[-1] == 1 else y.argmax(dim=-1)
    table = torch.zeros(max(int(labels.max()) + 1, max(class_weight) + 1), dtype=torch.float32)
    for label, weight in class_weight.items():
        table[int(label)] = float(weight)
    return table[labels.long()]


class ArrayAdapter:
    """In-memory arrays/tensors (or lists/dicts of them), sliced into batches."""

    # How each epoch's shuffled order is drawn (torch's global RNG); a distribution draws it on process 0
    # and shares it (lamina.distribution.sharding). Every pass yields ``num_batches`` batches.
    draw_order = staticmethod(torch.randperm)
    known_length = True

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, steps=None, shuffle=False, class_weight=None):
        self.x = tree.map_structure(to_tensor, x)
        self.y = tree.map_structure(to_tensor, y) if y is not None else None
        self.sample_weight = to_tensor(sample_weight)
        if class_weight:
            weights = class_weight_to_sample_weight(self.y, class_weight)
            self.sample_weight = weights if self.sample_weight is None else self.sample_weight * weights
        self.size = _num_samples((self.x, self.y, self.sample_weight))
        self.batch_size = batch_size or 32
        self.shuffle = shuffle
        self.num_batches = steps or math.ceil(self.size / self.batch_size)

    def first_batch(self):
        """The first batch in order (no shuffling): what a model can be built from."""
        return pack_x_y_sample_weight(*tree.map_structure(lambda t: t[:self.batch_size] if t is not None else None,
                                                          (self.x, self.y, self.sample_weight)))

    def __iter__(self):
        data = (self.x, self.y, self.sample_weight)
        leaves = tree.flatten(data)  # flattened once per pass
        order = self.draw_order(self.size) if self.shuffle else None
        plain = not any(tree.is_nested(part) for part in data)
        batches_per_pass = math.ceil(self.size / self.batch_size)
        if self.num_batches > batches_per_pass:
            warn_ran_out_of_data(self.num_batches, batches_per_pass)
        steps = min(self.num_batches, batches_per_pass)
        if order is None and plain and self.y is None and self.sample_weight is None:  # predict's x: its views
            for start in range(0, steps * self.batch_size, self.batch_size):
                yield self.x[start:start + self.batch_size]
            return
        for step in range(steps):
            rows = slice(step * self.batch_size, (step + 1) * self.batch_size)
            if order is None:  # views
                parts = [t[rows] if t is not None else None for t in leaves]
            else:  # each batch gathered on its own: no shuffled copy of the whole data
                index = order[rows]
                parts = [_take(t, index) if t is not None else None for t in leaves]
            yield pack_x_y_sample_weight(*(parts if plain else tree.pack_sequence_as(data, parts)))

    def split(self, validation_split, validation_batch_size=None):
        """(train, validation) adapters: the validation part is the last fraction, taken before shuffling."""
        split_at = int(math.floor(self.size * (1.0 - validation_split)))
        if split_at == 0 or split_at == self.size:
            raise ValueError(f"validation_split={validation_split} leaves no training or no validation samples "
                             f"out of {self.size}.")

        def part(selector, batch_size, shuffle):
            pick = lambda t: t[selector] if t is not None else None  # noqa: E731
            return ArrayAdapter(tree.map_structure(pick, self.x), tree.map_structure(pick, self.y),
                                pick(self.sample_weight), batch_size=batch_size, shuffle=shuffle)

        return (part(slice(0, split_at), self.batch_size, self.shuffle),
                part(slice(split_at, None), validation_batch_size or self.batch_size, False))


class IterableAdapter:
    """Generators, iterators, torch DataLoaders and PyDatasets: each element is one batch."""

    draw_order = staticmethod(torch.randperm)  # a PyDataset's shuffled order of batches (see ArrayAdapter)

    def __init__(self, data, steps=None, shuffle=False):
        self.data = data
        self.shuffle = shuffle
        # Whether every pass yields the same, known number of batches (not so for generators).
        self.known_length = isinstance(data, PyDataset) or isinstance(data, torch.utils.data.DataLoader) and \
            not isinstance(data.dataset, torch.utils.data.IterableDataset)
        self._one_shot = iter(data) if iter(data) is data else None  # a generator continues across epochs
        known = len(data) if hasattr(data, "__len__") else None
        self.num_batches = steps or known

    def __iter__(self):
        if isinstance(self.data, PyDataset):
            order = self.draw_order(len(self.data)).tolist() if self.shuffle else range(len(self.data))
            for count, index in enumerate(order):
                if self.num_batches is not None and count >= self.num_batches:
                    break
                yield _convert_batch(self.data[index])
            self.data.on_epoch_end()
            return
        source = self._one_shot if self._one_shot is not None else iter(self.data)
        for count, batch in enumerate(source):
            yield _convert_batch(batch)
            if self.num_batches is not None and count + 1 >= self.num_batches:
                break


def warn_ran_out_of_data(steps, available):
    """Keras's warning when ``steps`` asks for more batches than the data holds (the loop then stops early)."""
    warnings.warn(f"Your input ran out of data: {steps} steps were asked for and the data holds {available} "
                  "batches; the loop stops when the data ends (as Keras does), it does not repeat the data. "
                  "Use a generator or dataset that yields at least as many batches.", stacklevel=4)


def _as_arrays(value):
    """Nested Python lists/tuples of numbers become one array (as Keras reads them); a list of arrays (several
    inputs) stays a list."""
    if isinstance(value, (list, tuple)) and value and not any(
            isinstance(leaf, (np.ndarray, torch.Tensor)) or isinstance(leaf, dict) for leaf in tree.flatten(value)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_as_arrays(item) for item in value)
    if isinstance(value, dict):
        return {key: _as_arrays(item) for key, item in value.items()}
    return value


def limit_steps(adapter):
    """Caps ``adapter``'s batches per epoch at ``lamina.config.max_steps_per_epoch()`` when one is set."""
    cap = config.max_steps_per_epoch()
    if cap and (adapter.num_batches is None or cap < adapter.num_batches):
        warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=3)
        adapter.num_batches = cap
    return adapter


class DatasetAdapter:
    """A map-style torch ``Dataset``: batches of ``batch_size`` samples, shuffled as arrays are (the same
    seed gives the same batches from arrays or from a ``TensorDataset`` of them), collated by a DataLoader."""

    draw_order = staticmethod(torch.randperm)  # see ArrayAdapter
    known_length = True

    def __init__(self, dataset, batch_size=32, steps=None, shuffle=False):
        self.dataset = dataset
        self.size = len(dataset)
        self.batch_size = batch_size or 32
        self.shuffle = shuffle
        self.num_batches = steps or math.ceil(self.size / self.batch_size)

    @staticmethod
    def select_indices(indices):
        """The samples of a batch to load (all of them; a distribution loads only its process's part)."""
        return indices

    def __iter__(self):
        order = (self.draw_order(self.size) if self.shuffle else torch.arange(self.size)).tolist()
        batches_per_pass = math.ceil(self.size / self.batch_size)
        starts = ((step % batches_per_pass) * self.batch_size for step in range(self.num_batches))
        index_batches = [self.select_indices(order[start:start + self.batch_size]) for start in starts]
        for batch in torch.utils.data.DataLoader(self.dataset, batch_sampler=index_batches):
            yield _convert_batch(batch)


def make_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False, class_weight=None):
    """The adapter for ``x`` (see the module docstring); ``y``/``sample_weight`` only with arrays."""
    is_dataset = isinstance(x, torch.utils.data.Dataset) and not isinstance(x, torch.utils.data.IterableDataset)
    if is_dataset or isinstance(x, (PyDataset, torch.utils.data.DataLoader)) or hasattr(x, "__next__") or \
            isinstance(x, torch.utils.data.IterableDataset):
        if y is not None or sample_weight is not None or class_weight:
            raise ValueError(f"When `x` is a {type(x).__name__}, it must yield `(x, y)` or `(x, y, sample_weight)` "
                             "batches: `y`, `sample_weight` and `class_weight` arguments are not supported.")
        if is_dataset:
            return DatasetAdapter(x, batch_size=batch_size, steps=steps, shuffle=shuffle)
        return IterableAdapter(x, steps=steps, shuffle=shuffle)
    if x is None:
        raise ValueError("No input data: pass `x` (arrays, a generator, a DataLoader or a PyDataset).")
    return ArrayAdapter(_as_arrays(x), _as_arrays(y), _as_arrays(sample_weight), batch_size=batch_size, steps=steps,
                        shuffle=shuffle, class_weight=class_weight)
