"""InputSpec: the rank and fixed axes a layer accepts, checked with clear errors."""


class InputSpec:
    """What a layer accepts.

    Args:
        ndim: exact rank (batch included), or None.
        min_ndim / max_ndim: rank bounds.
        axes: {axis: size} that must match (negative axes count from the end).
        shape: full shape with None wildcards.
        allow_last_axis_squeeze: kept for Keras config compatibility.
        name: optional name.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else None
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional

    def check(self, shape, layer_name):
        """Raises ValueError naming ``layer_name`` when ``shape`` doesn't fit."""
        rank = len(shape)
        expectation = None
        if self.ndim is not None and rank != self.ndim:
            expectation = f"ndim={self.ndim}"
        elif self.min_ndim is not None and rank < self.min_ndim:
            expectation = f"min_ndim={self.min_ndim}"
        elif self.max_ndim is not None and rank > self.max_ndim:
            expectation = f"max_ndim={self.max_ndim}"
        if expectation:
            raise ValueError(f"Input 0 of layer '{layer_name}' is incompatible with the layer: expected "
                             f"{expectation} (batch included), found ndim={rank}. Full shape received: "
                             f"{tuple(shape)}")
        for axis, size in self.axes.items():
            index = axis if axis >= 0 else rank + axis
            if size is not None and 0 <= index < rank and shape[index] not in (None, size):
                raise ValueError(f"Input 0 of layer '{layer_name}' is incompatible with the layer: expected "
                                 f"axis {axis} of input shape to have value {size}, but received input "
                                 f"with shape {tuple(shape)}")
        if self.shape is not None:
            for expected, actual in zip(self.shape, shape):
                if expected is not None and actual is not None and expected != actual:
                    raise ValueError(f"Input 0 of layer '{layer_name}' is incompatible with the layer: "
                                     f"expected shape={self.shape}, found shape={tuple(shape)}")

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in self.get_config().items() if v]
        return f"InputSpec({', '.join(parts)})"
