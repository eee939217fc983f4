"""Legacy HDF5 model and weight files (``.h5``/``.hdf5``), as Keras 3, tf.keras 2.x and Keras 2.2-2.3 write them.

A model file holds the attributes ``model_config`` (JSON), ``training_config`` (JSON, when compiled),
``keras_version`` and ``backend``, the group ``model_weights`` and, optionally, ``optimizer_weights``. A
weights file (``save_weights("w.h5")``) is the ``model_weights`` group's content at the root.
``model_weights`` lists the model's top-level layers in its ``layer_names`` attribute; each layer's group
lists its weights in ``weight_names`` (trainable weights first, then the others: ``legacy_order``), each
name a dataset below the group.

Loading is by order, as Keras does: the file's layers that hold weights pair with the model's layers
that have weights; ``by_name=True`` pairs them by name instead (Keras 2), leaving unmatched layers alone.
Configs and training configs written by Keras 2 are translated first (``keras2``).
"""

import io
import json
import warnings

from lamina import losses, metrics, registry
from lamina.saving import h5, keras2, rebuild, slots
from lamina.saving.atomic import save_file
from lamina.saving.keras_file import KERAS_FORMAT_VERSION
from lamina.saving.keras_layout import legacy_order
from lamina.serialization import serialize_keras_object
from lamina.version import __version__

_WEIGHTS_GROUP, _OPTIMIZER_GROUP = "model_weights", "optimizer_weights"


def file_kind(handle):
    """"model" (a legacy model file), "weights" (a legacy weights file) or "keras3_weights" (``.weights.h5``)."""
    if "model_config" in handle.attrs:
        return "model"
    if "layer_names" in handle.attrs or "layer_names0" in handle.attrs:
        return "weights"
    if h5.has(handle, _WEIGHTS_GROUP) and "layer_names" in handle[_WEIGHTS_GROUP].attrs:
        return "weights"
    return "keras3_weights"


def keras_version(node):
    """The ``keras_version`` attribute (``"1"`` when absent, as Keras assumes)."""
    return h5.text(node.attrs["keras_version"]) if "keras_version" in node.attrs else "1"


def json_attribute(handle, name, filepath):
    """A JSON-valued attribute (``model_config``, ``training_config``) parsed; ValueError naming the file."""
    raw = handle.attrs[name]
    try:
        return json.loads(h5.text(raw))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{filepath}: the {name!r} attribute is not valid JSON ({error}).") from None


# ---------------------------------------------------------------------------------------------- writing
def _unique_names(layer, ordered):
    """Dataset names for a layer's weights: their paths, made unique within the layer."""
    names = []
    for index, slot in enumerate(ordered):
        name = getattr(slots.slot_tensor(slot), "path", None) or f"{layer.name}/{slot[1]}"
        if name in names or not name:
            name = f"{layer.name}/{index}_{slot[1]}"
        names.append(name)
    return names


def _write_layers(node, model):
    h5.write_string_list(node, "layer_names", [layer.name for layer in model.layers])
    node.attrs["backend"] = "torch"
    node.attrs["keras_version"] = KERAS_FORMAT_VERSION
    node.attrs["lamina_version"] = __version__
    for layer in sorted(model.layers, key=lambda item: item.name):
        group = node.create_group(layer.name)
        ordered = legacy_order(layer)
        names = _unique_names(layer, ordered)
        h5.write_string_list(group, "weight_names", names)
        for name, slot in zip(names, ordered):
            h5.write_array(group, name, slots.keras_value(slot))
    h5.write_string_list(node.create_group("top_level_model_weights"), "weight_names", [])


# Metric names Keras 3's h5 loader keeps as names (it resolves them from the outputs' shapes).
_NAMED_METRICS = ("accuracy", "acc", "crossentropy", "ce")


def _loss_class_config(name):
    """The config of the Loss class computing the loss function ``name`` (``"mse"`` → MeanSquaredError)."""
    function = losses.get(name)
    for cls in registry.builtins_of("keras.losses").values():
        if isinstance(cls, type) and issubclass(cls, losses.LossFunctionWrapper) and \
                cls is not losses.LossFunctionWrapper and cls().fn is function:
            return serialize_keras_object(cls())
    return name


