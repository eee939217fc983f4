"""Model and Functional: a Layer that groups layers, with the training API and summaries.

``Model(inputs, outputs)`` builds a functional model (the graph of nodes between symbolic inputs
and outputs); subclassing ``Model`` and defining ``call`` builds a subclassed one, as in Keras. A
subclass of ``Model`` called the functional way, ``CustomModel(inputs, outputs)``, is a functional
model that keeps the subclass's methods (``train_step``, ``compute_loss``...), as Keras's guides use it.
"""

import json

import torch

from lamina import serialization, tree
from lamina.engine.input_layer import InputLayer
from lamina.engine.layer import (_CALL_ERRORS, Layer, call_directly, calls_forward_directly, explicit_training,
                                 has_own_call_machinery, set_masks, specs_from_shapes)
from lamina.dtype_policies import serialize_policy
from lamina.dtypes import TORCH_DTYPES
from lamina.engine.weights import Structure
from lamina.layers.serialization import deserialize
from lamina.models.summary import format_summary
from lamina.registry import register_builtin
from lamina.saving import api as saving_api, export
from lamina.symbolic.graph import GraphReplay, conform_inputs
from lamina.symbolic.keras_tensor import KerasTensor
from lamina.symbolic.node import Node
from lamina.symbolic.operation import Operation, deserialize_node_value, serialize_node_value, serialize_operation
from lamina.training.trainer import Trainer


