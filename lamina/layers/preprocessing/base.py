"""The base of the preprocessing layers: Keras's ``adapt`` protocol and inputs kept as they come.

``adapt(data, batch_size=None, steps=None)`` calls ``reset_state()``, then ``update_state(batch)``
for each batch of ``data``, then ``finalize_state()`` (Keras's ``PreprocessingLayer`` protocol).
``data`` is the whole dataset (a NumPy array, a torch tensor, or for the lookups and text a list
of values) or an iterable of batches: a ``torch.utils.data.DataLoader``, a ``PyDataset``
(anything with ``__len__``, ``__getitem__`` and ``on_epoch_end``), a generator or any iterable.
A batch given as ``(x, y)`` or ``(x, y, sample_weight)`` contributes its ``x``.

Inputs are not cast to the layer dtype on the way in: text stays a NumPy array of strings and each
layer converts numbers as Keras does (``Normalization`` to floats, the lookups to int64).
"""

import itertools

import numpy as np
import torch

from lamina.dtypes import is_string_array
from lamina.engine.layer import Layer
from lamina.symbolic.keras_tensor import KerasTensor


def _is_py_dataset(data):
    """A ``keras.utils.PyDataset``-like sequence of batches (duck-typed: lamina.utils sits above layers)."""
    return all(hasattr(data, name) for name in ("__len__", "__getitem__", "on_epoch_end"))


def _inputs_of(batch, collated_lists=False):
    """The ``x`` of a batch given as ``(x, y)``/``(x, y, w)`` (a tuple, as Keras reads it; a DataLoader also
    collates samples of ``(x, y)`` into a list of tensors/lists), else the batch itself."""
    if isinstance(batch, tuple) and 1 <= len(batch) <= 3:
        return batch[0]
    if collated_lists and isinstance(batch, list) and 2 <= len(batch) <= 3 and \
            not isinstance(batch[0], (str, bytes, int, float)):
        return batch[0]
    return batch


class DataLayer(Layer):
    """A layer that reads data as it comes (Keras's ``DataLayer``): tensors are not cast to the layer dtype
    on the way in, text stays a NumPy string array; the symbolic output's dtype is ``_output_dtype()``."""

    casts_integer_inputs = False  # ids, bins and categories stay integers

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # each layer converts its inputs itself (text stays text)

    def _convert_input(self, value):
        if isinstance(value, torch.Tensor):
            return value
        return super()._convert_input(value)

    def _output_dtype(self):
        """The dtype name of the layer's output (the symbolic output's dtype)."""
        return self.compute_dtype

    def compute_output_spec(self, inputs, *args, **kwargs):
        return KerasTensor(self.compute_output_shape(_shape_of(inputs)), dtype=self._output_dtype())


