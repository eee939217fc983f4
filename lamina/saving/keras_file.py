"""Keras 3's native files: the ``.keras`` zip and the ``.weights.h5`` weights file.

A ``.keras`` file is a zip of ``config.json`` (the model's Keras-form config, with its ``compile_config``),
``metadata.json`` (``keras_version``, ``date_saved``) and ``model.weights.h5``. The HDF5 file keeps each
layer's own variables at ``<object path>/vars/<index>`` (paths as ``keras_layout`` computes them) and the
optimizer's at ``optimizer/vars/<index>``; ``.weights.h5`` is that HDF5 file alone.
"""

import datetime
import io
import json
import warnings
import zipfile

from lamina.dtypes import to_numpy
from lamina.saving import archive, h5, keras2, rebuild, slots
from lamina.saving.atomic import save_file
from lamina.saving.keras_layout import variable_groups
from lamina.serialization import serialize_keras_object
from lamina.version import __version__

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# The Keras version whose file format lamina writes (metadata.json's "keras_version").
KERAS_FORMAT_VERSION = "3.15.1"
_OPTIMIZER_GROUP = "optimizer/vars"
# Keras keeps assets (vocabularies) under assets/; lamina has no layer that uses them, so they are not read.
_ASSET_PREFIXES = ("assets/",)


def _optimizer_of(model):
    optimizer = getattr(model, "optimizer", None)
    return optimizer if optimizer is not None and hasattr(optimizer, "variables") and \
        hasattr(optimizer, "get_config") else None


def _stored(layer, own):
    """The slots Keras 3 keeps in a layer's ``vars``: a LoRA layer keeps its matrix with the update merged in
    and not the factors (which loading resets to zero), as Keras's Dense and Embedding do."""
    if not getattr(layer, "lora_enabled", False):
        return own
    factors = layer.lora_weight_names()[1:]
    return [slot for slot in own if slot[1] not in factors]


def _stored_value(layer, slot):
    if getattr(layer, "lora_enabled", False) and slot[1] == layer.lora_weight_names()[0]:
        return to_numpy(layer.lora_merged())
    return slots.keras_value(slot)


# ---------------------------------------------------------------------------------------------- writing
def write_state(model, handle, include_optimizer=True):
    """Writes every layer's own variables (and the optimizer's) into the open h5py file ``handle``."""
    for path, layer, own in variable_groups(model):
        node = handle.create_group(path)
        node.attrs["name"] = layer.name
        for index, slot in enumerate(_stored(layer, own)):
            h5.write_array(node, str(index), _stored_value(layer, slot))
    optimizer = _optimizer_of(model) if include_optimizer else None
    if optimizer is not None and optimizer.built:
        node = handle.create_group(_OPTIMIZER_GROUP)
        node.attrs["name"] = optimizer.name
        for index, value in enumerate(slots.optimizer_values(optimizer)):
            h5.write_array(node, str(index), value)


def _h5_bytes(model, include_optimizer):
    h5py = h5.import_h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        write_state(model, handle, include_optimizer)
    return buffer.getvalue()


def _warn_if_unbuilt(model):
    if not model.built:
        warnings.warn(f"Model '{model.name}' is not built yet: the file holds no weights. Build it (call it on "
                      "data or give it an Input) before saving.", stacklevel=4)


