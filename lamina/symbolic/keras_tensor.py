"""Symbolic tensors: a shape with ``None`` for unknown dimensions, a dtype, and history.

``lamina.Input`` returns one; layers called on them compute shapes, not values. Python operators
(``x + y``, ``x[0]``, ``x.reshape(...)``...) record ``lamina.ops`` nodes, as in Keras 3: the ops
package, a floor above, fills ``OPERATORS`` with its functions when it is imported.
"""

from lamina import config


class KerasTensor:
    """A symbolic tensor.

    Attributes:
        shape: tuple of ints or None (the batch dimension is usually None).
        dtype: dtype name, e.g. "float32".
        name: optional name.
    """

    def __init__(self, shape, dtype=None, sparse=False, name=None, record_history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype or config.floatx()
        self.sparse = sparse
        self.name = name
        # (layer, node_index, tensor_index) of the node that produced this tensor.
        self._keras_history = record_history

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        origin = f", name={self.name}" if self.name else ""
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}{origin}>"

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor has no value and cannot be used as a Python bool. "
                        "Write the computation in a layer (e.g. lamina.layers.Lambda) instead.")

    def __array__(self, *args, **kwargs):
        raise TypeError("A symbolic KerasTensor has no value and cannot be converted to a NumPy array. "
                        "Call the model on real data to get values.")

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __iter__(self):
        raise TypeError("A symbolic KerasTensor cannot be iterated. Use lamina.ops.unstack or index it instead.")

    def reshape(self, newshape):
        return OPERATORS["reshape"](self, newshape)

    def squeeze(self, axis=None):
        return OPERATORS["squeeze"](self, axis=axis)

    @property
    def T(self):
        return OPERATORS["transpose"](self)


# name -> ops function, filled by lamina.ops at import (Keras's KerasTensor operators call keras.ops).
OPERATORS = {}


def _binary(name, reflected=False):
    def method(self, other):
        return OPERATORS[name](other, self) if reflected else OPERATORS[name](self, other)
    return method


def _unary(name):
    def method(self):
        return OPERATORS[name](self)
    return method


for _dunder, _name in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("matmul", "matmul"),
                       ("truediv", "true_divide"), ("floordiv", "floor_divide"), ("mod", "mod"), ("pow", "power"),
                       ("and", "logical_and"), ("or", "logical_or"), ("xor", "logical_xor")):
    setattr(KerasTensor, f"__{_dunder}__", _binary(_name))
    setattr(KerasTensor, f"__r{_dunder}__", _binary(_name, reflected=True))
for _dunder, _name in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                       ("ne", "not_equal"), ("getitem", "get_item")):
    setattr(KerasTensor, f"__{_dunder}__", _binary(_name))
for _dunder, _name in (("neg", "negative"), ("abs", "absolute"), ("invert", "logical_not")):
    setattr(KerasTensor, f"__{_dunder}__", _unary(_name))
KerasTensor.__round__ = lambda self, ndigits=None: OPERATORS["round"](self, decimals=ndigits or 0)


def is_keras_tensor(value):
    return isinstance(value, KerasTensor)


def has_symbolic(values):
    """Whether ``values`` (an iterable of arguments, nested in lists/tuples/dicts) holds a KerasTensor."""
    for value in values:
        if isinstance(value, KerasTensor):
            return True
        if isinstance(value, (list, tuple)) and has_symbolic(value):
            return True
        if isinstance(value, dict) and has_symbolic(value.values()):
            return True
    return False