def _as_objects(value, convert):
    """Names in a (nested) loss or metrics config replaced by ``convert(name)``."""
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, list):
        return [_as_objects(item, convert) for item in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {key: _as_objects(item, convert) for key, item in value.items()}
    return value


def _training_config(model):
    """Keras 3's legacy ``training_config``: the compile arguments with ``optimizer_config`` apart.

    Keras 3's h5 loader looks loss and metric names up as metric functions and fails to compile its own
    files (``"mse"``: "not a KerasSaveable subclass"), so names are written as the objects they stand for.
    """
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if not compile_config or "optimizer" not in compile_config:
        return None
    config = {key: value for key, value in compile_config.items() if key != "optimizer"}
    config["loss"] = _as_objects(config.get("loss"), _loss_class_config)
    for key in ("metrics", "weighted_metrics"):
        config[key] = _as_objects(config.get(key), lambda name: name if name in _NAMED_METRICS else
                                  serialize_keras_object(metrics.get(name)))
    optimizer = compile_config["optimizer"]
    config["optimizer_config"] = {"class_name": optimizer["class_name"], "config": optimizer["config"]}
    return config


def _write_optimizer(handle, optimizer):
    variables = optimizer.variables
    group = handle.create_group(_OPTIMIZER_GROUP)
    names = [f"{optimizer.name}/iteration"] + [f"{optimizer.name}/variable_{index}" for index in
                                               range(1, len(variables))]
    h5.write_string_list(group, "weight_names", names)
    for name, value in zip(names, slots.optimizer_values(optimizer)):
        h5.write_array(group, name, value)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Writes ``model`` as a legacy HDF5 model file that Keras 3 loads (atomically)."""
    h5py = h5.import_h5py()
    model_config = json.dumps({"class_name": type(model).__dict__.get("_serialized_class", type(model)).__name__,
                               "config": serialize_keras_object(model)["config"]})
    training_config = _training_config(model) if include_optimizer else None
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.attrs["keras_version"] = KERAS_FORMAT_VERSION
        handle.attrs["backend"] = "torch"
        handle.attrs["lamina_version"] = __version__
        handle.attrs["model_config"] = model_config
        if training_config is not None:
            handle.attrs["training_config"] = json.dumps(training_config)
        _write_layers(handle.create_group(_WEIGHTS_GROUP), model)
        optimizer = getattr(model, "optimizer", None)
        if training_config is not None and getattr(optimizer, "built", False):
            _write_optimizer(handle, optimizer)
    payload = buffer.getvalue()
    save_file(model, filepath, lambda target: target.write(payload), overwrite)


def save_weights(model, filepath, overwrite=True):
    """Writes the weights as a legacy HDF5 weights file (Keras 2's ``save_weights("w.h5")``), atomically."""
    h5py = h5.import_h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        _write_layers(handle, model)
    payload = buffer.getvalue()
    save_file(model, filepath, lambda target: target.write(payload), overwrite)


# ---------------------------------------------------------------------------------------------- reading
def _layer_datasets(node, name, filepath):
    """The checked datasets of the file's layer ``name``, in ``weight_names`` order."""
    group = h5.group(node, name, filepath)
    names = h5.string_list(group, "weight_names", filepath)
    return [h5.dataset(group, weight_name, filepath) for weight_name in names]


def load_weights_group(model, node, filepath, by_name=False, skip_mismatch=False):
    """Sets the model's weights from a ``model_weights``-style group (order, or ``by_name`` as Keras 2)."""
    report = slots.MismatchReport(filepath) if skip_mismatch else None
    names = h5.string_list(node, "layer_names", filepath)
    layers = [layer for layer in model.layers if layer._weight_slots()]
    if by_name:
        by_layer_name = {layer.name: layer for layer in layers}
        for name in names:
            layer = by_layer_name.get(name)
            if layer is not None:
                slots.assign(layer.name, legacy_order(layer), _layer_datasets(node, name, filepath), h5.read,
                             filepath, report)
    else:
        stored = [(name, _layer_datasets(node, name, filepath)) for name in names]
        stored = [(name, datasets) for name, datasets in stored if datasets]
        if len(stored) != len(layers):
            raise ValueError(f"{filepath}: the file holds weights for {len(stored)} layer(s) "
                             f"({[name for name, _ in stored]}) but model '{model.name}' has {len(layers)} layer(s) "
                             f"with weights ({[layer.name for layer in layers]}). Was it saved from another "
                             "architecture? (Keras 2's `by_name=True` matches layers by name.)")
        for (name, datasets), layer in zip(stored, layers):
            label = layer.name if layer.name == name else f"{layer.name}' (file layer '{name}"
            slots.assign(label, legacy_order(layer), datasets, h5.read, filepath, report)
    if report is not None:
        report.warn()


def _restore_optimizer(model, handle, filepath, version):
    """Restores the optimizer state of a Keras 3 file, or of a tf.keras 2.11+ optimizer ("iteration:0", then
    each variable's slots: Keras 3's order without the learning rate). Older Keras 2 optimizers group their
    slots by kind under other names: their state is not restored (a warning says so)."""
    optimizer = getattr(model, "optimizer", None)
    if not h5.has(handle, _OPTIMIZER_GROUP) or not hasattr(optimizer, "slot_owners"):
        return
    group = h5.group(handle, _OPTIMIZER_GROUP, filepath)
    names = h5.string_list(group, "weight_names", filepath)
    keras2_optimizer = not version.startswith("3.")
    if keras2_optimizer and not (names and names[0].split("/")[-1].startswith("iteration")):
        warnings.warn(f"{filepath}: the state of this Keras {version} optimizer is not restored (its variables are "
                      "grouped in an order lamina cannot map); training continues from a freshly initialized "
                      "optimizer.", stacklevel=4)
        return
    datasets = [h5.dataset(group, name, filepath) for name in names]
    slots.restore_optimizer(model, optimizer, datasets, h5.read, filepath, without_learning_rate=keras2_optimizer)


def _compile_config(handle, filepath, version, model):
    if "training_config" not in handle.attrs:
        return None
    training = json_attribute(handle, "training_config", filepath)
    if not isinstance(training, dict):
        raise ValueError(f"{filepath}: the 'training_config' attribute should hold a JSON object.")
    if not version.startswith("3."):
        return keras2.translate_training_config(training, model, filepath)
    config = {key: value for key, value in training.items() if key != "optimizer_config"}
    if "optimizer_config" in training:
        config["optimizer"] = training["optimizer_config"]
    return config


def load_model(payload, filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model in a legacy HDF5 model file's bytes."""
    with h5.open_for_reading(payload, filepath) as handle:
        kind = file_kind(handle)
        if kind != "model":
            raise ValueError(f"{filepath}: this HDF5 file holds only weights (no 'model_config'). Build the model "
                             "in code, then call `model.load_weights(path)`.")
        weights = h5.group(handle, _WEIGHTS_GROUP, filepath)
        version = keras_version(handle) if "keras_version" in handle.attrs else keras_version(weights)
        config = json_attribute(handle, "model_config", filepath)
        if not version.startswith("3."):
            config = keras2.translate_model_config(config, filepath)
        model = rebuild.model_from_config(config, filepath, len(payload), custom_objects, safe_mode)
        load_weights_group(model, weights, filepath)
        if compile and rebuild.restore_compile(model, _compile_config(handle, filepath, version, model), filepath):
            _restore_optimizer(model, handle, filepath, version)
    return model


def load_weights(model, payload, filepath, by_name=False, skip_mismatch=False):
    """Loads a legacy HDF5 weights file, or the weights of a legacy HDF5 model file, into ``model``."""
    with h5.open_for_reading(payload, filepath) as handle:
        node = h5.group(handle, _WEIGHTS_GROUP, filepath) if file_kind(handle) == "model" or (
            "layer_names" not in handle.attrs and h5.has(handle, _WEIGHTS_GROUP)) else handle
        load_weights_group(model, node, filepath, by_name=by_name, skip_mismatch=skip_mismatch)
