"""Output specs of arbitrary callables, computed on fake tensors (no kernels run).

Used for layers that don't define ``compute_output_shape`` (custom layers,
``Lambda``). Unknown dimensions are probed with two sizes, as Keras does: a
dimension that follows the probe is unknown (None) in the result.
"""

import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.utils._python_dispatch import _disable_current_modes

from lamina import tree
from lamina.dtypes import DTYPE_NAMES, TORCH_DTYPES
from lamina.symbolic.keras_tensor import KerasTensor

_PROBE_SIZES = (83, 89)


def is_fake(tensor):
    return isinstance(tensor, FakeTensor)


def real_tensor_mode():
    """A context where tensors are real again (to build weights during fake inference)."""
    return _disable_current_modes()


def _run_fake(fn, args, kwargs, probe):
    with FakeTensorMode(allow_non_fake_inputs=True):
        def to_fake(value):
            if isinstance(value, KerasTensor):
                shape = [probe if d is None else d for d in value.shape]
                return torch.empty(shape, dtype=TORCH_DTYPES[value.dtype])
            return value

        outputs = fn(*tree.map_structure(to_fake, args), **tree.map_structure(to_fake, kwargs))
    return outputs


def infer_output_spec(fn, args, kwargs):
    """KerasTensors (with None where a dimension depends on unknown input sizes) for ``fn``'s outputs."""
    has_unknown = any(None in t.shape for t in tree.flatten((args, kwargs)) if isinstance(t, KerasTensor))
    runs = [_run_fake(fn, args, kwargs, probe) for probe in (_PROBE_SIZES if has_unknown else _PROBE_SIZES[:1])]

    def to_spec(*tensors):
        first = tensors[0]
        if not isinstance(first, torch.Tensor):
            return first
        shape = tuple(d if all(t.shape[i] == d for t in tensors) else None for i, d in enumerate(first.shape))
        return KerasTensor(shape, dtype=DTYPE_NAMES.get(first.dtype, "float32"))

    flat_runs = [tree.flatten(run) for run in runs]
    return tree.pack_sequence_as(runs[0], [to_spec(*leaves) for leaves in zip(*flat_runs)])
