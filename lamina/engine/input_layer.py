"""InputLayer and ``Input``: the entry points of symbolic models."""

from lamina.dtypes import standardize_dtype
from lamina.symbolic.keras_tensor import KerasTensor
from lamina.engine.layer import Layer
from lamina.symbolic.node import Node
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class InputLayer(Layer):
    """The layer behind ``lamina.Input``: it has one output, a symbolic tensor, and no weights.

    Args:
        shape: shape without the batch dimension (tuple; ``None`` for unknown sizes).
        batch_size: optional fixed batch size.
        dtype: the input dtype (default floatx).
        batch_shape: full shape including the batch dimension (instead of ``shape``).
    """

    is_input_layer = True

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, ragged=False, input_shape=None, **kwargs):
        if input_shape is not None and shape is None:
            shape = input_shape
        super().__init__(name=name, **kwargs)
        if shape is not None and batch_shape is not None:
            raise ValueError("InputLayer: pass either `shape` or `batch_shape`, not both. "
                             f"Received: shape={shape}, batch_shape={batch_shape}")
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: you must pass a `shape` argument (the shape without the batch "
                                 "dimension).")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self._dtype = standardize_dtype(dtype)
        self.sparse = bool(sparse)
        self.optional = optional
        self.built = True
        output = KerasTensor(self.batch_shape, dtype=self._dtype, sparse=self.sparse, name=self.name)
        Node(self, (), {}, output)

    @property
    def dtype(self):
        return self._dtype

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self._dtype, "sparse": self.sparse,
                "ragged": False, "name": self.name, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A symbolic input tensor for a functional or Sequential model.

    >>> x = lamina.Input(shape=(28, 28, 1))
    >>> x.shape
    (None, 28, 28, 1)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, optional=optional)
    return layer.output
