"""One layer's weights in Keras layouts, set from a file with the checks every loader shares.

A slot is ``(owner module, attribute, WeightSpec)`` as ``Layer._weight_slots()`` lists them. Loaders
collect, per layer, the arrays a file holds, then call ``assign``: shapes are checked for the whole layer
before anything is written, so a mismatch leaves the layer untouched (raised, or skipped with a warning).
"""

import warnings

import numpy as np
import torch

from lamina.dtypes import from_numpy, to_numpy
from lamina.engine.weights import IDENTITY_LAYOUT, assign_value, full_value


def slot_tensor(slot):
    owner, name, _ = slot
    return getattr(owner, name)


def keras_value(slot):
    """The slot's value in Keras's layout, as a NumPy array."""
    return to_numpy(slot[2].layout.to_keras(full_value(slot_tensor(slot))))


def keras_shape(slot):
    """The slot's shape in Keras's layout."""
    return tuple(slot[2].layout.to_keras(slot_tensor(slot)).shape)


def weight_label(slot):
    """``"dense/kernel"``: the owner's name and the weight's Keras name."""
    owner, name, _ = slot
    tensor = slot_tensor(slot)
    return f"{getattr(owner, 'name', type(owner).__name__)}/{getattr(tensor, 'name', None) or name}"


class MismatchReport:
    """Collects the layers skipped for ``skip_mismatch=True`` and warns once, naming each."""

    def __init__(self, filepath):
        self.filepath = filepath
        self.skipped = []

    def skip(self, message):
        self.skipped.append(message)

    def warn(self):
        if self.skipped:
            warnings.warn(f"{self.filepath}: skipped loading {len(self.skipped)} layer(s) whose weights do not "
                          "match (skip_mismatch=True):\n  " + "\n  ".join(self.skipped), stacklevel=3)


def skip_or_raise(message, filepath, report):
    """Raises the mismatch, or records it as a skipped layer (``skip_mismatch=True``); returns False."""
    if report is None:
        raise ValueError(f"{filepath}: {message}.")
    report.skip(message)
    return False


def assign(layer_label, slots, datasets, read, filepath, report=None):
    """Sets ``slots`` from ``datasets`` (objects with ``.shape``; ``read(dataset)`` gives the array).

    The count and every shape are compared before any data is read or written. On a mismatch: a
    ValueError naming the layer, the weight and both shapes (or counts), or (``report`` given, for
    ``skip_mismatch=True``) the layer is skipped and recorded. Returns whether the layer was set.
    """
    if len(datasets) != len(slots):
        return skip_or_raise(f"layer '{layer_label}' expects {len(slots)} weight(s) "
                         f"({', '.join(weight_label(slot) for slot in slots) or 'none'}), the file holds "
                         f"{len(datasets)}", filepath, report)
    for slot, dataset in zip(slots, datasets):
        expected, found = keras_shape(slot), tuple(dataset.shape)
        if expected != found:
            return skip_or_raise(f"layer '{layer_label}', weight '{weight_label(slot)}': the model expects shape "
                             f"{expected}, the file holds shape {found}", filepath, report)
    values = [read(dataset) for dataset in datasets]
    with torch.no_grad():
        for slot, value in zip(slots, values):
            target = slot_tensor(slot)
            array = np.asarray(value)
            if array.dtype.kind not in "biuf" and array.dtype.name != "bfloat16":
                raise ValueError(f"{filepath}: layer '{layer_label}', weight '{weight_label(slot)}' holds "
                                 f"{array.dtype} data; weights must be numeric.")
            source = from_numpy(array).to(device=target.device, dtype=target.dtype)
            assign_value(target, slot[2].layout.from_keras(source))
    return True


# ------------------------------------------------------------------------------------------ optimizer state
def _optimizer_state(optimizer):
    """(tensor, layout) per optimizer variable: a slot takes the storage layout of the weight it shadows."""
    owners = optimizer.slot_owners() if hasattr(optimizer, "slot_owners") else {}
    return [(tensor, getattr(owners.get(id(tensor)), "keras_layout", IDENTITY_LAYOUT))
            for tensor in optimizer.variables]


def optimizer_values(optimizer):
    """The optimizer's variables in Keras's order and layouts, as NumPy arrays."""
    return [to_numpy(layout.to_keras(full_value(tensor))) for tensor, layout in _optimizer_state(optimizer)]


def restore_optimizer(model, optimizer, datasets, read, filepath, without_learning_rate=False):
    """Sets the optimizer's variables from ``datasets`` (Keras order and layouts), building it first.

    ``without_learning_rate``: the file lacks the learning-rate variable (tf.keras 2.11+ optimizers).
    If the counts or shapes differ, warns and leaves the optimizer freshly initialized.
    """
    if not optimizer.built:
        optimizer.build(model.trainable_weights)
    state = _optimizer_state(optimizer)
    if without_learning_rate and len(state) > 1 and state[1][0].ndim == 0 and state[1][0].is_floating_point():
        state = state[:1] + state[2:]
    expected = [tuple(layout.to_keras(tensor).shape) for tensor, layout in state]
    found = [tuple(dataset.shape) for dataset in datasets]
    if expected != found:
        warnings.warn(f"{filepath}: the optimizer state was not restored: the file holds {len(found)} variables for "
                      f"optimizer '{optimizer.name}', which has {len(expected)}"
                      f"{'' if len(found) != len(expected) else ' of other shapes'}. Training continues from a "
                      "freshly initialized optimizer.", stacklevel=4)
        return False
    with torch.no_grad():
        for (tensor, layout), dataset in zip(state, datasets):
            value = from_numpy(np.asarray(read(dataset))).to(tensor.device, tensor.dtype)
            assign_value(tensor, layout.from_keras(value))
    return True
