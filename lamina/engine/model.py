"""Model: a Layer that groups layers, with the training API and summaries.

``Model(inputs, outputs)`` builds a functional model; subclassing ``Model`` and
defining ``call`` builds a subclassed one, as in Keras.
"""

from lamina.engine.layer import Layer, specs_from_shapes
from lamina.saving.registry import register_builtin
from lamina.training.trainer import Trainer


@register_builtin("keras", name="Model")
class Model(Trainer, Layer):
    """A group of layers with ``fit``/``evaluate``/``predict``, ``summary`` and saving.

    Functional: ``Model(inputs, outputs, name=None)`` where inputs/outputs are symbolic
    tensors (or lists/dicts of them). Subclassed: ``class M(Model)`` with layers created in
    ``__init__`` and the forward computation in ``call(inputs, training=None)``.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from lamina.engine.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        Layer.__init__(self, **{k: v for k, v in kwargs.items()
                                if k in ("name", "trainable", "dtype", "activity_regularizer")})
        unexpected = set(kwargs) - {"name", "trainable", "dtype", "activity_regularizer"}
        if args or unexpected:
            raise TypeError(f"Model.__init__ got unexpected arguments {sorted(unexpected) or args}: a subclassed "
                            "model takes name/trainable/dtype; a functional model takes (inputs, outputs).")
        Trainer.__init__(self)

    @property
    def layers(self):
        """The model's direct sublayers, in creation order."""
        found = []

        def collect(module):
            for child in module.children():
                if isinstance(child, Layer):
                    if child not in found:
                        found.append(child)
                else:
                    collect(child)

        collect(self)
        return found

    def get_layer(self, name=None, index=None):
        """A sublayer by ``name`` or by ``index`` in ``model.layers``."""
        if (name is None) == (index is None):
            raise ValueError(f"Provide exactly one of `name` or `index` to get_layer(). "
                             f"Received: name={name!r}, index={index!r}")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model '{self.name}' only "
                                 f"has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in layers]}.")

    def build(self, input_shape):
        """Creates the weights of a subclassed model by tracing ``call`` on fake inputs of ``input_shape``."""
        if not self.built:
            self.built = True
            self.compute_output_spec(specs_from_shapes(input_shape, self.compute_dtype))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Prints a table of layers, output shapes, parameter counts and FLOPs per sample."""
        from lamina.engine.summary import format_summary

        text = format_summary(self, line_length=line_length, show_trainable=show_trainable)
        (print_fn or print)(text)

    def to_json(self, **kwargs):
        """The model's Keras-form config as a JSON string."""
        import json

        from lamina.saving.serialization import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def reset_states(self):
        """Resets the state of every stateful sublayer (stateful RNNs)."""
        for layer in self._flatten_layers(include_self=False):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A functional config (with "layers"/"input_layers") rebuilds the graph; else ``cls(**config)``."""
        if "input_layers" in config and "output_layers" in config:
            from lamina.engine.functional import functional_from_config

            return functional_from_config(cls, config, custom_objects)
        return cls(**config)

    def get_config(self):
        if type(self).get_config is Model.get_config and type(self).__init__ is not Model.__init__:
            return Layer.get_config(self)
        return {"name": self.name, "trainable": self.trainable}
