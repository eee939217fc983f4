"""Keras 2 configs (tf.keras 2.x, Keras 2.0-2.3), translated into what they meant in Keras 2.

Every rule here is listed in docs/keras_files.md. The translation turns a Keras 2 model config into the
Keras 3 form lamina reads, without losing meaning: where Keras 3 changed a default or a formula
(``hard_sigmoid``, GRU's ``reset_after``), the translated config states Keras 2's choice explicitly; where
Keras 3 dropped a feature lamina keeps (``time_major``, ``input_length``, ``LocallyConnected*``), it stays.
Anything the translation does not recognise passes through unchanged, so an unknown layer still fails
with the usual "Unknown layer" error.
"""

import copy
import warnings

# Keras 2 class names for the same layers.
LAYER_ALIASES = {
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "Convolution2DTranspose": "Conv2DTranspose", "Convolution3DTranspose": "Conv3DTranspose",
    "Deconvolution2D": "Conv2DTranspose", "Deconvolution3D": "Conv3DTranspose",
    "SeparableConvolution1D": "SeparableConv1D", "SeparableConvolution2D": "SeparableConv2D",
    "DepthwiseConvolution2D": "DepthwiseConv2D", "Model": "Functional",
}
_MODEL_CLASSES = ("Functional", "Sequential")
_RNN_LAYERS = ("SimpleRNN", "LSTM", "GRU", "RNN")
# Keras 2 arguments that no longer exist and have no effect on the computation.
_DROPPED = {
    "BatchNormalization": ("fused", "virtual_batch_size", "adjustment", "renorm", "renorm_clipping",
                           "renorm_momentum"),
    "InputLayer": ("ragged",),
}
# Dropped Keras 2 arguments and the only values that mean "no effect".
# (renorm_momentum and fused do nothing without renorm / on torch: any value is neutral.)
_NEUTRAL = {"virtual_batch_size": (None,), "adjustment": (None,), "renorm": (False,), "renorm_clipping": (None,),
            "ragged": (False, None)}
KERAS2_HARD_SIGMOID = "keras2_hard_sigmoid"
_ACTIVATION_KEYS = ("activation", "recurrent_activation")
_CONSTANT_VALUE = "_CONSTANT_VALUE"
# Keras 2's loss reduction "auto" is Keras 3's "sum_over_batch_size".
_REDUCTIONS = {"auto": "sum_over_batch_size"}
_OPTIMIZER_DROPPED = ("jit_compile", "is_legacy_optimizer", "schedule_decay")


def _fail(filepath, message):
    raise ValueError(f"{filepath}: {message}")


# ---------------------------------------------------------------------------------------------- objects
def _translate_activation(value):
    return KERAS2_HARD_SIGMOID if value == "hard_sigmoid" else value


def _translate_initializer(value):
    """Keras 2.2's VarianceScaling "normal" drew from a truncated normal (Keras 3 calls it so)."""
    if isinstance(value, dict) and value.get("class_name") == "VarianceScaling":
        config = dict(value.get("config") or {})
        if config.get("distribution") == "normal":
            config["distribution"] = "truncated_normal"
        return {**value, "config": config}
    return value


def _translate_dtype(value):
    """A mixed-precision ``Policy`` dict becomes its name."""
    if isinstance(value, dict) and value.get("class_name") in ("Policy", "DTypePolicy") and \
            isinstance(value.get("config"), dict):
        return value["config"].get("name")
    return value


def _lambda_function(config, key, filepath):
    """Keras 2's ``[base64 bytecode, defaults, closure]`` with ``<key>_type`` → lamina's ``__lambda__`` form."""
    value, kind = config.get(key), config.pop(f"{key}_type", None)
    if kind == "lambda" and isinstance(value, (list, tuple)) and len(value) == 3:
        code, defaults, closure = value
        if not isinstance(code, str):
            _fail(filepath, f"the Lambda layer '{config.get('name')}' stores its {key} in an unknown form.")
        config[key] = {"class_name": "__lambda__", "config": {"code": code, "defaults": defaults,
                                                               "closure": closure}}
    elif kind == "lambda" and isinstance(value, str):
        config[key] = {"class_name": "__lambda__", "config": {"code": value, "defaults": None, "closure": None}}


