"""The lamina model file: a zip of ``config.json``, ``metadata.json`` and ``model.weights.safetensors``.

Weights are stored in Keras layouts under keys ``weights/00000/<layer>/<name>`` (the zero-padded index
keeps ``get_weights`` order); a compiled model also stores its optimizer's state under
``optimizer/00000`` so that ``fit`` continues where it stopped. State that is not a weight (the
vocabularies preprocessing layers learn by ``adapt``) is each module's torch extra state
(``get_extra_state()``), kept as JSON in the safetensors metadata under ``"extra_state"``, in module
order. Nothing is pickled, and reading never runs code from the file. Every write goes to a temporary
file in the target directory, then ``os.replace``.
"""

import datetime
import json
import zipfile

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from lamina.engine.weights import assign_value, full_value
from lamina.saving import archive, rebuild, slots
from lamina.saving.atomic import save_file
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


def _stateful_modules(model):
    """(path, module) of the modules holding a torch extra state, in ``named_modules`` order."""
    return [(path, module) for path, module in model.named_modules()
            if type(module).get_extra_state is not torch.nn.Module.get_extra_state]


def _safetensors_bytes(model):
    metadata = {"format": "lamina", "layout": "keras"}
    states = [{"module": path, "state": module.get_extra_state()} for path, module in _stateful_modules(model)]
    if states:
        try:
            metadata["extra_state"] = json.dumps(states)
        except TypeError as error:
            raise TypeError(f"Model '{model.name}': the extra state of a module must be JSON-serializable to be "
                            f"saved ({error}).") from None
    return save_safetensors(_weight_tensors(model), metadata=metadata)


def _read_extra_states(payload, filepath):
    """The extra states in the payload's metadata (the safetensors header: an 8-byte length, then JSON)."""
    try:
        size = int.from_bytes(payload[:8], "little")
        metadata = json.loads(payload[8:8 + size]).get("__metadata__") or {}
        return json.loads(metadata["extra_state"]) if "extra_state" in metadata else []
    except (ValueError, AttributeError, TypeError) as error:
        raise ValueError(f"{filepath}: corrupt extra state in the weights' metadata ({error}).") from None


def _set_extra_states(model, states, filepath):
    modules = _stateful_modules(model)
    if len(states) != len(modules):
        raise ValueError(f"{filepath}: the file holds the extra state of {len(states)} module(s) "
                         f"({[s['module'] for s in states]}) but model '{model.name}' has {len(modules)} "
                         f"({[path for path, _ in modules]}). Was it saved from a different architecture?")
    for (_, module), saved in zip(modules, states):
        module.set_extra_state(saved["state"])


def load_weights_payload(model, payload, filepath, skip_mismatch=False, keep_optimizer=True):
    """Sets the weights, extra states and (``keep_optimizer``) optimizer state from a safetensors payload."""
    tensors = read_safetensors(payload, filepath)
    if not keep_optimizer:
        tensors = {key: value for key, value in tensors.items() if not key.startswith("optimizer/")}
    assign_tensors(model, tensors, filepath, skip_mismatch)
    _set_extra_states(model, _read_extra_states(payload, filepath), filepath)


def read_safetensors(payload, filepath):
    try:
        return load_safetensors(payload)
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        raise ValueError(f"{filepath}: the weights are not a valid safetensors payload ({error}).") from None


