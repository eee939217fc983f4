"""Symbolic tensors: a shape with ``None`` for unknown dimensions, a dtype, and history.

``lamina.Input`` returns one; layers called on them compute shapes, not values.
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


def is_keras_tensor(value):
    return isinstance(value, KerasTensor)
