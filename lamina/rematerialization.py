"""Rematerialization (gradient checkpointing): Keras 3's ``keras.remat`` and ``keras.RematScope``.

A rematerialized call keeps no intermediate results for the backward pass: autograd runs the call again
when the gradients are computed (``torch.utils.checkpoint`` without reentrancy, as Keras's torch
backend). The values and the gradients are those of the plain call; the peak memory of training is lower
and each rematerialized call costs a second forward.

Layers (and ``lamina.ops`` steps of a functional graph) created inside a ``RematScope`` are
rematerialized when called on tensors, by the scope's mode:

- ``"full"``: every call;
- ``"activations"``: only the ``activation`` of layers that have one (``Dense(..., activation="relu")``);
- ``"larger_than"``: calls whose outputs hold more than ``output_size_threshold`` values (unknown
  dimensions count 1);
- ``"list_of_layers"``: the layers named in ``layer_names``;
- ``None``: none (a nested scope can switch it off).

Without autograd (inference, ``torch.no_grad``) a rematerialized call is the plain call.
"""

import collections
import functools
import math
import threading

import torch
import torch.utils.checkpoint

from lamina import tree

MODES = ("full", "activations", "larger_than", "list_of_layers", None)

RematMode = collections.namedtuple("RematMode", ["mode", "output_size_threshold", "layer_names"])

_scopes = threading.local()


class RematScope:
    """A context in which created layers are rematerialized when called (see the module docstring).

    Args:
        mode: one of "full", "activations", "larger_than", "list_of_layers" or None.
        output_size_threshold: the output size above which "larger_than" rematerializes (default 1024).
        layer_names: the names "list_of_layers" rematerializes (default none).
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in MODES:
            raise ValueError(f"RematScope: `mode` must be one of {MODES}. Received: mode={mode!r}")
        if isinstance(output_size_threshold, bool) or not isinstance(output_size_threshold, int) \
                or output_size_threshold < 0:
            raise ValueError("RematScope: `output_size_threshold` must be a non-negative int. Received: "
                             f"output_size_threshold={output_size_threshold!r}")
        if layer_names is not None and (isinstance(layer_names, str)
                                        or not all(isinstance(name, str) for name in layer_names)):
            raise ValueError(f"RematScope: `layer_names` must be a list of layer names. Received: "
                             f"layer_names={layer_names!r}")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc_info):
        _stack().pop()


def _stack():
    if not hasattr(_scopes, "stack"):
        _scopes.stack = []
    return _scopes.stack


def get_current_remat_mode():
    """The innermost ``RematScope``'s settings as a ``RematMode``, or None outside every scope."""
    stack = _stack()
    if not stack:
        return None
    scope = stack[-1]
    return RematMode(scope.mode, scope.output_size_threshold, scope.layer_names)


def remat(f):
    """``f`` rematerialized: the same outputs and gradients, its intermediate results recomputed in the
    backward pass instead of kept (``torch.utils.checkpoint.checkpoint(f, ..., use_reentrant=False)``)."""
    @functools.wraps(f)
    def rematerialized(*args, **kwargs):
        if not torch.is_grad_enabled():
            return f(*args, **kwargs)
        return torch.utils.checkpoint.checkpoint(f, *args, use_reentrant=False, **kwargs)

    return rematerialized


def larger_than_threshold(mode, specs):
    """Whether symbolic outputs ``specs`` (a structure) hold more values than ``mode``'s threshold ("larger_than";
    unknown dimensions count 1)."""
    size = sum(math.prod(size or 1 for size in spec.shape) for spec in tree.flatten(specs) if hasattr(spec, "shape"))
    return size > mode.output_size_threshold