@register_builtin("keras", name="Model")
class Model(Trainer, Layer):
    """A group of layers with ``fit``/``evaluate``/``predict``, ``summary`` and saving.

    Functional: ``Model(inputs, outputs, name=None)`` where inputs/outputs are symbolic
    tensors (or lists/dicts of them). Subclassed: ``class M(Model)`` with layers created in
    ``__init__`` and the forward computation in ``call(inputs, training=None)``.
    """

    # False for models whose positional arguments mean something else (Sequential's layers).
    _functional_arguments_allowed = True

    def __new__(cls, *args, **kwargs):
        if cls is Model and _functional_arguments(args, kwargs):
            cls = Functional
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if self._functional_arguments_allowed and _functional_arguments(args, kwargs):
            # A subclass's __init__ passed (inputs, outputs) on: the instance becomes a functional model that
            # keeps the subclass's methods (Keras's rule, decided by what reaches Model.__init__).
            self.__class__ = _functional_variant(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        Layer.__init__(self, **{k: v for k, v in kwargs.items()
                                if k in ("name", "trainable", "dtype", "activity_regularizer")})
        unexpected = set(kwargs) - {"name", "trainable", "dtype", "activity_regularizer"}
        if args or unexpected:
            raise TypeError(f"Model.__init__ got unexpected arguments {sorted(unexpected) or args}: a subclassed "
                            "model takes name/trainable/dtype; a functional model takes (inputs, outputs).")
        Trainer.__init__(self)

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and (not kwargs or len(kwargs) == 1 and "training" in kwargs) \
                and self._runs_layers_directly(args[0]):
            try:
                return self._run_directly(args[0], explicit_training(kwargs.get("training")))
            except _CALL_ERRORS as error:
                raise self._explained_error(args[0], error) from error
        return super().__call__(*args, **kwargs)

    def _runs_layers_directly(self, inputs):
        """Whether a call is its layers' calls and nothing else: each layer a built plain leaf (each still
        checks its own input: lamina.engine.layer) called on one tensor, nothing of the model's own to run
        (hooks, losses, autocast, an overridden ``call``), a plain tensor in the model's dtype without a
        mask. The call context then has nothing to carry but ``training``, which the model hands to the layers
        that read it (``Layer._call_reads_only_training``)."""
        return type(inputs) is torch.Tensor and inputs.dtype is self._input_torch_dtype \
            and not hasattr(inputs, "_keras_mask") and self.activity_regularizer is None and not self._adds_losses \
            and self._autocast_dtype is None and self._layers_run_directly() and calls_forward_directly(self)

    def _layers_run_directly(self):
        """Subclasses: whether every layer is plain and the model's own ``call`` runs them and nothing else."""
        return False

    def _run_directly(self, inputs, training):
        """Subclasses: the outputs for ``inputs``, the layers called one by one (when _layers_run_directly);
        ``training``: the call's explicit value or an outer call's, None if neither (``call_directly``)."""
        raise NotImplementedError

    def _layer_inputs(self):
        """Subclasses: (layer, its symbolic input) per layer call, in the order they run; None when unknown."""
        return None

    def _inputs_fit_every_layer(self, inputs):
        """Whether every layer will receive exactly the shape and dtype it was built on, so that its own input
        checks (and call machinery) can be skipped: ``inputs`` has the model's symbolic input's shape (every
        non-batch dimension known) and dtype; each layer is one of lamina's own, whose outputs' shapes follow
        from its inputs' (a custom layer keeps its checks), built on its symbolic input; no layer has a hook
        or a forward of its own. The static part is cached per model structure."""
        signature = self._per_structure("_fitting_input", lambda: _fitting_input(self._layer_inputs()))
        return signature is not None and inputs.dtype is signature[1] and inputs.shape[1:] == signature[0] \
            and not any(_has_call_machinery(layer) for layer in signature[2])

    def _per_structure(self, name, compute):
        """``compute()``, cached under ``name`` until the model's structure changes."""
        key = (Structure.version, len(self._modules))
        cached = self.__dict__.get(name)
        if cached is None or cached[0] != key:
            cached = self.__dict__[name] = (key, compute())
        return cached[1]

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
            self.compute_output_spec(specs_from_shapes(input_shape, self.compute_dtype))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Prints a table of layers, output shapes, parameter counts and FLOPs per sample."""
        (print_fn or print)(self.summary_string(line_length=line_length, show_trainable=show_trainable))

    def summary_string(self, line_length=None, show_trainable=False):
        """``model.summary()``'s table as a string."""
        return format_summary(self, line_length=line_length, show_trainable=show_trainable)

    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Writes the model (config, weights, compiled state), atomically, in the format the suffix names:
        ``.keras`` (Keras 3), ``.h5``/``.hdf5`` (legacy HDF5) or ``.lamina`` (docs/keras_files.md)."""
        saving_api.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """Writes the weights (Keras layouts), atomically: ``.weights.h5`` (Keras 3), ``.h5`` (Keras 2's legacy
        HDF5) or ``.weights.safetensors`` (lamina)."""
        saving_api.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False):
        """Loads weights from any Keras or lamina file (recognised by content); ``by_name`` for legacy HDF5."""
        saving_api.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Writes an inference artifact, as Keras 3: ``format="onnx"`` (an ONNX model, dynamic batch) or
        ``"torch_export"``/``"torch"`` (a ``torch.export`` ``.pt2`` program that runs without lamina).
        Formats that need TensorFlow (``"tf_saved_model"``, ``"litert"``) raise ValueError. ``kwargs`` go to
        ``torch.export.export`` (``dynamic_shapes``, ``strict``), plus ``opset_version`` for ONNX."""
        return export.export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature,
                                   **kwargs)

    def to_json(self, **kwargs):
        """The model's Keras-form config as a JSON string."""
        return json.dumps(serialization.serialize_keras_object(self), **kwargs)

    def reset_states(self):
        """Resets the state of every stateful sublayer (stateful RNNs)."""
        for layer in self._flatten_layers(include_self=False):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A functional config (with "layers"/"input_layers") rebuilds the graph; else ``cls(**config)``."""
        if "input_layers" in config and "output_layers" in config:
            return _functional_from_config(cls, config, custom_objects)
        return cls(**config)

    def get_config(self):
        if type(self).get_config is Model.get_config and type(self).__init__ is not Model.__init__:
            return Layer.get_config(self)
        # a subclass's own get_config extends this, as Keras's Layer.get_config: name, trainable, dtype
        return {"name": self.name, "trainable": self.trainable, "dtype": serialize_policy(self.dtype_policy)}


def _module_key(model, name):
    """The submodule name a layer called ``name`` is registered under: the name itself where PyTorch allows
    it (so ``state_dict`` keys read ``dense.kernel``), else ``name`` with "." as "_" and a numbered suffix
    until it neither clashes with another layer's key nor with an attribute of the model ("eval",
    "output", "to"...). Distinct names always get distinct keys."""
    base = name.replace(".", "_")
    key, index = base, 0
    while key in model._modules or hasattr(type(model), key) or key in model.__dict__ \
            or key in model._parameters or key in model._buffers:
        index += 1
        key = f"{base}_{index}"
    return key


def _fitting_input(layer_inputs):
    """(non-batch shape, dtype, layers) of the one input with which every layer of ``layer_inputs`` gets what it
    was built on (see ``Model._inputs_fit_every_layer``), or None."""
    if not layer_inputs:
        return None
    for layer, symbolic in layer_inputs:
        if not type(layer).__module__.startswith("lamina.") or None in symbolic.shape[1:] \
                or tuple(symbolic.shape[1:]) != tuple(layer._build_input_shape[1:]) \
                or TORCH_DTYPES.get(symbolic.dtype) is not layer._input_torch_dtype:
            return None
    first = layer_inputs[0][1]
    return torch.Size(first.shape[1:]), TORCH_DTYPES[first.dtype], tuple(layer for layer, _ in layer_inputs)


def _has_call_machinery(layer):
    """Whether calling ``layer`` involves more than its ``call``: its own call machinery, or a ``forward``
    other than ``call``."""
    return has_own_call_machinery(layer) or not layer._forward_is_call


def _functional_arguments(args, kwargs):
    """Whether constructor arguments are a functional model's ``(inputs, outputs)`` (Keras's rule)."""
    return len(args) == 2 or (len(args) == 1 and "outputs" in kwargs) or ("inputs" in kwargs and "outputs" in kwargs)


_FUNCTIONAL_VARIANTS = {}


def _functional_variant(cls):
    """``cls`` with Functional's graph behind its own methods: what ``CustomModel(inputs, outputs)`` builds.

    The variant lists ``cls`` first in its method order, so the subclass's ``train_step``,
    ``compute_loss`` or ``__init__`` win; it serializes as ``cls`` itself.
    """
    variant = _FUNCTIONAL_VARIANTS.get(cls)
    if variant is None:
        variant = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                                                         "_serialized_class": cls})
        _FUNCTIONAL_VARIANTS[cls] = variant
    return variant


@register_builtin("keras.src.models.functional", name="Functional")  # the module Keras writes and imports
class Functional(Model):
    """A model defined by ``Model(inputs, outputs)``.

    ``inputs``/``outputs``: a symbolic tensor, a list of them, or a dict name -> tensor.
    Sublayers are registered as submodules under their names, so ``state_dict()`` keys
    read ``dense.kernel``.
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        Trainer.__init__(self)
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and isinstance(inputs[0], KerasTensor):
            inputs = inputs[0] if isinstance(inputs, tuple) else inputs
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = tree.flatten(inputs)
        self.outputs = tree.flatten(outputs)
        self._graph = GraphReplay(self.inputs, self.outputs)
        self._nodes, graph_layers = self._graph.nodes, self._graph.operations
        names = [layer.name for layer in graph_layers]
        for layer_name in names:
            if names.count(layer_name) > 1:
                raise ValueError(f'The name "{layer_name}" is used {names.count(layer_name)} times in the model. '
                                 "All layer names should be unique.")
        self._graph_layers = tuple(graph_layers)
        for layer in graph_layers:
            if isinstance(layer, Layer) and not isinstance(layer, InputLayer):  # ops steps are not modules
                self.add_module(_module_key(self, layer.name), layer)
        self._single_input_graph = all(isinstance(node.layer, Layer) for node in self._graph.run_nodes) \
            and None not in self._graph.single_inputs and len(self.inputs) == 1
        self.built = True
        # Keras 2's node 0 of a functional model: its own inputs and outputs.
        self._inbound_nodes.append(Node.record_only(self, (inputs,), outputs))

    @property
    def layers(self):
        """Every layer of the graph, InputLayers included, producers before consumers (as Keras 3)."""
        return [layer for layer in self._graph_layers if isinstance(layer, Layer)]

    @property
    def operations(self):
        """The layers and the ``lamina.ops`` steps of the graph, in graph order (as Keras 3)."""
        return list(self._graph_layers)

    @property
    def input(self):
        """The inputs as given to the constructor, however often the model was called since (Keras 3)."""
        return self._inputs_struct

    @property
    def output(self):
        """The outputs as given to the constructor, however often the model was called since (Keras 3)."""
        return self._outputs_struct

    @property
    def input_shape(self):
        return tree.map_structure(lambda t: t.shape, self._inputs_struct)

    @property
    def output_shape(self):
        return tree.map_structure(lambda t: t.shape, self._outputs_struct)

    @property
    def input_names(self):
        return [t._keras_history[0].name for t in self.inputs]

    @property
    def output_names(self):
        return [t._keras_history[0].name for t in self.outputs]

    def _flat_inputs(self, inputs):
        """The model's inputs in ``self.inputs`` order, from a tensor, a list or a dict."""
        if isinstance(inputs, dict) and not isinstance(self._inputs_struct, dict):
            missing = [name for name in self.input_names if name not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}': missing input(s) {missing}; received keys "
                                 f"{sorted(inputs)}; expected {self.input_names}.")
            return [inputs[name] for name in self.input_names]
        flat = tree.flatten(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s), but it received "
                             f"{len(flat)} input tensors.")
        return flat

    def _run_graph(self, flat_inputs, run_node, symbolic=False):
        """Replays the graph on ``flat_inputs`` (in ``self.inputs`` order): ``run_node(node, args, kwargs)``
        gives a node's outputs from the values its inputs took. Returns the outputs, structured as the
        model's; as in Keras, a call on tensors returns one output given as ``[x]`` (or ``(x,)``) unwrapped,
        while a symbolic call keeps the list."""
        values = self._graph.run(flat_inputs, run_node)
        if isinstance(self._outputs_struct, KerasTensor) or \
                not symbolic and isinstance(self._outputs_struct, (list, tuple)) and len(values) == 1:
            return values[0]
        return tree.pack_sequence_as(self._outputs_struct, values)

    def _layers_run_directly(self):
        return self._single_input_graph and type(self).call is Functional.call \
            and all(node.layer._plain_call for node in self._graph.run_nodes)

    def _run_directly(self, inputs, training):
        (inputs,) = conform_inputs(f"Model '{self.name}'", [inputs], self.inputs)
        checked = not self._inputs_fit_every_layer(inputs)
        return self._run_graph([inputs], lambda node, args, kwargs: call_directly(node.layer, args[0], training,
                                                                                  checked))

    def _layer_inputs(self):
        return [(node.layer, single) for node, single in zip(self._graph.run_nodes, self._graph.single_inputs)]

    def call(self, inputs, training=None, mask=None):
        flat_inputs = conform_inputs(f"Model '{self.name}'", self._flat_inputs(inputs), self.inputs)
        set_masks(flat_inputs, mask)
        # A node's recorded `training` (Keras configs write training=False) yields to this call's, as in Keras.
        return self._run_graph(flat_inputs, lambda node, args, kwargs: node.layer(
            *args, **(kwargs if "training" not in kwargs else {**kwargs, "training": training})))

    def compute_output_spec(self, inputs, training=None, mask=None):
        return self._run_graph(self._flat_inputs(inputs),
                               lambda node, args, kwargs: node.layer.compute_output_spec(*args, **kwargs),
                               symbolic=True)

    def compute_output_shape(self, input_shape):
        specs = self.compute_output_spec(specs_from_shapes(input_shape, self.compute_dtype))
        return tree.map_structure(lambda t: t.shape, specs)

    # ------------------------------------------------------------------ config
    def _model_nodes(self):
        return {id(node) for node in self._nodes}

    def get_config(self):
        """Keras's functional config: layers with their inbound nodes, input and output layers."""
        in_model = self._model_nodes()

        def reindex(layer, node_index):
            """A node's index among the layer's nodes that belong to this model."""
            own = [i for i, n in enumerate(layer._inbound_nodes) if id(n) in in_model]
            return own.index(node_index)

        def tensor_ref(tensor):
            layer, node_index, tensor_index = tensor._keras_history
            return [layer.name, reindex(layer, node_index), tensor_index]

        def serialize_arg(item):
            if isinstance(item, KerasTensor):
                return {"class_name": "__keras_tensor__",
                        "config": {"shape": list(item.shape), "dtype": item.dtype, "keras_history": tensor_ref(item)}}
            return serialize_node_value(item)

        layer_configs = []
        for layer in self._graph_layers:
            entry = serialize_operation(layer) if isinstance(layer, Operation) else \
                serialization.serialize_keras_object(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [
                {"args": [tree.map_structure(serialize_arg, arg) for arg in node.call_args],
                 "kwargs": {k: tree.map_structure(serialize_arg, v) for k, v in node.call_kwargs.items()}}
                for node in layer._inbound_nodes if id(node) in in_model and not node.is_input]
            layer_configs.append(entry)
        def references(structure):
            """Tensor references in the structure Keras writes: a dict, a list, or one reference."""
            if isinstance(structure, dict):
                return {key: tensor_ref(tensor) for key, tensor in structure.items()}
            if isinstance(structure, (list, tuple)):
                return [tensor_ref(tensor) for tensor in tree.flatten(structure)]
            return tensor_ref(structure)

        return {"name": self.name, "trainable": self.trainable, "layers": layer_configs,
                "input_layers": references(self._inputs_struct), "output_layers": references(self._outputs_struct)}


def _functional_from_config(cls, config, custom_objects=None):
    """Rebuilds a functional model by re-calling each layer on its inbound nodes' tensors."""
    created = {}
    produced = {}  # (layer name, node index) -> outputs
    pending = []
    for entry in config["layers"]:
        layer = deserialize(entry, custom_objects=custom_objects)
        created[entry["name"]] = layer
        if isinstance(layer, InputLayer):
            produced[(entry["name"], 0)] = layer.output
        pending.extend((entry["name"], node_config) for node_config in entry.get("inbound_nodes", []))
    node_counts = {}

    def reference(ref):
        """The tensor a ``[layer name, node index, tensor index]`` reference names (LookupError if not yet made)."""
        name, node_index, tensor_index = ref
        if (name, node_index) not in produced:
            raise LookupError
        return tree.flatten(produced[(name, node_index)])[tensor_index]

    def resolve(item):
        """Replaces tensor references (at any depth) with the tensors produced so far."""
        if _is_tensor_ref(item):
            return reference(item["config"]["keras_history"])
        constant = deserialize_node_value(item)
        if constant is not None:
            return constant
        if isinstance(item, (list, tuple)):
            return [resolve(value) for value in item]
        if isinstance(item, dict):
            return {key: resolve(value) for key, value in item.items()}
        return item

    while pending:
        progressed = False
        for item in list(pending):
            name, node_config = item
            if any(earlier == name for earlier, _ in pending[:pending.index(item)]):
                continue  # a layer's nodes are replayed in order
            try:
                args = resolve(node_config["args"])
                kwargs = resolve(node_config.get("kwargs", {}))
            except LookupError:
                continue
            index = node_counts.get(name, 0)
            node_counts[name] = index + 1
            produced[(name, index)] = created[name](*args, **kwargs)
            pending.remove(item)
            progressed = True
        if not progressed:
            raise ValueError(f"Could not rebuild functional model '{config.get('name')}': the inbound nodes of "
                             f"layers {[n for n, _ in pending]} refer to tensors that are never produced.")

    def structure(refs):
        if isinstance(refs, dict):
            return {k: reference(v) for k, v in refs.items()}
        if refs and not isinstance(refs[0], (list, tuple)):
            return reference(refs)
        return [reference(ref) for ref in refs]

    inputs, outputs = structure(config["input_layers"]), structure(config["output_layers"])
    if cls is Functional or cls is Model:
        return Functional(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"))


def _is_tensor_ref(item):
    return isinstance(item, dict) and item.get("class_name") == "__keras_tensor__"
