"""Variable: a layer weight that is a ``torch.nn.Parameter`` and answers to Keras's ``Variable`` API.

PyTorch code sees a Parameter (optimizers, ``state_dict``, DDP, ``torch.compile``); Keras code finds
``v.value``, ``v.assign(...)``, ``v.assign_add(...)``, ``v.assign_sub(...)``, ``v.numpy()``, ``v.name``,
``v.path``, ``v.trainable``, ``v.regularizer`` and ``v.constraint``.

Layouts: ``numpy()`` returns, and ``assign*`` take, values in Keras's layout (what ``get_weights`` and
``set_weights`` speak). ``v.value``, ``v.shape`` and arithmetic on ``v`` are the tensor as it is stored,
which is Keras's layout for every weight except the kernels that lamina keeps in PyTorch's layout for
its native kernels (convolutions, depthwise convolutions, recurrent cells): there ``v.shape`` is
PyTorch's shape. ``v.dtype`` is the torch dtype (``lamina.dtypes.standardize_dtype(v.dtype)`` gives
Keras's name).
"""

import numpy as np
import torch


class Variable(torch.nn.Parameter):
    """A weight created by ``Layer.add_weight`` (trainable ones are parameters, others buffers)."""

    def __new__(cls, data, requires_grad=True):
        return torch.Tensor._make_subclass(cls, data, requires_grad)

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
            copied = type(self)(self.data.clone(memory_format=torch.preserve_format), self.requires_grad)
            memo[id(self)] = copied._bind(self._spec, self._keras_name, self._path)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        return _rebuild_variable, (self.detach(), self.requires_grad, self._spec, self._keras_name, self._path)


def _rebuild_variable(data, requires_grad, spec, name, path):
    return Variable(data, requires_grad)._bind(spec, name, path)
