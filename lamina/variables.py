"""Variable: a weight or state tensor that is a ``torch.nn.Parameter`` and answers to Keras's ``Variable`` API.

PyTorch code sees a Parameter (optimizers, ``state_dict``, DDP, ``torch.compile``); Keras code finds
``v.value``, ``v.assign(...)``, ``v.assign_add(...)``, ``v.assign_sub(...)``, ``v.numpy()``, ``v.name``,
``v.path``, ``v.trainable``, ``v.aggregation``, ``v.regularizer`` and ``v.constraint``.

Layer weights (``Layer.add_weight``) and metric state (``Metric.add_variable``) are Variables, and
``lamina.Variable(initializer, shape=None, dtype=None, trainable=True, ..., name=None)`` makes one as
``keras.Variable`` does (from a value, or from an initializer and a shape).

Layouts: ``numpy()`` returns, and ``assign*`` take, values in Keras's layout (what ``get_weights`` and
``set_weights`` speak). ``v.value``, ``v.shape`` and arithmetic on ``v`` are the tensor as it is stored,
which is Keras's layout for every weight except the kernels that lamina keeps in PyTorch's layout for
its native kernels (convolutions, depthwise convolutions, recurrent cells): there ``v.shape`` is
PyTorch's shape. ``v.dtype`` is the torch dtype (``lamina.dtypes.standardize_dtype(v.dtype)`` gives
Keras's name).
"""

import numpy as np
import torch

from lamina import initializers, naming, weight_budget
from lamina.dtypes import TORCH_DTYPES, standardize_dtype


class _Identity:
    @staticmethod
    def from_keras(tensor):
        return tensor

    @staticmethod
    def to_keras(tensor):
        return tensor


IDENTITY_LAYOUT = _Identity()


class WeightSpec:
    """How a weight was declared: Keras shape, layout, trainability, regularizer, constraint."""

    __slots__ = ("keras_shape", "layout", "trainable", "regularizer", "constraint")

    def __init__(self, keras_shape, layout, trainable, regularizer, constraint):
        self.keras_shape = tuple(keras_shape)
        self.layout = layout or IDENTITY_LAYOUT
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint


_AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")


def initial_value(initializer, shape, dtype, owner="Variable"):
    """The starting tensor of a Variable: ``initializer`` called on ``shape`` (a name, an
    ``Initializer`` or a callable), or ``initializer`` itself when it is a value (then ``shape``,
    when given, must match)."""
    torch_dtype = None if dtype is None else TORCH_DTYPES[standardize_dtype(dtype)]
    if isinstance(initializer, str) or callable(initializer) and not isinstance(initializer, torch.Tensor):
        if shape is None:
            raise ValueError(f"{owner}: when creating a Variable from an initializer, the `shape` argument "
                             f"should be specified. Received: initializer={initializer!r} and shape={shape}")
        shape = tuple(int(d) for d in shape)
        torch_dtype = torch_dtype or TORCH_DTYPES[standardize_dtype(None)]
        weight_budget.claim(owner, "variable", shape, torch_dtype.itemsize)
        return torch.as_tensor(initializers.get(initializer)(shape, dtype=torch_dtype))
    elif isinstance(initializer, (torch.Tensor, np.ndarray, np.generic)):
        value = torch.as_tensor(initializer).detach().clone()
    else:  # Python numbers and lists: ints become int32 and floats floatx, as in Keras
        value = torch.as_tensor(initializer)
        value = value.to({torch.int64: torch.int32, torch.float32: TORCH_DTYPES[standardize_dtype(None)]}.get(
            value.dtype, value.dtype))
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ValueError(f"{owner}: the initial value's shape {tuple(value.shape)} does not match "
                         f"shape={tuple(shape)}.")
    return value if torch_dtype is None else value.to(torch_dtype)