# ---------------------------------------------------------------------------------------------- layers
def translate_layer(entry, filepath):
    """One Keras 2 layer config (``{"class_name", "config", ...}``) in Keras 3 form, recursively."""
    if not isinstance(entry, dict) or "class_name" not in entry:
        _fail(filepath, f"a layer config should be a dict with a 'class_name'. Received: {str(entry)[:200]}")
    entry = dict(entry)
    class_name = LAYER_ALIASES.get(entry["class_name"], entry["class_name"])
    entry["class_name"] = class_name
    if str(entry.get("module") or "").startswith("keras"):
        del entry["module"]  # Keras 2 module paths (keras.layers.convolutional…): resolved by class name
    config = entry.get("config")
    if class_name == "Sequential" and isinstance(config, list):  # Keras 2.0-2.2.2 wrote only the layer list
        config = {"layers": config}
    if not isinstance(config, dict):
        _fail(filepath, f"the config of layer class {class_name!r} should be a dict.")
    config = dict(config)
    if class_name == "Functional":
        config = _translate_functional(config, filepath)
    elif class_name == "Sequential":
        config["layers"] = [translate_layer(layer, filepath) for layer in config.get("layers", [])]
    else:
        config = _translate_layer_arguments(class_name, config, filepath)
    entry["config"] = config
    return entry


def _translate_layer_arguments(class_name, config, filepath):
    for key in ("layer", "backward_layer", "cell"):
        if isinstance(config.get(key), dict):
            config[key] = translate_layer(config[key], filepath)
    if isinstance(config.get("cell"), list):
        config["cell"] = [translate_layer(cell, filepath) for cell in config["cell"]]
    if isinstance(config.get("cells"), list):
        config["cells"] = [translate_layer(cell, filepath) for cell in config["cells"]]
    if "dtype" in config:
        config["dtype"] = _translate_dtype(config["dtype"])
    for key in _ACTIVATION_KEYS:
        if key in config:
            config[key] = _translate_activation(config[key])
    for key, value in list(config.items()):
        if key.endswith("_initializer"):
            config[key] = _translate_initializer(value)
    for key in _DROPPED.get(class_name, ()):
        if key in config:
            value = config.pop(key)
            neutral = _NEUTRAL.get(key)
            if neutral is not None and value not in neutral:
                _fail(filepath, f"layer '{config.get('name')}' ({class_name}) uses the Keras 2 argument "
                                f"{key}={value!r}, which lamina does not support.")
    if class_name == "InputLayer" and "batch_input_shape" in config:
        config["batch_shape"] = config.pop("batch_input_shape")
    if class_name == "BatchNormalization" and isinstance(config.get("axis"), list):
        if len(config["axis"]) != 1:
            _fail(filepath, f"layer '{config.get('name')}' (BatchNormalization) normalizes over several axes "
                            f"{config['axis']}, which Keras 3 and lamina do not support.")
        config["axis"] = config["axis"][0]  # tf.keras wrote its one axis as a list
    if class_name == "LeakyReLU" and "alpha" in config:
        config["negative_slope"] = config.pop("alpha")
    if class_name in ("GRU", "GRUCell") and "reset_after" not in config:
        config["reset_after"] = False  # Keras 2 before 2.1.5 had only the reset-before formula
    if class_name == "Lambda":
        config.pop("module", None)
        config.pop("output_shape_module", None)
        _lambda_function(config, "function", filepath)
        _lambda_function(config, "output_shape", filepath)
    if class_name in _RNN_LAYERS and not config.get("time_major"):
        config.pop("time_major", None)
    return config