class PreprocessingLayer(DataLayer):
    """A layer whose state is computed from data by ``adapt`` (see the module docstring).

    Subclasses implement ``update_state(batch)`` and ``finalize_state()`` (and ``reset_state()`` when
    they accumulate), and may override ``_adapt_array(array)`` to shape a whole-dataset array before
    it is batched (the lookups read a rank-1 array as one value per row).
    """

    # How `adapt` reads a Python list: as the data itself (lookups, text) or as a list of batches
    # (Normalization, Discretization), as Keras does.
    _adapt_lists_are_data = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._is_adapted = False

    @property
    def is_adapted(self):
        """Whether ``adapt`` has run (or the state was given, set or loaded)."""
        return self._is_adapted

    def adapt(self, data, batch_size=None, steps=None):
        """Computes the layer's state from ``data`` (see the module docstring).

        Args:
            data: the whole dataset (array, tensor, list) or an iterable of batches.
            batch_size: with whole-dataset arrays, process them in batches of this many rows
                (the result is the same up to float rounding; the default reads them at once).
                With a map-style ``torch.utils.data.Dataset``, the DataLoader batch size (default 32).
            steps: the number of batches to read (for iterables, or arrays with ``batch_size``).
        """
        self.reset_state()
        for batch in self._adapt_batches(data, batch_size, steps):
            self.update_state(batch)
        self.finalize_state()
        self._is_adapted = True

    def update_state(self, data):
        raise NotImplementedError(f"{type(self).__name__} cannot be adapted.")

    def reset_state(self):
        """Clears what ``update_state`` accumulated."""

    def finalize_state(self):
        """Turns the accumulated statistics into the layer's state."""

    def _adapt_array(self, array):
        return array

    def _adapt_batches(self, data, batch_size, steps):
        name = type(self).__name__
        if batch_size is not None:
            batch_size = int(batch_size)
            if batch_size < 1:
                raise ValueError(f"{name}.adapt: `batch_size` must be a positive int. Received: "
                                 f"batch_size={batch_size}")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise ValueError(f"{name}.adapt: `steps` must be None or a positive int. Received: steps={steps!r}")
        whole = isinstance(data, (np.ndarray, torch.Tensor, str, bytes)) or \
            isinstance(data, (list, tuple)) and self._adapt_lists_are_data
        if whole:
            array = self._adapt_array(data if isinstance(data, torch.Tensor) else _as_array(data, name))
            if batch_size is None:
                if steps is not None:
                    raise ValueError(f"{name}.adapt: `steps` needs `batch_size` when `data` is an array (the "
                                     f"array is read at once otherwise). Received: steps={steps}")
                batches = iter([array])
            else:
                batches = (array[start:start + batch_size] for start in range(0, len(array), batch_size))
            collated = False
        elif _is_py_dataset(data):
            batches = (_inputs_of(data[index]) for index in range(len(data)))
            collated = False
        elif isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.utils.data.IterableDataset):
            data = torch.utils.data.DataLoader(data, batch_size=batch_size or 32)
            batches, collated = iter(data), True
        elif hasattr(data, "__iter__"):
            batches, collated = iter(data), isinstance(data, torch.utils.data.DataLoader)
        else:
            raise TypeError(f"{name}.adapt: unsupported data of type {type(data).__name__}. Expected a NumPy "
                            "array, a torch tensor, a list, or an iterable of batches (DataLoader, PyDataset, "
                            "generator).")
        count = 0
        for batch in itertools.islice(batches, steps):
            count += 1
            yield _inputs_of(batch, collated) if not whole else batch
        if count == 0:
            raise ValueError(f"{name}.adapt received no data (an empty iterable). Pass an array or a non-empty "
                             "iterable of batches.")


def _shape_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [tuple(t.shape) for t in inputs]
    return tuple(inputs.shape)


def _as_array(data, owner):
    """A NumPy array from adapt data; text as a string array."""
    array = np.asarray(data)
    if array.dtype == object and not is_string_array(array):
        raise TypeError(f"{owner}.adapt: could not read the data as one array (ragged or mixed content). Received "
                        f"a {type(data).__name__}; pass an array, or an iterable of equal-shaped batches.")
    return array


def to_string_array(value, owner, encoding="utf-8"):
    """``value`` (a NumPy array, list or scalar of str/bytes) as a NumPy ``str`` array.

    Raises TypeError naming ``owner`` for numbers, tensors or other content.
    """
    if isinstance(value, torch.Tensor):
        raise TypeError(f"{owner}: expected strings (a NumPy array or list of str/bytes), received a torch tensor "
                        f"of dtype {value.dtype}. torch has no string tensors: pass text as NumPy arrays.")
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    if array.dtype.kind == "U":
        return array
    if array.dtype.kind == "S":
        return np.char.decode(array, encoding)
    if array.dtype == object and all(isinstance(item, (str, bytes)) for item in array.flat):
        flat = [item.decode(encoding) if isinstance(item, bytes) else item for item in array.flat]
        return np.array(flat, dtype=str).reshape(array.shape) if flat else np.zeros(array.shape, dtype=str)
    raise TypeError(f"{owner}: expected strings (str or bytes), received an array of dtype {array.dtype}.")

