"""What a model or weights file holds, for ``lamina inspect``: format, writer, layers and their weight shapes,
training configuration, and what lamina (or Keras 3) would not load, with the reason.

The file is read with the same guarded readers as loading; a trial load in lamina (``safe_mode=True``)
reports the errors and warnings loading would give.
"""

import json
import warnings

from lamina.layers.serialization import is_known
from lamina.saving import api, archive, h5, keras_file, legacy_h5, model_file, state_dict_file

# What lamina writes that Keras 3 cannot read back (docs/keras_files.md): config text -> description.
_KERAS3_CANNOT_READ = {'"LocallyConnected1D"': "LocallyConnected1D (a Keras 2 layer)",
                       '"LocallyConnected2D"': "LocallyConnected2D (a Keras 2 layer)",
                       '"time_major": true': "RNN time_major=True (Keras 2)",
                       '"keras2_hard_sigmoid"': "Keras 2's hard_sigmoid activation"}
_NESTED_LAYER_KEYS = ("layer", "backward_layer", "cell")


def _layers_of(config):
    """(name, class name) of a model config's top-level layers (Keras 2 and 3 forms)."""
    if not isinstance(config, dict):
        return []
    inner = config.get("config")
    entries = inner if isinstance(inner, list) else (inner or {}).get("layers", []) if isinstance(inner, dict) else []
    return [((entry.get("config") or {}).get("name") or entry.get("name"), entry.get("class_name"))
            for entry in entries if isinstance(entry, dict)]