# ---------------------------------------------------------------------------------------------- graphs
def _first_node_is_internal(entry):
    """Keras 2 counts a nested model's construction as its node 0 (``_should_skip_first_node``)."""
    class_name = LAYER_ALIASES.get(entry.get("class_name"), entry.get("class_name"))
    if class_name == "Functional":
        return True
    if class_name != "Sequential":
        return False
    config = entry.get("config")
    layers = config.get("layers", []) if isinstance(config, dict) else config if isinstance(config, list) else []
    if not layers or not isinstance(layers[0], dict):
        return False
    first = layers[0]
    return first.get("class_name") == "InputLayer" or "batch_input_shape" in (first.get("config") or {})


def _translate_functional(config, filepath):
    layers = config.get("layers")
    if not isinstance(layers, list):
        _fail(filepath, "a functional model config should list its 'layers'.")
    names = {entry.get("name") for entry in layers if isinstance(entry, dict)}
    offsets = {entry.get("name"): int(_first_node_is_internal(entry)) for entry in layers if isinstance(entry, dict)}

    def reference(item, where):
        if not (isinstance(item, (list, tuple)) and len(item) >= 3 and item[0] in names):
            _fail(filepath, f"{where}: a tensor reference should be [layer name, node index, tensor index] naming a "
                            f"layer of the model. Received: {str(item)[:200]}")
        name, node_index, tensor_index = item[0], item[1], item[2]
        if not isinstance(node_index, int) or not isinstance(tensor_index, int):
            _fail(filepath, f"{where}: node and tensor indices must be integers. Received: {item[:3]}")
        node_index -= offsets.get(name, 0)
        if node_index < 0:
            _fail(filepath, f"{where}: the reference {item[:3]} names a node of '{name}' that the model does not "
                            "contain.")
        return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, node_index, tensor_index]}}

    def is_reference(item):
        return (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and item[0] in names
                and isinstance(item[1], int) and isinstance(item[2], int))

    def kwargs_value(value, where):
        if is_reference(value):
            return reference(value, where)
        if isinstance(value, list):
            return [kwargs_value(v, where) for v in value]
        if isinstance(value, dict):
            return {k: kwargs_value(v, where) for k, v in value.items()}
        return value

    def node(node_data, where):
        if isinstance(node_data, dict) and "args" in node_data:
            return node_data  # already Keras 3's form
        entries = node_data if isinstance(node_data, list) else [node_data]
        inputs, kwargs = [], {}
        for item in entries:
            if not isinstance(item, (list, tuple)) or len(item) not in (3, 4):
                _fail(filepath, f"{where}: an inbound node entry should be [layer, node, tensor, kwargs]. "
                                f"Received: {str(item)[:200]}")
            if item[0] == _CONSTANT_VALUE:
                inputs.append(item[2])
            else:
                inputs.append(reference(item, where))
            if len(item) == 4 and isinstance(item[3], dict):
                kwargs.update(kwargs_value(item[3], where))
        argument = inputs[0] if len(inputs) == 1 else inputs
        return {"args": [argument], "kwargs": kwargs}

    translated = []
    for entry in layers:
        layer = translate_layer(entry, filepath)
        layer["name"] = entry.get("name", layer["config"].get("name"))
        inbound = entry.get("inbound_nodes", [])
        if not isinstance(inbound, list):
            _fail(filepath, f"layer '{layer['name']}': 'inbound_nodes' should be a list.")
        layer["inbound_nodes"] = [node(data, f"layer '{layer['name']}'") for data in inbound]
        translated.append(layer)

    def endpoints(value, key):
        if isinstance(value, dict):
            return {k: _strip(reference(v, key)) for k, v in value.items()}
        if isinstance(value, list) and value and not isinstance(value[0], (list, tuple)):
            return [_strip(reference(value, key))]
        if not isinstance(value, list):
            _fail(filepath, f"the model's {key!r} should list tensor references.")
        return [_strip(reference(item, key)) for item in value]

    config = dict(config, layers=translated)
    for key in ("input_layers", "output_layers"):
        config[key] = endpoints(config.get(key), key)
    return config


