"""Contiguous optimizer state: the built variables, and each kind of slot, as views of one buffer each.

With many small variables an update costs what its ops cost to launch, not their arithmetic: Keras's
Adam is seven ``_foreach`` ops, each a kernel per variable. When the variables are views of one flat
buffer (and the momentums of another, and so on), the same formula runs as seven ops on one tensor
each, and the gradients are gathered into one buffer once per step.

The results are those of the per-variable update, bit for bit: only optimizers whose update is the
same arithmetic on every element take part (``elementwise`` marks their ``_update``), and elementwise
kernels round each element alike whatever tensor holds it (tests/test_optimizer_flat_state.py checks
every such optimizer against its per-variable run). Clipping by norm, which reduces per variable,
runs per variable.

The variables keep being what they were: the same ``Parameter`` objects, with their shapes, values and
gradients; only their storage moved (``state_dict``, ``torch.save``, safetensors and DDP read views as
they read any tensor). Once anything re-seats a variable (``module.to(...)``, FSDP's sharding,
``p.data = ...``), the views no longer cover it: the optimizer then updates per variable (its slots
stay views, which are tensors like any other) and never moves the storage back. The slots are the
optimizer's own and are not checked: only the optimizer re-seats them (FSDP's ``_rebind``, which drops
the flat state); loading and the EMA callback write into them in place.
"""

from types import SimpleNamespace

import torch
from torch._utils import _flatten_dense_tensors


# Where the flat update pays, measured with Adam on 2 x86-64 cores ("Intel(R) Xeon(R) Processor", 1 thread,
# torch 2.13; flat over per-variable speed): 1.3-1.9x for 6-80 variables averaging 270-6,500 elements (an MLP,
# a small U-Net, stacked LSTMs, 40 convolution kernels); 1.0x at an average of 33,000; 0.5-0.9x for
# 4 x 1M-element matrices, where gathering the gradients (a copy of them all) outweighs the launches saved.
# On CUDA a foreach op is already one kernel for every tensor: the state stays per variable there.
MAX_ELEMENTS = 1 << 18
MAX_MEAN_ELEMENTS = 1 << 13


def elementwise(update):
    """Marks an optimizer's ``_update`` as the same arithmetic on every element (no per-variable norm,
    shape or reduction), so that it may run on the flat buffers. It receives the variables, gradients and
    slots as lists (one tensor per variable) or as the flat buffers (one tensor each), and computes with
    ``multi_tensor_ops(variables)``, which works on either."""
    update.elementwise = True
    return update


# The elementwise ops the updates are written with, under their tensor-method names.
_OP_NAMES = ("abs", "add", "add_", "addcdiv_", "clamp_max", "clamp_min", "copy_", "div", "maximum_", "mul", "mul_",
             "neg_", "sign_", "sqrt", "sqrt_", "sub_")

# On lists of tensors (one per variable): torch's ``_foreach_*`` ops.
FOREACH_OPS = SimpleNamespace(**{name: getattr(torch, f"_foreach_{name}") for name in _OP_NAMES})
# On single tensors (the flat buffers): each tensor's own op, which a ``_foreach_*`` op on a one-tensor list
# calls too (the same kernel, the same roundings), without that op's second dispatch and its lists (Adam on
# the batch-8 MLP: the step 6% faster). Tensors have no in-place ``maximum_``: ``torch.maximum(out=)`` is it.
TENSOR_OPS = SimpleNamespace(**{name: getattr(torch.Tensor, name) for name in _OP_NAMES if name != "maximum_"},
                             maximum_=lambda tensor, other: torch.maximum(tensor, other, out=tensor))


def multi_tensor_ops(tensors):
    """``TENSOR_OPS`` for a single tensor (a flat buffer), else ``FOREACH_OPS`` (a list of tensors)."""
    return TENSOR_OPS if isinstance(tensors, torch.Tensor) else FOREACH_OPS


class FlatState:
    """The built ``variables`` and ``slots`` (name -> one slot per variable) re-seated as views of one
    buffer per kind; ``weights`` and ``slots`` (name -> buffer) are then the flat buffers."""

    def __init__(self, variables, slots):
        self.variables = list(variables)
        self.weights = _reseat(self.variables)
        self.slots = {name: _reseat(tensors) for name, tensors in slots.items()}
        self._expected = self._pointers()

    @staticmethod
    def eligible(variables):
        """Whether ``variables`` should share one buffer: two or more distinct, plain, contiguous dense CPU
        tensors of one dtype (a sharded or compiled model's are left alone), small enough that launching
        ops is what the update costs (``MAX_ELEMENTS``, ``MAX_MEAN_ELEMENTS``)."""
        if len(variables) < 2 or len({id(v) for v in variables}) != len(variables) \
                or torch.compiler.is_compiling():
            return False
        first = variables[0]
        elements = sum(v.numel() for v in variables)
        return elements <= MAX_ELEMENTS and elements <= MAX_MEAN_ELEMENTS * len(variables) and all(
            type(v.data) is torch.Tensor and v.layout is torch.strided and v.is_contiguous()
            and v.dtype == first.dtype and v.device.type == "cpu" and not hasattr(v, "device_mesh")
            for v in variables)

    def covers(self, variables):
        """Whether ``variables`` are the built ones, in order, still views of the buffers."""
        return len(variables) == len(self.variables) \
            and all(v is built for v, built in zip(variables, self.variables)) \
            and self._pointers() == self._expected

    def gather(self, grads):
        """The gradients as one flat tensor, in the variables' order."""
        return _flatten_dense_tensors(grads)

    def _pointers(self):
        """Where the variables and the buffers lie (the buffers' own addresses tell a copy of this state, whose
        recorded addresses are another's, from the original)."""
        return [t.data_ptr() for t in self.variables] + [self.weights.data_ptr()] \
            + [buffer.data_ptr() for buffer in self.slots.values()]


@torch.no_grad()
def _reseat(tensors):
    """One buffer holding ``tensors``' values; each tensor's storage becomes its view of it."""
    buffer = _flatten_dense_tensors([t.detach() for t in tensors])
    offset = 0
    for tensor in tensors:
        size = tensor.numel()
        tensor.data = buffer[offset:offset + size].view(tensor.shape)
        offset += size
    return buffer