def _layer_entries(entry):
    """Every layer config in a model config: the layers of (nested) models, wrapped layers and cells."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        return
    yield entry
    inner = entry.get("config")
    children = inner if isinstance(inner, list) else []
    if isinstance(inner, dict):
        children = list(inner.get("layers") or []) + list(inner.get("cells") or [])
        for key in _NESTED_LAYER_KEYS:
            value = inner.get(key)
            children.extend(value if isinstance(value, list) else [value])
    for child in children:
        yield from _layer_entries(child)


def _unknown_classes(config):
    """Layer classes named in ``config`` that lamina has not registered, each once."""
    unknown = []
    for entry in _layer_entries(config):
        if not is_known(entry) and entry["class_name"] not in unknown:
            unknown.append(entry["class_name"])
    return unknown


def _h5_vars(handle, filepath):
    """[(top-level layer name, [(weight, shape)])] of a Keras 3 weights file: each ``vars`` group's datasets,
    under the top-level layer they belong to (``layers/<x>/...``), labelled by their path below it."""
    groups = {}

    def visit(name, node):
        if not (name == "vars" or name.endswith("/vars")) or not hasattr(node, "keys"):
            return
        parts = name.split("/")
        top = "/".join(parts[:2]) if parts[0] == "layers" and len(parts) > 2 else "/".join(parts[:-1]) or "vars"
        owner = h5.group(handle, f"{top}/vars", filepath) if top != "vars" and h5.has(handle, f"{top}/vars") \
            else node
        label = h5.text(owner.attrs["name"]) if owner is not None and "name" in owner.attrs else top
        below = "/".join(parts[2:-1]) if parts[0] == "layers" else ""
        for key in sorted((k for k in node.keys() if k.isdigit()), key=int):
            shape = tuple(h5.dataset(node, key, filepath).shape)
            groups.setdefault(label, []).append((f"{below}/{key}" if below else key, shape))

    handle.visititems(visit)
    return list(groups.items())


def _legacy_weights(node, filepath):
    layers = []
    for name in h5.string_list(node, "layer_names", filepath):
        group = h5.group(node, name, filepath)
        names = h5.string_list(group, "weight_names", filepath)
        if names:
            layers.append((name, [(weight, tuple(h5.dataset(group, weight, filepath).shape)) for weight in names]))
    return layers


def _safetensors_weights(tensors):
    layers = {}
    for key, tensor in tensors.items():
        parts = key.split("/")
        owner, name = (parts[2], parts[3]) if key.startswith("weights/") and len(parts) == 4 else \
            ("optimizer" if key.startswith("optimizer/") else key.rpartition(".")[0] or key, parts[-1])
        layers.setdefault(owner, []).append((name, tuple(tensor.shape)))
    return list(layers.items())


def describe(filepath):
    """A dict: ``format``, ``written_by``, ``config``, ``weights`` [(layer, [(weight, shape)])], ``compile``,
    ``problems`` (what lamina would not load) and ``keras3`` (what Keras 3 could not read)."""
    filepath = str(filepath)
    payload = archive.read_file(filepath)
    kind = api.detect(payload)
    info = {"path": filepath, "config": None, "compile": None, "weights": [], "written_by": "not recorded",
            "problems": [], "keras3": []}
    if kind == "keras":
        config, metadata, weights = keras_file.read_archive(payload, filepath)
        info.update(format="Keras .keras file (zip: config.json, metadata.json, model.weights.h5)", config=config,
                    compile=config.get("compile_config") if isinstance(config, dict) else None,
                    written_by=_writer(metadata.get("keras_version"), metadata.get("lamina_version")))
        with h5.open_for_reading(weights, filepath) as handle:
            info["weights"] = _h5_vars(handle, filepath)
    elif kind == "lamina":
        config, metadata, weights = model_file.read_archive(payload, filepath)
        info.update(format="lamina model file (.lamina: config.json, metadata.json, safetensors weights)",
                    config=config, compile=config.get("compile_config") if isinstance(config, dict) else None,
                    written_by=f"lamina {metadata.get('lamina_version', '?')}",
                    weights=_safetensors_weights(model_file.read_safetensors(weights, filepath)))
    elif kind == "hdf5":
        with h5.open_for_reading(payload, filepath) as handle:
            file_kind = legacy_h5.file_kind(handle)
            if file_kind == "keras3_weights":
                info.update(format="Keras 3 weights file (.weights.h5)", weights=_h5_vars(handle, filepath))
            else:
                node = h5.group(handle, "model_weights", filepath) if file_kind == "model" else handle
                version = legacy_h5.keras_version(handle if "keras_version" in handle.attrs else node)
                backend = h5.text(node.attrs["backend"]) if "backend" in node.attrs else None
                info.update(format=f"legacy HDF5 {'model' if file_kind == 'model' else 'weights'} file",
                            written_by=_writer(version, h5.text(node.attrs["lamina_version"])
                                               if "lamina_version" in node.attrs else None, backend),
                            weights=_legacy_weights(node, filepath))
                if file_kind == "model":
                    info["config"] = legacy_h5.json_attribute(handle, "model_config", filepath)
                    if "training_config" in handle.attrs:
                        info["compile"] = legacy_h5.json_attribute(handle, "training_config", filepath)
    elif kind == "safetensors":
        tensors = model_file.read_safetensors(payload, filepath)
        metadata = state_dict_file.header_metadata(payload)
        if state_dict_file.CONFIG_KEY in metadata:
            info.update(format="PyTorch state_dict (safetensors, lamina's parameter names)",
                        config=archive.read_json(metadata[state_dict_file.CONFIG_KEY], filepath,
                                                 "the safetensors metadata"))
        else:
            info["format"] = "lamina weights file (.weights.safetensors)"
        info.update(written_by=f"lamina {metadata.get('lamina_version', '?')}" if "lamina_version" in metadata
                    else "lamina", weights=_safetensors_weights(tensors))
    else:
        raise api._unknown_format(filepath)
    _check_loading(info, filepath)
    return info


def _writer(keras_version, lamina_version=None, backend=None):
    text = f"Keras {keras_version}" if keras_version else "Keras (version not recorded)"
    if backend:
        text += f" ({backend} backend)"
    return text + (f", written by lamina {lamina_version}" if lamina_version else "")


def _check_loading(info, filepath):
    if info["config"] is None:
        info["problems"].append("holds only weights: build the model in code, then call model.load_weights(path)")
        return
    text = json.dumps(info["config"])
    for class_name in _unknown_classes(info["config"]):
        info["problems"].append(f"unknown layer class {class_name!r}: register it (custom_objects) to load it")
    holds_code = '"__lambda__"' in text or '"function_type": "lambda"' in text
    if holds_code:
        info["problems"].append("a Lambda layer holds Python bytecode: it loads only with safe_mode=False "
                                "(lamina convert --unsafe), from a trusted source, on the Python that wrote it")
    info["keras3"] = [what for needle, what in _KERAS3_CANNOT_READ.items() if needle in text]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            api.load_model(filepath)
        except (ValueError, ImportError) as error:  # inspect never runs code: the trial load stays safe
            message = str(error).replace(f"{filepath}: ", "")
            already_said = (holds_code and "safe_mode=False" in message) or any(
                class_name in message for class_name in _unknown_classes(info["config"]))
            if not already_said:
                info["problems"].append(message)
    info["problems"].extend(str(warning.message).replace(f"{filepath}: ", "") for warning in caught
                            if issubclass(warning.category, UserWarning))


def _compile_summary(config):
    if not isinstance(config, dict):
        return "not compiled"
    optimizer = config.get("optimizer", config.get("optimizer_config"))
    parts = []
    if isinstance(optimizer, dict):
        settings = optimizer.get("config") or {}
        rate = settings.get("learning_rate", settings.get("lr"))
        parts.append(f"optimizer {optimizer.get('class_name')}" + (f" (learning_rate={rate:.6g})"
                                                                   if isinstance(rate, (int, float)) else ""))
    for key in ("loss", "metrics", "weighted_metrics", "loss_weights"):
        if config.get(key) is not None:
            parts.append(f"{key} {json.dumps(config[key])[:200]}")
    return ", ".join(parts) or "not compiled"


def report(info):
    """``describe``'s dict as the text ``lamina inspect`` prints."""
    lines = [f"File:        {info['path']}", f"Format:      {info['format']}", f"Written by:  {info['written_by']}"]
    config = info["config"]
    if isinstance(config, dict):
        name = (config.get("config") or {}).get("name") if isinstance(config.get("config"), dict) else None
        lines.append(f"Model:       {config.get('class_name')}" + (f" '{name}'" if name else ""))
        layers = _layers_of(config)
        lines.append(f"Layers ({len(layers)}):")
        weights = dict(info["weights"])
        width = max([len(str(n)) for n, _ in layers] + [4])
        for name, class_name in layers:
            shapes = ", ".join(f"{weight} {shape}" for weight, shape in weights.get(name, []))
            lines.append(f"  {str(name):<{width}}  {str(class_name):<22} {shapes}".rstrip())
    if info["weights"] and not (isinstance(config, dict) and _layers_of(config)):  # weights alone: list them
        lines.append(f"Weights ({sum(len(w) for _, w in info['weights'])}):")
        lines.extend(f"  {layer}: " + ", ".join(f"{weight} {shape}" for weight, shape in weights_of)
                     for layer, weights_of in info["weights"])
    lines.append(f"Compile:     {_compile_summary(info['compile'])}")
    if info["problems"]:
        lines.append("lamina would not load:")
        lines.extend(f"  - {problem}" for problem in info["problems"])
    else:
        lines.append("lamina loads it: yes")
    if info["keras3"]:
        lines.append("Keras 3 could not read: " + "; ".join(info["keras3"]))
    return "\n".join(lines)