def _strip(tensor):
    return tensor["config"]["keras_history"]


def translate_model_config(config, filepath):
    """A Keras 2 model config (``model_config`` of a legacy file) in Keras 3 form."""
    return translate_layer(copy.deepcopy(config), filepath)


# ---------------------------------------------------------------------------------------------- training
def _translate_optimizer(config, filepath):
    if not isinstance(config, dict) or "class_name" not in config:
        _fail(filepath, f"the optimizer config should be a dict with a 'class_name'. Received: {str(config)[:200]}")
    class_name = str(config["class_name"])
    if class_name.startswith("Custom>"):  # tf.keras 2.11+ registered its new optimizers as Custom>Adam
        class_name = class_name[len("Custom>"):]
    arguments = dict(config.get("config") or {})
    if "lr" in arguments:
        arguments["learning_rate"] = arguments.pop("lr")
    for key in _OPTIMIZER_DROPPED:
        arguments.pop(key, None)
    decay = arguments.pop("decay", None)
    if decay:
        warnings.warn(f"{filepath}: the Keras 2 optimizer's learning-rate decay ({decay}) is not restored; use a "
                      "learning-rate schedule (lamina.optimizers.schedules.InverseTimeDecay) to continue with it.",
                      stacklevel=4)
    if arguments.get("epsilon") is None:
        arguments.pop("epsilon", None)
    if isinstance(arguments.get("name"), str):
        arguments["name"] = arguments["name"].lower()
    return {"class_name": class_name, "config": arguments}


def _translate_loss(value):
    if isinstance(value, dict) and "class_name" in value:
        config = dict(value.get("config") or {})
        if config.get("reduction") in _REDUCTIONS:
            config["reduction"] = _REDUCTIONS[config["reduction"]]
        return {"class_name": value["class_name"], "config": config}
    if isinstance(value, dict):
        return {key: _translate_loss(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_translate_loss(item) for item in value]
    return value


def _translate_metric(value):
    """A Keras 2 metric: ``MeanMetricWrapper`` dicts become the name they reported under (``"mae"``)."""
    if isinstance(value, dict) and value.get("class_name") == "MeanMetricWrapper":
        config = value.get("config") or {}
        return config.get("name") or config.get("fn")
    if isinstance(value, dict) and "class_name" in value:
        return value
    if isinstance(value, dict):
        return {key: _translate_metric(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_translate_metric(item) for item in value]
    return value


def _per_output(value, output_names):
    """tf.keras writes compiled metrics as one list per output; lamina takes a list, or a dict by output."""
    if not (isinstance(value, list) and value and all(isinstance(item, list) for item in value)):
        return value
    if len(value) == 1:
        return value[0]
    if output_names and len(output_names) == len(value):
        return dict(zip(output_names, value))
    return [item for items in value for item in items]


def translate_training_config(training, model, filepath):
    """A Keras 2 training configuration as a Keras 3 compile config for ``model``: a legacy file's
    ``training_config`` (optimizer under ``optimizer_config``) or a tf.keras ``.keras`` file's
    ``compile_config`` (optimizer under ``optimizer``)."""
    output_names = list(getattr(model, "output_names", None) or [])
    config = {"loss": _translate_loss(training.get("loss")),
              "loss_weights": training.get("loss_weights"),
              "metrics": _per_output(_translate_metric(training.get("metrics")), output_names),
              "weighted_metrics": _per_output(_translate_metric(training.get("weighted_metrics")), output_names)}
    for key in ("run_eagerly", "steps_per_execution", "jit_compile"):
        if training.get(key) is not None:
            config[key] = training[key]
    optimizer = training.get("optimizer_config", training.get("optimizer"))
    if optimizer is not None:
        config["optimizer"] = _translate_optimizer(optimizer, filepath)
    return config