class Variable(torch.nn.Parameter):
    """A weight (``Layer.add_weight``: trainable ones are parameters, others buffers) or metric state.

    ``Variable(initializer, shape=None, dtype=None, trainable=True, autocast=True, aggregation="none",
    synchronization="auto", name=None)`` as ``keras.Variable``: ``initializer`` is a value (array,
    tensor, number) or an initializer (name, ``Initializer``, callable) called on ``shape``.
    """

    def __new__(cls, initializer=None, shape=None, dtype=None, trainable=True, autocast=True,
                aggregation="none", synchronization="auto", name=None, *, requires_grad=None):
        if requires_grad is not None:  # lamina's own weights: a stored tensor, bound by its owner
            return torch.Tensor._make_subclass(cls, initializer, requires_grad)
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"Variable: invalid value for argument `aggregation`. Expected one of "
                             f"{_AGGREGATIONS}. Received: aggregation={aggregation!r}")
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"Variable: argument `name` must be a string without '/'. Received: name={name!r}")
        value = initial_value(initializer, shape, dtype)
        variable = torch.Tensor._make_subclass(cls, value, bool(trainable) and value.is_floating_point())
        name = name or naming.unique_name("variable")  # Keras numbers unnamed variables as it numbers layers
        scope = naming.current_path()
        variable._bind(WeightSpec(value.shape, None, bool(trainable), None, None), name,
                       f"{scope}/{name}" if scope else name)
        variable._aggregation = aggregation
        return variable

    def __init__(self, *args, **kwargs):
        super().__init__()

    def _bind(self, spec, name, path):
        """Attaches the weight's declaration (layout, trainability, regularizer, constraint) and names."""
        self._spec, self._keras_name, self._path = spec, name, path
        return self

    @property
    def name(self):
        """The weight's name, e.g. ``"kernel"``."""
        return self._keras_name

    @property
    def path(self):
        """The weight's path, e.g. ``"sequential/dense/kernel"`` (the name scopes it was created in)."""
        return self._path

    @property
    def keras_layout(self):
        """How the weight is stored relative to Keras's layout: ``keras_layout.to_keras(v)`` / ``from_keras``
        (``Tensor.layout`` stays torch's memory layout)."""
        return self._spec.layout

    @property
    def value(self):
        """The tensor itself, as Keras's torch backend exposes it (``v.value.grad`` after ``backward``)."""
        return self

    @property
    def trainable(self):
        return self._spec.trainable and (self.requires_grad or not self.is_floating_point())

    @trainable.setter
    def trainable(self, value):
        if self.is_floating_point() and self._spec.trainable:
            self.requires_grad_(bool(value))

    @property
    def aggregation(self):
        """How the variable combines across replicas ("none", "mean", "sum", "only_first_replica")."""
        return getattr(self, "_aggregation", "none")

    @property
    def synchronization(self):
        return "auto"

    @property
    def overwrite_with_gradient(self):
        return False

    @property
    def regularizer(self):
        return self._spec.regularizer

    @property
    def constraint(self):
        return self._spec.constraint

    def _stored(self, value):
        """``value`` (Keras layout, any array-like) as a tensor in this weight's storage layout."""
        tensor = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else np.asarray(value),
                                 dtype=self.dtype, device=self.device)
        if tuple(tensor.shape) != self._spec.keras_shape:
            raise ValueError(f"Variable '{self._path}': the value's shape {tuple(tensor.shape)} does not match "
                             f"the variable's shape {self._spec.keras_shape} (Keras layout).")
        return self._spec.layout.from_keras(tensor)

    def assign(self, value):
        """Sets the weight to ``value`` (Keras layout, same shape), outside autograd."""
        with torch.no_grad():
            self.copy_(self._stored(value))
        return self

    def assign_add(self, delta):
        """Adds ``delta`` (Keras layout; broadcast as in ``v + delta``), outside autograd."""
        return self.assign(self._keras_value() + torch.as_tensor(delta, dtype=self.dtype, device=self.device))

    def assign_sub(self, delta):
        """Subtracts ``delta`` (Keras layout; broadcast as in ``v - delta``), outside autograd."""
        return self.assign(self._keras_value() - torch.as_tensor(delta, dtype=self.dtype, device=self.device))

    def _apply_constraint(self):
        """Projects the weight onto its constraint (in Keras's layout); optimizers call it after each update."""
        self.assign(self._spec.constraint(self._keras_value()))

    def _keras_value(self):
        return self._spec.layout.to_keras(self.detach())

    def numpy(self):
        """The value as a NumPy array in Keras's layout (bfloat16 read as float32)."""
        value = self._keras_value().cpu()
        return (value.float() if value.dtype is torch.bfloat16 else value).numpy()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __repr__(self):
        return (f"<Variable path={self._path}, shape={self._spec.keras_shape}, dtype={str(self.dtype)[6:]}, "
                f"value={self.numpy()}>")

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            copied = type(self)(self.data.clone(memory_format=torch.preserve_format), requires_grad=self.requires_grad)
            memo[id(self)] = copied._bind(self._spec, self._keras_name, self._path)
            copied._aggregation = self.aggregation
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        return _rebuild_variable, (self.detach(), self.requires_grad, self._spec, self._keras_name, self._path,
                                   self.aggregation)


def _rebuild_variable(data, requires_grad, spec, name, path, aggregation="none"):
    variable = Variable(data, requires_grad=requires_grad)._bind(spec, name, path)
    variable._aggregation = aggregation
    return variable
