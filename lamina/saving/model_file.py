"""The lamina model file: a zip of ``config.json``, ``metadata.json`` and ``model.weights.safetensors``.

Weights are stored in Keras layouts under keys ``weights/00000/<layer>/<name>`` (the zero-padded index
keeps ``get_weights`` order); a compiled model also stores its optimizer's state under
``optimizer/00000`` so that ``fit`` continues where it stopped. Nothing is pickled, and reading never
runs code from the file. Every write goes to a temporary file in the target directory, then
``os.replace``.
"""

import datetime
import json
import os
import zipfile
import zlib

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from lamina.distribution import process_group, replica
from lamina.engine.weights import assign_value, full_value
from lamina.layers.serialization import deserialize
from lamina.saving.atomic import atomic_write
from lamina.serialization import serialize_keras_object
from lamina.version import __version__

_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.safetensors"
_MEMBERS = {_CONFIG, _METADATA, _WEIGHTS}
MODEL_SUFFIX = ".lamina"
WEIGHTS_SUFFIX = ".weights.safetensors"


def _weight_tensors(model):
    """Keras-layout weights keyed in ``get_weights`` order, plus the optimizer state if built."""
    tensors = {}
    for index, ((owner, name, _), value) in enumerate(zip(model._weight_slots(), model.get_weights())):
        tensors[f"weights/{index:05d}/{getattr(owner, 'name', type(owner).__name__)}/{name}"] = torch.from_numpy(value)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and optimizer.built:
        for index, variable in enumerate(optimizer.variables):
            tensors[f"optimizer/{index:05d}"] = full_value(variable).detach().cpu()
    return {key: value.contiguous() for key, value in tensors.items()}


def _safetensors_bytes(model):
    return save_safetensors(_weight_tensors(model), metadata={"format": "lamina", "layout": "keras"})


def _read_safetensors(payload, filepath):
    try:
        return load_safetensors(payload)
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        raise ValueError(f"{filepath}: the weights are not a valid safetensors payload ({error}).") from None


def _assign(model, tensors, filepath):
    """Sets the model's weights (and the optimizer's state, when present and compiled) from ``tensors``."""
    weight_keys = sorted(key for key in tensors if key.startswith("weights/"))
    slots = model._weight_slots()
    if len(weight_keys) != len(slots):
        raise ValueError(f"{filepath}: the file holds {len(weight_keys)} weights but model '{model.name}' has "
                         f"{len(slots)}. Was it saved from a different architecture?")
    try:
        model.set_weights([tensors[key].numpy() for key in weight_keys])
    except ValueError as error:
        raise ValueError(f"{filepath}: {error}") from None
    optimizer_keys = sorted(key for key in tensors if key.startswith("optimizer/"))
    optimizer = getattr(model, "optimizer", None)
    if optimizer_keys and optimizer is not None:
        if not optimizer.built:
            optimizer.build(model.trainable_weights)
        variables = optimizer.variables
        if len(variables) != len(optimizer_keys):
            raise ValueError(f"{filepath}: the file holds {len(optimizer_keys)} optimizer variables but the "
                             f"optimizer of model '{model.name}' has {len(variables)}.")
        with torch.no_grad():
            for variable, key in zip(variables, optimizer_keys):
                assign_value(variable, tensors[key].to(variable.device, variable.dtype))


def save_model(model, filepath, overwrite=True):
    """Saves ``model`` (config, weights, compiled state) as a ``.lamina`` zip file."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(MODEL_SUFFIX):
        raise ValueError(f"The model file name must end in {MODEL_SUFFIX!r}. Received: filepath={filepath!r}. "
                         f"Use save_weights() with a {WEIGHTS_SUFFIX!r} name to save only the weights.")
    config = json.dumps(serialize_keras_object(model))
    metadata = json.dumps({"format": "lamina.model", "format_version": 1, "lamina_version": __version__,
                           "torch_version": torch.__version__,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = _safetensors_bytes(model)

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_METADATA, metadata)
            archive.writestr(_CONFIG, config)
            archive.writestr(_WEIGHTS, weights)

    # A model trained under a distribution is saved by process 0; every process calls save (Keras's rule).
    process_group.write_once(lambda: atomic_write(filepath, write, overwrite), replica.is_distributed(model))


def _read_archive(filepath):
    """(config, metadata, weights bytes) of a model file, with a ValueError naming what is wrong."""
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise ValueError(f"File not found: {filepath}. Please ensure the file is an accessible lamina model file.")
    try:
        with zipfile.ZipFile(filepath) as archive:
            names = set(archive.namelist())
            if names != _MEMBERS:
                raise ValueError(f"{filepath}: not a lamina model file: expected exactly {sorted(_MEMBERS)}, found "
                                 f"{sorted(names)}.")
            broken = archive.testzip()
            if broken is not None:
                raise ValueError(f"{filepath}: corrupt model file: member {broken!r} fails its checksum.")
            payloads = {name: archive.read(name) for name in _MEMBERS}
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, OSError, zlib.error) as error:
        raise ValueError(f"{filepath}: not a valid lamina model file (truncated, corrupt or not a zip archive: "
                         f"{error}).") from None
    try:
        config, metadata = json.loads(payloads[_CONFIG]), json.loads(payloads[_METADATA])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{filepath}: corrupt model file: config/metadata are not valid JSON ({error}).") from None
    if not isinstance(metadata, dict) or metadata.get("format") != "lamina.model":
        raise ValueError(f"{filepath}: not a lamina model file (metadata.json has no 'format': 'lamina.model').")
    return config, metadata, payloads[_WEIGHTS]


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by ``model.save``: architecture, weights and (with ``compile``) the optimizer state.

    ``safe_mode=True`` refuses to load serialized Python code (``Lambda`` layers holding a function).
    Raises ValueError naming the file if it is truncated, corrupt or not a lamina model file.
    """
    config, _, payload = _read_archive(filepath)
    if not compile:
        config = {key: value for key, value in config.items() if key != "compile_config"}
    model = deserialize(config, custom_objects=custom_objects, safe_mode=safe_mode)
    tensors = _read_safetensors(payload, filepath)
    if not compile:
        tensors = {key: value for key, value in tensors.items() if not key.startswith("optimizer/")}
    _assign(model, tensors, filepath)
    return model


def save_weights(model, filepath, overwrite=True):
    """Saves the weights (Keras layouts, plus the optimizer state if built) to a ``.weights.safetensors`` file."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"The filename must end in {WEIGHTS_SUFFIX!r}. Received: filepath={filepath!r}")
    payload = _safetensors_bytes(model)
    process_group.write_once(lambda: atomic_write(filepath, lambda handle: handle.write(payload), overwrite),
                             replica.is_distributed(model))


def load_weights(model, filepath):
    """Loads weights from a ``.weights.safetensors`` file or from a ``.lamina`` model file."""
    filepath = os.fspath(filepath)
    if filepath.endswith(MODEL_SUFFIX):
        payload = _read_archive(filepath)[2]
    elif filepath.endswith(WEIGHTS_SUFFIX):
        if not os.path.isfile(filepath):
            raise ValueError(f"File not found: {filepath}.")
        with open(filepath, "rb") as handle:
            payload = handle.read()
    else:
        raise ValueError(f"File format not supported: {filepath}. lamina reads {WEIGHTS_SUFFIX!r} weight files "
                         f"and {MODEL_SUFFIX!r} model files.")
    _assign(model, _read_safetensors(payload, filepath), filepath)
