"""Sequential: a linear stack of layers."""

import torch

from lamina import naming, serialization
from lamina.engine.input_layer import InputLayer
from lamina.engine.layer import Layer, call_directly, set_masks
from lamina.layers.serialization import deserialize
from lamina.models.model import Model
from lamina.registry import register_builtin
from lamina.symbolic.keras_tensor import KerasTensor
from lamina.training.trainer import Trainer


@register_builtin("keras", name="Sequential")
class Sequential(Model):
    """A stack of layers, each taking the previous one's output.

    The input shape comes from an ``InputLayer``/``lamina.Input`` added first, from the
    first layer's ``input_shape``/``input_dim``/``batch_input_shape`` keyword, from
    ``build(input_shape)``, or from the first call. Once it is known, every layer is built
    as it is added and ``model.output_shape`` answers. Layers are registered as
    submodules ``"0"``, ``"1"``…, so ``state_dict()`` keys read ``0.kernel``.

    >>> model = lamina.Sequential([lamina.layers.Dense(4, input_shape=(3,)), lamina.layers.Dense(2)])
    >>> model.output_shape
    (None, 2)
    """

    _functional_arguments_allowed = False

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        Trainer.__init__(self)
        self._input_layer = None
        self._stack = []
        self._graph_nodes = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Appends ``layer`` (a Layer, an InputLayer, or a symbolic tensor from ``lamina.Input``)."""
        if isinstance(layer, KerasTensor) and layer._keras_history is not None:
            layer = layer._keras_history[0]
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError(f"Sequential model '{self.name}': an InputLayer can only be added first.")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a lamina Layer. Received: {layer!r} "
                            f"(of type {type(layer).__name__})")
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f"'{layer.name}' is already the name of a layer in this model. Update the `name` "
                             "argument to pass a unique name.")
        if not self._stack and self._input_layer is None and layer._batch_input_shape is not None:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape, dtype=layer.input_dtype_default)
        self.add_module(str(len(self._stack)), layer)
        self._stack.append(layer)
        if self._input_layer is not None:
            self._connect(len(self._stack) - 1)

    def pop(self):
        """Removes the last layer."""
        if not self._stack:
            raise TypeError(f"There are no layers in the Sequential model '{self.name}' to pop.")
        layer = self._stack.pop()
        del self._modules[str(len(self._stack))]
        if self._graph_nodes:
            node = self._graph_nodes.pop()
            layer._inbound_nodes.remove(node)
            for parent in node.parent_nodes:
                if node in parent.layer._outbound_nodes:
                    parent.layer._outbound_nodes.remove(node)
        return layer

    @property
    def layers(self):
        """The layers, without the InputLayer (as Keras)."""
        return list(self._stack)

    def build(self, input_shape=None):
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError(f"Sequential model '{self.name}' cannot be built without an input shape.")
            return
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=(None,) + tuple(input_shape)[1:])
            for index in range(len(self._stack)):
                self._connect(index)
        self.built = True

    def _connect(self, index):
        """Calls layer ``index`` on the previous symbolic output, recording one node."""
        previous = self._graph_nodes[index - 1].outputs if index else self._input_layer.output
        with naming.name_scope(self.name, caller=self):  # weight paths read "sequential/dense/kernel", as Keras's
            self._stack[index](previous)
        self._graph_nodes.append(self._stack[index]._inbound_nodes[-1])
        self.built = True
        self._build_input_shape = self._input_layer.batch_shape

    @property
    def inputs(self):
        return [self._input_layer.output] if self._input_layer is not None else None

    @property
    def outputs(self):
        if self._input_layer is None:
            return None
        return [self._graph_nodes[-1].outputs] if self._graph_nodes else [self._input_layer.output]

    @property
    def input_shape(self):
        if self._input_layer is None:
            raise RuntimeError(f"Sequential model '{self.name}' has no input shape yet: add an Input, pass "
                                 "`input_shape` to the first layer, or build/call the model.")
        return self._input_layer.batch_shape

    @property
    def output_shape(self):
        return self.outputs[0].shape if self._input_layer is not None else self.input_shape

    @property
    def input(self):
        return self.inputs[0] if self.inputs else Layer.input.fget(self)

    @property
    def output(self):
        return self.outputs[0] if self.outputs else Layer.output.fget(self)

    def _layers_run_directly(self):
        return type(self).call is Sequential.call and bool(self._stack) \
            and all(layer._plain_call for layer in self._stack)

    def _run_directly(self, inputs, training):
        if not self._inputs_fit_every_layer(inputs):
            for layer in self._stack:
                inputs = call_directly(layer, inputs, training, True)
            return inputs
        for layers, channels_first in self._per_structure("_direct_plan", lambda: _channels_first_plan(self._stack)):
            if channels_first:
                inputs = inputs.movedim(-1, 1)
                overwrite = not torch.is_grad_enabled()  # no saved tensor to keep, no caller sees the stretch's
                for layer, elementwise in layers:
                    inputs = layer._call_in_place(inputs) if overwrite and elementwise else \
                        layer._call_channels_first(inputs, training)
                inputs = inputs.movedim(1, -1)
            else:
                for layer in layers:
                    inputs = call_directly(layer, inputs, training, False)
        return inputs

    def _layer_inputs(self):
        if self._input_layer is None or len(self._graph_nodes) != len(self._stack):
            return None
        symbolic = [self._input_layer.output] + [node.outputs for node in self._graph_nodes[:-1]]
        return list(zip(self._stack, symbolic))

    def call(self, inputs, training=None, mask=None):
        set_masks(inputs, mask)  # the first layer reads it from its input, as in a functional model
        outputs = inputs
        for layer in self._stack:
            outputs = layer(outputs)
        return outputs

    def compute_output_spec(self, inputs, training=None, mask=None):
        outputs = inputs
        for layer in self._stack:
            outputs = layer.compute_output_spec(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.compute_output_spec(KerasTensor(input_shape, dtype=self.compute_dtype)).shape

    def get_config(self):
        layer_configs = []
        if self._input_layer is not None:
            layer_configs.append(serialization.serialize_keras_object(self._input_layer))
        layer_configs.extend(serialization.serialize_keras_object(layer) for layer in self._stack)
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": Layer.get_config(self)["dtype"], "layers": layer_configs}
        if self._input_layer is not None:
            config["build_input_shape"] = list(self._input_layer.batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(deserialize(layer_config, custom_objects=custom_objects))
        if model._input_layer is None and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        return model


def _channels_first_plan(layers):
    """``layers`` (each to be called on what it was built on) cut into segments ``(layers, channels_first)``.
    A channels_first segment runs on the channels-first view of its channels_last input: it spans a stretch of
    layers that move the channels to axis 1 and back and of elementwise ones (``Layer._channels_first_form``),
    from the first layer that moves them to the last, when at least two do; the channels then move once each
    way for the segment instead of twice per layer. The same kernels run on the same memory: the values and
    gradients are the layers' calls'. A channels_first segment holds ``(layer, elementwise)`` pairs: without
    autograd, an elementwise layer there computes in its input's memory (``Layer._call_in_place``), which is
    the output of the layer before it, new (a "moves" layer's outputs never alias its inputs) and seen by
    nobody else (the direct path runs only without hooks); the segment's first layer, which reads the caller's
    tensor, always moves the channels."""
    forms = [layer._channels_first_form() for layer in layers]
    plan, plain, index = [], [], 0
    while index < len(layers):
        end = index
        if forms[index] == "moves":
            while end < len(layers) and forms[end] in ("moves", "elementwise"):
                end += 1
        moving = [position for position in range(index, end) if forms[position] == "moves"]
        if len(moving) >= 2:
            if plain:
                plan.append((tuple(plain), False))
                plain = []
            plan.append((tuple((layer, form == "elementwise") for layer, form in
                               zip(layers[index:moving[-1] + 1], forms[index:moving[-1] + 1])), True))
            index = moving[-1] + 1
        else:
            plain.append(layers[index])
            index += 1
    if plain:
        plan.append((tuple(plain), False))
    return plan
