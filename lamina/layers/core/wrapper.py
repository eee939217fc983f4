"""Wrapper: the public base of the layers that wrap another layer, as Keras's ``keras.layers.Wrapper``.

TimeDistributed, Bidirectional and SpectralNormalization subclass it; so can users (see
docs/wrappers.md).
"""

from lamina.engine.layer import Layer
from lamina.layers.serialization import deserialize, serialize
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Wrapper(Layer):
    """``Wrapper(layer)``: a layer around another layer.

    Keeps ``layer`` as ``self.layer``, builds it on the wrapper's input shape and writes it in the
    config (``{"layer": <its serialized config>}``; ``from_config`` rebuilds it). Subclasses override
    ``call`` (and ``build``/``compute_output_shape`` when the wrapped layer sees other shapes). Used
    as is, it calls the wrapped layer unchanged (passing ``training``, and ``mask`` to layers that
    take one), where Keras's abstract base fails when called.

    Input and output: the wrapped layer's.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: the wrapped `layer` must be a Layer instance. "
                             f"Received: layer={layer!r}")
        super().__init__(**kwargs)
        self._keep_wrapped(layer)

    def _keep_wrapped(self, layer):
        """Stores the wrapped layer (Bidirectional keeps a forward and a backward copy instead)."""
        self.layer = layer

    def build(self, input_shape):
        self._build_wrapped(input_shape)

    def _build_wrapped(self, input_shape):
        """Builds the wrapped layer for ``input_shape`` unless built (not a ``build``: calling that from a
        subclass's ``build`` would record the wrapped layer's shape as the wrapper's)."""
        if not self.layer.built:
            self.layer._build_for(input_shape)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def call(self, inputs, training=None, mask=None):
        kwargs = {"training": training} if self.layer._call_has_training_arg else {}
        if mask is not None and self.layer._call_has_mask_arg:
            kwargs["mask"] = mask
        return self.layer(inputs, **kwargs)

    def get_config(self):
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        return cls(deserialize(config.pop("layer"), custom_objects=custom_objects), **config)
