"""BaseBorder: what cropping and zero-padding share — (before, after) amounts per spatial axis in
Keras's forms (int, tuple of ints, tuple of pairs), data_format, and the output shape."""

from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops import arguments


class BaseBorder(Layer):
    """Subclasses set ``rank``, ``argument`` ("cropping" or "padding") and ``sign`` (-1 crops, +1 pads)."""

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    rank = None
    argument = None
    sign = None
    has_data_format = True

    def __init__(self, amounts, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._label = f"{type(self).__name__} '{self.name}'"
        self._pairs = arguments.normalize_pairs(amounts, self.rank, self.argument, self._label)
        self.data_format = arguments.normalize_data_format(data_format, self._label) if self.has_data_format \
            else "channels_last"
        self._first_spatial_axis = 1 if self.data_format == "channels_last" else 2
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _keras_amounts(self):
        """The amounts as Keras stores them: one (before, after) pair in 1D, else a tuple of pairs."""
        return self._pairs[0] if self.rank == 1 else self._pairs

    def compute_output_shape(self, input_shape):
        """The input shape with each known spatial length grown (padding) or shrunk (cropping)."""
        shape = list(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{self._label}: expected inputs of rank {self.rank + 2} (batch included). "
                             f"Received: input_shape={tuple(input_shape)}")
        for offset, (before, after) in enumerate(self._pairs):
            axis = self._first_spatial_axis + offset
            if shape[axis] is not None:
                shape[axis] += self.sign * (before + after)
                if shape[axis] <= 0:
                    raise ValueError(f"{self._label}: `{self.argument}` {self._keras_amounts} would leave a "
                                     f"non-positive size along axis {axis}. Received: "
                                     f"input_shape={tuple(input_shape)}")
        return tuple(shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def get_config(self):
        config = {**super().get_config(), self.argument: self._keras_amounts}
        if self.has_data_format:
            config["data_format"] = self.data_format
        return config