def save_keras(model, filepath, overwrite=True):
    """Writes ``model`` as a Keras 3 ``.keras`` file (atomically)."""
    _warn_if_unbuilt(model)
    config = json.dumps(serialize_keras_object(model))
    metadata = json.dumps({"keras_version": KERAS_FORMAT_VERSION, "lamina_version": __version__,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = _h5_bytes(model, include_optimizer=True)

    def write(handle):
        with zipfile.ZipFile(handle, "w") as target:  # stored, not deflated, as Keras writes them
            target.writestr(METADATA, metadata)
            target.writestr(CONFIG, config)
            target.writestr(WEIGHTS, weights)

    save_file(model, filepath, write, overwrite)


def save_weights_h5(model, filepath, overwrite=True):
    """Writes the weights as a Keras 3 ``.weights.h5`` file (atomically)."""
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet, so it has no weights to save. Build it first "
                         "(call it on data, or give it an Input).")
    payload = _h5_bytes(model, include_optimizer=True)
    save_file(model, filepath, lambda handle: handle.write(payload), overwrite)


# ---------------------------------------------------------------------------------------------- reading
def _group_datasets(node, filepath):
    """The datasets ``0``, ``1``… of a ``vars`` group, in index order, checked (nothing read yet)."""
    names = list(node.keys())
    if sorted(names, key=lambda n: (len(n), n)) != [str(i) for i in range(len(names))]:
        raise ValueError(f"{filepath}: the HDF5 group {node.name!r} should hold datasets named 0, 1, ...; "
                         f"found {sorted(names)}.")
    return [h5.dataset(node, str(index), filepath) for index in range(len(names))]


def _legacy_path(handle, path):
    """tf.keras 2.13-2.15 wrote layers under ``_layer_checkpoint_dependencies`` instead of ``layers``."""
    if h5.has(handle, path) or not h5.has(handle, "_layer_checkpoint_dependencies"):
        return path
    return path.replace("layers", "_layer_checkpoint_dependencies")


def read_state(model, handle, filepath, skip_mismatch=False, optimizer=None, keras2_optimizer=False):
    """Sets the model's weights (and ``optimizer``'s variables, if given) from an open weights file.

    ``keras2_optimizer``: the file comes from tf.keras, whose optimizers keep no learning-rate variable.
    """
    report = slots.MismatchReport(filepath) if skip_mismatch else None
    for path, layer, own in variable_groups(model):
        path = _legacy_path(handle, path)
        if not h5.has(handle, path):
            if own:
                message = (f"the HDF5 group {path!r} (the weights of layer '{layer.name}') is missing. Was the file "
                           "saved from another architecture?")
                slots.skip_or_raise(message, filepath, report)
            continue
        datasets = _group_datasets(h5.group(handle, path, filepath), filepath)
        if slots.assign(layer.name, _stored(layer, own), datasets, h5.read, filepath, report) and \
                getattr(layer, "lora_enabled", False):
            for name in layer.lora_weight_names()[1:]:
                getattr(layer, name).detach().zero_()
    if report is not None:
        report.warn()
    if optimizer is not None and h5.has(handle, _OPTIMIZER_GROUP):
        datasets = _group_datasets(h5.group(handle, _OPTIMIZER_GROUP, filepath), filepath)
        if datasets:
            slots.restore_optimizer(model, optimizer, datasets, h5.read, filepath, keras2_optimizer)


def read_archive(payload, filepath):
    """(config, metadata, weights bytes) of a ``.keras`` zip."""
    members = archive.read_members(payload, filepath, required=(CONFIG, WEIGHTS), optional=(METADATA,),
                                   ignore_prefixes=_ASSET_PREFIXES, kind="Keras .keras file",
                                   limits={CONFIG: archive.MAX_JSON_BYTES, METADATA: archive.MAX_JSON_BYTES})
    config = archive.read_json(members[CONFIG], filepath, CONFIG)
    metadata = archive.read_json(members[METADATA], filepath, METADATA) if METADATA in members else {}
    if not isinstance(metadata, dict):
        raise ValueError(f"{filepath}: {METADATA} should hold a JSON object.")
    return config, metadata, members[WEIGHTS]


def is_keras2(metadata):
    """Whether a .keras file was written by tf.keras 2.13-2.15 (its configs mean what they meant in Keras 2)."""
    return str(metadata.get("keras_version", "3")).startswith("2.")


def load_keras(payload, filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model in a ``.keras`` file's bytes: architecture, weights, and (``compile``) training state."""
    config, metadata, weights = read_archive(payload, filepath)
    from_keras2 = is_keras2(metadata)
    if from_keras2:
        config = keras2.translate_model_config(config, filepath)
    compile_config = config.get("compile_config") if isinstance(config, dict) else None
    model = rebuild.model_from_config(config, filepath, len(weights), custom_objects, safe_mode)
    if from_keras2 and compile_config:
        compile_config = keras2.translate_training_config(compile_config, model, filepath)
    compiled = compile and rebuild.restore_compile(model, compile_config, filepath)
    optimizer = _optimizer_of(model) if compiled else None
    with h5.open_for_reading(weights, filepath) as handle:
        read_state(model, handle, filepath, optimizer=optimizer, keras2_optimizer=from_keras2)
    return model


def load_weights_h5(model, payload, filepath, skip_mismatch=False):
    """Loads a Keras 3 weights file (``.weights.h5``, or the weights inside a ``.keras`` zip) into ``model``."""
    optimizer = _optimizer_of(model) if getattr(model, "compiled", False) else None
    with h5.open_for_reading(payload, filepath) as handle:
        read_state(model, handle, filepath, skip_mismatch=skip_mismatch, optimizer=optimizer)
