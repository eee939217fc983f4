"""TimeDistributed: applies a layer to every time step, folding time into the batch."""


from lamina.layers.core.wrapper import Wrapper
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class TimeDistributed(Wrapper):
    """``TimeDistributed(layer)``: inputs ``(batch, time, *inner)``, outputs ``(batch, time, *layer_output)``.

    The wrapped layer runs once on ``(batch·time, *inner)`` (one kernel call, not one per step); the
    mask ``(batch, time)`` is passed on, flattened, to layers that take one. Layers whose training output
    depends on the whole batch (BatchNormalization) therefore see batch·time samples together, where
    Keras 3 calls them once per time step.

    >>> TimeDistributed(Dense(8))(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 5, 8])
    """

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_input_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                             f"dimensions, received: {input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        self._build_wrapped(self._child_input_shape(tuple(input_shape)))

    def compute_output_shape(self, input_shape):
        child_output = self.layer.compute_output_shape(self._child_input_shape(tuple(input_shape)))
        return (child_output[0], input_shape[1], *child_output[1:])

    def call(self, inputs, training=None, mask=None):
        batch, time = inputs.shape[:2]
        kwargs = {"training": training} if self.layer._call_has_training_arg else {}
        if mask is not None:
            if mask.dim() < 2 or tuple(mask.shape[:2]) != (batch, time):
                raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a shape "
                                 f"{tuple(mask.shape)} that is incompatible with the input shape "
                                 f"{tuple(inputs.shape)}: its first two dimensions must be ({batch}, {time}).")
            if self.layer._call_has_mask_arg:
                kwargs["mask"] = mask.reshape(batch * time, *mask.shape[2:])
        outputs = self.layer(inputs.reshape(batch * time, *inputs.shape[2:]), **kwargs)
        return outputs.reshape(batch, time, *outputs.shape[1:])