def assign_tensors(model, tensors, filepath, skip_mismatch=False):
    """Sets the model's weights (and the optimizer's state, when present and compiled) from ``tensors``.

    Shapes are checked layer by layer before anything is set; with ``skip_mismatch`` a layer whose shapes
    differ is skipped (one warning names each) and the others load.
    """
    weight_keys = sorted(key for key in tensors if key.startswith("weights/"))
    slots_in_order = model._weight_slots()
    if len(weight_keys) != len(slots_in_order):
        raise ValueError(f"{filepath}: the file holds {len(weight_keys)} weights but model '{model.name}' has "
                         f"{len(slots_in_order)}. Was it saved from a different architecture?")
    report = slots.MismatchReport(filepath) if skip_mismatch else None
    groups = {}
    for slot, key in zip(slots_in_order, weight_keys):
        groups.setdefault(id(slot[0]), (getattr(slot[0], "name", type(slot[0]).__name__), [], []))
        groups[id(slot[0])][1].append(slot)
        groups[id(slot[0])][2].append(tensors[key])
    for label, owner_slots, values in groups.values():
        slots.assign(label, owner_slots, values, _as_numpy, filepath, report)
    if report is not None:
        report.warn()
    optimizer_keys = sorted(key for key in tensors if key.startswith("optimizer/"))
    optimizer = getattr(model, "optimizer", None)
    if optimizer_keys and optimizer is not None:
        if not optimizer.built:
            optimizer.build(model.trainable_weights)
        variables = optimizer.variables
        if len(variables) != len(optimizer_keys):
            raise ValueError(f"{filepath}: the file holds {len(optimizer_keys)} optimizer variables but the "
                             f"optimizer of model '{model.name}' has {len(variables)}.")
        for variable, key in zip(variables, optimizer_keys):
            if tuple(tensors[key].shape) != tuple(variable.shape):
                raise ValueError(f"{filepath}: optimizer variable '{key}' has shape {tuple(tensors[key].shape)} in "
                                 f"the file, but the optimizer of model '{model.name}' expects "
                                 f"{tuple(variable.shape)}.")
        with torch.no_grad():
            for variable, key in zip(variables, optimizer_keys):
                assign_value(variable, tensors[key].to(variable.device, variable.dtype))


def _as_numpy(tensor):
    """A stored tensor as a NumPy array; dtypes NumPy lacks (bfloat16, the float8s) widen to float32."""
    if tensor.is_floating_point() and tensor.dtype not in (torch.float16, torch.float32, torch.float64):
        tensor = tensor.float()
    return tensor.numpy()


def save_model(model, filepath, overwrite=True):
    """Saves ``model`` (config, weights, compiled state) as a ``.lamina`` zip file."""
    config = json.dumps(serialize_keras_object(model))
    metadata = json.dumps({"format": "lamina.model", "format_version": 1, "lamina_version": __version__,
                           "torch_version": torch.__version__,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = _safetensors_bytes(model)

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as target:
            target.writestr(_METADATA, metadata)
            target.writestr(_CONFIG, config)
            target.writestr(_WEIGHTS, weights)

    save_file(model, filepath, write, overwrite)


def is_lamina_archive(names):
    """Whether zip member ``names`` are a lamina model file's."""
    return _WEIGHTS in names


def read_archive(payload, filepath):
    """(config, metadata, weights bytes) of a model file, with a ValueError naming what is wrong."""
    members = archive.read_members(payload, filepath, required=sorted(_MEMBERS), kind="lamina model file",
                                   limits={_CONFIG: archive.MAX_JSON_BYTES, _METADATA: archive.MAX_JSON_BYTES})
    config = archive.read_json(members[_CONFIG], filepath, _CONFIG)
    metadata = archive.read_json(members[_METADATA], filepath, _METADATA)
    if not isinstance(metadata, dict) or metadata.get("format") != "lamina.model":
        raise ValueError(f"{filepath}: not a lamina model file (metadata.json has no 'format': 'lamina.model').")
    return config, metadata, members[_WEIGHTS]


def load_model(payload, filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model in a ``.lamina`` file's bytes: architecture, weights and (with ``compile``) the optimizer state.

    ``safe_mode=True`` refuses to load serialized Python code (``Lambda`` layers holding a function).
    """
    config, _, weights = read_archive(payload, filepath)
    compile_config = config.get("compile_config") if isinstance(config, dict) else None
    model = rebuild.model_from_config(config, filepath, len(weights), custom_objects, safe_mode)
    keep_optimizer = bool(compile and rebuild.restore_compile(model, compile_config, filepath))
    load_weights_payload(model, weights, filepath, keep_optimizer=keep_optimizer)
    return model


def save_weights(model, filepath, overwrite=True):
    """Saves the weights (Keras layouts, plus the optimizer state if built) to a ``.weights.safetensors`` file."""
    payload = _safetensors_bytes(model)
    save_file(model, filepath, lambda handle: handle.write(payload), overwrite)
