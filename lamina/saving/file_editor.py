"""``KerasFileEditor``: inspect and edit the weights of a Keras 3 ``.keras`` or ``.weights.h5`` file without
building its model, as ``keras.saving.KerasFileEditor`` (Keras 3.15).

The file is read once, into memory, with the guarded readers every loader uses (``archive`` for the zip,
``h5`` for HDF5: no links, no external or virtual datasets, no shape bombs); ``weights_dict`` is then a
nested dict of NumPy arrays, one level per object path component (``layers`` -> ``dense`` -> ``"0"``),
each object's ``vars`` folded into it. Edits change that dict; ``save`` writes it back atomically.

Where Keras 3.15's own editor loses or miscounts data, this one does what its documentation says
(docs/keras_files.md, "Editing weights files"): objects holding both weights and sub-objects keep both
(Keras drops every nested model's weights), and ``compare`` counts each weight once.
"""

import datetime
import io
import json
import os
import zipfile

import numpy as np

from lamina.engine.layer import Layer
from lamina.saving import archive, h5, keras_file, legacy_h5
from lamina.saving.atomic import atomic_write
from lamina.saving.keras_layout import variable_groups
from lamina.version import __version__

_CLASS = "KerasFileEditor"
_KERAS_SUFFIX, _WEIGHTS_SUFFIX = ".keras", ".weights.h5"
_VARS = "vars"
_OPTIMIZER_GROUP = "optimizer/vars"
# Deeper object trees than this are not written by any model; refusing them bounds the reader's recursion.
_MAX_DEPTH = 64
_RULE = "─────────────────────"
_EXPECTED = {_KERAS_SUFFIX: "a Keras 3 `.keras` file (a zip of config.json, metadata.json and model.weights.h5)",
             _WEIGHTS_SUFFIX: "a Keras 3 `.weights.h5` file (HDF5, each object's weights in `<path>/vars`)"}


# ---------------------------------------------------------------------------------------------- reading
def _join(path, key):
    return f"{path}/{key}" if path else key


def _child(node, key, filepath):
    """The group or (checked) dataset ``key`` below ``node``; links and non-numeric data are refused."""
    h5py = h5.import_h5py()
    if h5.has(node, key) and isinstance(node[key], h5py.Group):
        return h5.group(node, key, filepath)
    return h5.dataset(node, key, filepath)


def read_tree(handle, filepath):
    """(weights tree, object metadata) of an open Keras 3 weights file.

    Each object's ``vars`` datasets become entries of its dict beside its sub-objects; empty objects are left
    out. The metadata maps ``/<object path>`` (``""`` for the root) to the HDF5 attributes of the object and
    its ``vars`` group (Keras writes the layer's ``name`` there).
    """
    h5py = h5.import_h5py()
    metadata = {}

    def contents(node, path, depth, ancestors):
        if depth > _MAX_DEPTH:
            raise ValueError(f"{filepath}: the HDF5 groups nest more than {_MAX_DEPTH} deep (at {node.name!r}); "
                             "no Keras model writes such a file.")
        if node.id in ancestors:
            raise ValueError(f"{filepath}: the HDF5 group {node.name!r} contains itself (a cycle of hard links).")
        ancestors = ancestors | {node.id}
        entries, attributes = {}, dict(node.attrs)
        for key in node.keys():
            child = _child(node, key, filepath)
            if not isinstance(child, h5py.Group):
                found = {key: h5.read(child)}
            elif key == _VARS:
                found, vars_attributes = contents(child, path, depth + 1, ancestors)
                attributes.update(vars_attributes)
            else:
                sub, sub_attributes = contents(child, _join(path, key), depth + 1, ancestors)
                if not sub:
                    continue
                found = {key: sub}
                if sub_attributes:
                    metadata[f"/{_join(path, key)}"] = sub_attributes
            clash = sorted(set(found) & set(entries))
            if clash:
                raise ValueError(f"{filepath}: the HDF5 group {node.name!r} holds {clash} both as weights (in "
                                 "`vars`) and as objects; the file is not a Keras weights file.")
            entries.update(found)
        return entries, attributes

    tree, root_attributes = contents(handle, "", 0, frozenset())
    if root_attributes:
        metadata[""] = root_attributes
    return tree, metadata


def _open(filepath):
    """(weights tree, object metadata, config, metadata, holds assets) of a ``.keras``/``.weights.h5`` file."""
    suffix = _KERAS_SUFFIX if filepath.endswith(_KERAS_SUFFIX) else _WEIGHTS_SUFFIX
    try:
        payload = archive.read_file(filepath, "Keras file")
        config = metadata = None
        holds_assets = False
        if suffix == _KERAS_SUFFIX:
            holds_assets = any(name.startswith("assets/") for name in archive.member_names(payload) or ())
            config, metadata, payload = keras_file.read_archive(payload, filepath)
        elif not h5.is_hdf5(payload[:4104]):
            raise ValueError(f"{filepath}: not an HDF5 file (no HDF5 signature; {len(payload)} bytes).")
        with h5.open_for_reading(payload, filepath) as handle:
            if suffix == _WEIGHTS_SUFFIX and legacy_h5.file_kind(handle) != "keras3_weights":
                raise ValueError(f"{filepath}: this is a legacy Keras HDF5 {legacy_h5.file_kind(handle)} file (Keras 2 "
                                 "layout), not a Keras 3 weights file. Load it in lamina and save it as `.keras` or "
                                 "`.weights.h5` first (`lamina convert`).")
            tree, object_metadata = read_tree(handle, filepath)
    except ValueError as error:
        reason = str(error).replace(f"{filepath}: ", "")
        raise ValueError(f"{_CLASS} cannot open filepath={filepath!r}: {reason} Expected {_EXPECTED[suffix]}.") \
            from None
    return tree, object_metadata, config, metadata, holds_assets


# ---------------------------------------------------------------------------------------------- writing
def _write_tree(handle, tree, path=""):
    """Keras's layout: an object's weights in ``<path>/vars/<name>``, its sub-objects below ``<path>``."""
    weights = [(name, value) for name, value in tree.items() if not isinstance(value, dict)]
    if weights:
        node = handle.create_group(_join(path, _VARS))
        for name, value in weights:
            h5.write_array(node, name, value)
    for name, value in tree.items():
        if isinstance(value, dict):
            _write_tree(handle, value, _join(path, name))


def _h5_bytes(tree):
    buffer = io.BytesIO()
    with h5.import_h5py().File(buffer, "w") as handle:
        _write_tree(handle, tree)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- comparing
def _reference_tree(model):
    """The weights tree ``model`` would save, in Keras's walk order (layers, then the optimizer)."""
    buffer = io.BytesIO()
    tree = {}
    with h5.import_h5py().File(buffer, "w") as handle:
        keras_file.write_state(model, handle)
        groups = [group for group, _, _ in variable_groups(model)] + [_OPTIMIZER_GROUP]
        for group in groups:
            if not h5.has(handle, group) or not len(handle[group]):
                continue
            node = tree
            for part in group.split("/")[:-1]:
                node = node.setdefault(part, {})
            for name in sorted(handle[group].keys()):
                node[name] = h5.read(handle[group][name])
    return tree


def _kind(value):
    return "an object" if isinstance(value, dict) else f"a weight of shape {value.shape}"


def _compare_trees(target, reference, path, target_name, ref_name, checked):
    """(errors, matches) of ``target`` against ``reference``, each mismatch printed once (``checked``)."""
    errors = matches = 0
    for key, ref_value in reference.items():
        where = f"{path}/{key}"
        if where in checked:
            continue
        value = target.get(key)
        if key not in target:
            if isinstance(ref_value, dict):
                print(f"...Object {where} present in {ref_name}, missing from {target_name}")
                print(f"    In {ref_name}, {where} contains the following keys: {list(ref_value.keys())}")
            else:
                print(f"...Weight {where} present in {ref_name}, missing from {target_name}")
        elif isinstance(ref_value, dict) != isinstance(value, dict):
            print(f"...Object/weight mismatch for {where}\n    In {ref_name}: {_kind(ref_value)}\n"
                  f"    In {target_name}: {_kind(value)}")
        elif isinstance(ref_value, dict):
            sub_errors, sub_matches = _compare_trees(value, ref_value, where, target_name, ref_name, checked)
            errors, matches = errors + sub_errors, matches + sub_matches
            continue
        elif tuple(value.shape) != tuple(ref_value.shape):
            print(f"...Weight shape mismatch for {where}\n    In {ref_name}: shape={tuple(ref_value.shape)}\n"
                  f"    In {target_name}: shape={tuple(value.shape)}")
        else:
            matches += 1
            continue
        errors += 1
        checked.add(where)
    return errors, matches


def _plural(count, word):
    return f"{count} {word}" + ("" if count == 1 else "s")


# ---------------------------------------------------------------------------------------------- the editor
class KerasFileEditor:
    """Inspect, edit and resave the weights of a Keras 3 ``.keras`` or ``.weights.h5`` file.

    Useful to adapt an old weights file to a changed architecture without building the old model.

    Args:
        filepath: a local ``.keras`` or ``.weights.h5`` file (str or path-like).

    Attributes: ``weights_dict`` (nested dicts of NumPy arrays: ``{"layers": {"dense": {"0": kernel, "1":
    bias}}, "optimizer": {...}}``), ``object_metadata`` (``{"/layers/dense": {"name": "dense"}}``, as read),
    ``config`` and ``metadata`` (of a ``.keras`` file; ``None`` for ``.weights.h5``).

    Example:
    ```python
    editor = KerasFileEditor("my_model.weights.h5")
    editor.summary()
    editor.delete_object("layers/dense_2")
    editor.add_object("layers/einsum_dense", weights={"0": kernel, "1": bias})
    editor.resave_weights("edited_model.weights.h5")
    ```
    Raises ValueError naming the file and what is wrong if it is missing, truncated, corrupt or not a Keras 3
    file.
    """

    def __init__(self, filepath):
        filepath = os.fspath(filepath)
        if not isinstance(filepath, str) or not filepath.endswith((_KERAS_SUFFIX, _WEIGHTS_SUFFIX)):
            raise ValueError(f"{_CLASS}: Invalid filename: expected a `.keras` or `.weights.h5` extension. "
                             f"Received: filepath={filepath!r}")
        self.filepath = filepath
        self.model = None
        self.weights_dict, self.object_metadata, self.config, self.metadata, self._holds_assets = _open(filepath)
        print(f"Keras model file '{filepath}'")
        if self.metadata is not None:
            print(f"Saved with Keras {self.metadata.get('keras_version', '(version not recorded)')} - date: "
                  f"{self.metadata.get('date_saved', '(not recorded)')}")

    # ------------------------------------------------------------------------------------------ reading
    def summary(self):
        """Prints the weight structure of the opened file (as edited so far)."""
        print("Weights structure")
        for line in _tree_lines(self.weights_dict, " " * 2):
            print(line)

    weights_summary = summary  # the name Keras's own error messages point to

    def compare(self, reference_model):
        """Compares the file's weights (as edited so far) to those ``reference_model`` (a lamina model or
        layer) would save, printing each mismatch.

        Returns a dict: ``status`` (``"success"`` or ``"error"``), ``error_count`` (the mismatches: objects or
        weights present on one side only, shapes that differ) and ``match_count`` (the model's weights found
        in the file with their shape).
        """
        if not isinstance(reference_model, Layer):
            raise ValueError(f"{_CLASS}.compare: `reference_model` should be a lamina model (or layer) whose weights "
                             f"the file should hold. Received: reference_model of type "
                             f"{type(reference_model).__name__}.")
        print("Running comparison")
        reference, checked = _reference_tree(reference_model), set()
        errors, matches = _compare_trees(self.weights_dict, reference, "", "saved file", "reference model", checked)
        extra, _ = _compare_trees(reference, self.weights_dict, "", "reference model", "saved file", checked)
        errors += extra
        print(_RULE)
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {_plural(matches, 'matching weight')}")
        else:
            print(f"Found {_plural(errors, 'error')}: saved file is not compatible with the reference model")
        return {"status": "success" if errors == 0 else "error", "error_count": errors, "match_count": matches}

    # ------------------------------------------------------------------------------------------ editing
    def rename_object(self, object_name, new_name):
        """Renames an object (a layer, or a weight): ``object_name`` is its name, if unique in the file
        (``"dense_2"``), or its path (``"layers/dense_2"``); ``new_name`` a leaf name."""
        new_name = self._leaf("rename_object", "new_name", new_name)
        parent, key = self._find("rename_object", "object_name", object_name)
        if new_name == key:
            return
        if new_name in parent:
            raise ValueError(f"{_CLASS}.rename_object: an entry named {new_name!r} already exists beside "
                             f"{object_name!r}; renaming would overwrite it. Received: new_name={new_name!r}; "
                             "expected a name not in use there (delete_object the other one first).")
        parent[new_name] = parent.pop(key)

    def delete_object(self, object_name):
        """Removes an object (e.g. a layer) and everything below it: ``object_name`` is its name, if unique in
        the file (``"dense_2"``), or its path (``"layers/dense_2"``)."""
        parent, key = self._find("delete_object", "object_name", object_name)
        del parent[key]

    def add_object(self, object_path, weights):
        """Adds a new object (e.g. a layer) at ``object_path`` (``"layers/dense_2"``; its parent must exist)
        holding ``weights``, a dict of weight names to arrays (``{"0": kernel, "1": bias}``)."""
        weights = self._weights("add_object", weights, allow_objects=True)
        if not isinstance(object_path, str) or not object_path.strip("/"):
            raise ValueError(f"{_CLASS}.add_object: `object_path` should be the path of the new object, e.g. "
                             f"'layers/dense_2'. Received: object_path={object_path!r}")
        parts = object_path.strip("/").split("/")
        parent = self.weights_dict
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(parent.get(part), dict):
                partial = "/".join(parts[:depth + 1])
                raise ValueError(f"{_CLASS}.add_object: Path '{partial}' not found in model. Received: "
                                 f"object_path={object_path!r}; expected a path below an existing object "
                                 f"(here: {sorted(k for k, v in parent.items() if isinstance(v, dict))}).")
            parent = parent[part]
        name = self._leaf("add_object", "object_path", parts[-1])
        if name in parent:
            raise ValueError(f"{_CLASS}.add_object: '{'/'.join(parts)}' already exists in the file. Received: "
                             f"object_path={object_path!r}; expected a new path (delete_object it first to "
                             "replace it, or add_weights to change its weights).")
        parent[name] = weights

    def add_weights(self, object_name, weights):
        """Adds weights to an existing object: ``weights`` maps weight names to arrays (``{"1": bias}``). A
        weight already there is replaced, if the new value has its shape."""
        weights = self._weights("add_weights", weights, allow_objects=False)
        target = self._object("add_weights", object_name)
        for name, value in weights.items():
            old = target.get(name)
            if isinstance(old, dict):
                raise ValueError(f"{_CLASS}.add_weights: {name!r} in {object_name!r} is an object, not a weight. "
                                 f"Received: weights[{name!r}] of shape {value.shape}; expected a new weight name.")
            if old is not None and old.shape != value.shape:
                raise ValueError(f"{_CLASS}.add_weights: weight {name!r} of {object_name!r} has shape {old.shape}; "
                                 f"received weights[{name!r}] of shape {value.shape}. Expected the same shape "
                                 "(delete_weight it first to give it another shape).")
        target.update(weights)

    def delete_weight(self, object_name, weight_name):
        """Removes the weight ``weight_name`` (e.g. ``"0"``) from the object ``object_name``."""
        target = self._object("delete_weight", object_name)
        weight_name = str(weight_name) if isinstance(weight_name, int) and not isinstance(weight_name, bool) \
            else weight_name
        found = [name for name, value in target.items() if not isinstance(value, dict)]
        if weight_name not in found:
            raise ValueError(f"{_CLASS}.delete_weight: Weight {weight_name!r} not found in object {object_name!r}. "
                             f"Received: weight_name={weight_name!r}; expected one of the weights found: {found}.")
        del target[weight_name]

    # ------------------------------------------------------------------------------------------ saving
    def save(self, filepath):
        """Writes the edited weights to ``filepath`` (atomically: a failed write leaves any old file intact).

        A ``.weights.h5`` path writes a Keras 3 weights file; a ``.keras`` path (when the editor opened a
        ``.keras`` file) writes the opened file's config and metadata with the edited weights.
        """
        filepath = str(os.fspath(filepath))
        if filepath.endswith(_WEIGHTS_SUFFIX):
            payload = _h5_bytes(self.weights_dict)
            atomic_write(filepath, lambda handle: handle.write(payload), overwrite=True)
        elif filepath.endswith(_KERAS_SUFFIX) and self.config is None:
            raise ValueError(f"{_CLASS}.save: '{self.filepath}' is a weights file, without the model config a "
                             f"`.keras` file needs. Received: filepath={filepath!r}; expected a `.weights.h5` path.")
        elif filepath.endswith(_KERAS_SUFFIX) and self._holds_assets:
            raise ValueError(f"{_CLASS}.save: '{self.filepath}' holds assets (assets/...), which the editor does not "
                             f"carry over. Received: filepath={filepath!r}; expected a `.weights.h5` path.")
        elif filepath.endswith(_KERAS_SUFFIX):
            self._save_keras(filepath)
        else:
            raise ValueError(f"{_CLASS}.save: Invalid `filepath` argument: expected a `.weights.h5` extension (or "
                             f"`.keras`, for an editor opened on a `.keras` file). Received: filepath={filepath!r}")

    def resave_weights(self, filepath):
        """``save(filepath)``."""
        self.save(filepath)

    def _save_keras(self, filepath):
        metadata = dict(self.metadata, lamina_version=__version__,
                        date_saved=datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"))
        members = {keras_file.METADATA: json.dumps(metadata), keras_file.CONFIG: json.dumps(self.config),
                   keras_file.WEIGHTS: _h5_bytes(self.weights_dict)}

        def write(handle):
            with zipfile.ZipFile(handle, "w") as target:  # stored, not deflated, as Keras writes them
                for name, data in members.items():
                    target.writestr(name, data)

        atomic_write(filepath, write, overwrite=True)

    # ------------------------------------------------------------------------------------------ helpers
    @staticmethod
    def _leaf(method, argument, name):
        if not isinstance(name, str) or not name:
            raise ValueError(f"{_CLASS}.{method}: `{argument}` should be a non-empty string. Received: "
                             f"{argument}={name!r}")
        if "/" in name:
            raise ValueError(f"{_CLASS}.{method}: Argument `{argument}` should be a leaf name, not a full path name. "
                             f"Received: {argument}={name!r}")
        if name == _VARS:
            raise ValueError(f"{_CLASS}.{method}: '{_VARS}' is reserved (the file keeps each object's weights in a "
                             f"group of that name). Received: {argument}={name!r}; expected another name.")
        return name

    def _find(self, method, argument, name):
        """(parent dict, key) of the entry ``name`` names: a path, or a name that occurs once in the file."""
        if not isinstance(name, str) or not name.strip("/"):
            raise ValueError(f"{_CLASS}.{method}: `{argument}` should be an object's name or path (a non-empty "
                             f"string, e.g. 'layers/dense'). Received: {argument}={name!r}")
        path = name.strip("/")
        if "/" in path:
            parts, parent = path.split("/"), self.weights_dict
            for depth, part in enumerate(parts):
                if part not in parent:
                    here = "/".join(parts[:depth]) or "the top level"
                    raise ValueError(f"{_CLASS}.{method}: Path '{name}' not found in model. Received: "
                                     f"{argument}={name!r}; expected a path in the file ({here} holds "
                                     f"{list(parent)}).")
                if depth == len(parts) - 1:
                    return parent, part
                if not isinstance(parent[part], dict):
                    raise ValueError(f"{_CLASS}.{method}: Path '{name}' not found in model: "
                                     f"'{'/'.join(parts[:depth + 1])}' is a weight, not an object. Received: "
                                     f"{argument}={name!r}")
                parent = parent[part]
        found = list(_occurrences(self.weights_dict, path))
        if len(found) > 1:
            raise ValueError(f"{_CLASS}.{method}: Name '{name}' occurs more than once in the model (at "
                             f"{[where for _, _, where in found]}); try passing a complete path. Received: "
                             f"{argument}={name!r}")
        if not found:
            raise ValueError(f"{_CLASS}.{method}: Source name '{name}' does not appear in the model. Use "
                             f"`editor.weights_summary()` to list all objects. Received: {argument}={name!r}")
        return found[0][:2]

    def _object(self, method, object_name):
        parent, key = self._find(method, "object_name", object_name)
        if not isinstance(parent[key], dict):
            raise ValueError(f"{_CLASS}.{method}: {object_name!r} is a weight, not an object. Received: "
                             f"object_name={object_name!r}; expected an object (e.g. 'layers/dense').")
        return parent[key]

    @staticmethod
    def _weights(method, weights, allow_objects):
        if not isinstance(weights, dict):
            raise ValueError(f"{_CLASS}.{method}: Argument `weights` should be a dict where keys are weight names "
                             f"(usually '0', '1', etc.) and values are NumPy arrays. Received: "
                             f"type(weights)={type(weights)}")
        checked = {}
        for name, value in weights.items():
            if isinstance(name, int) and not isinstance(name, bool):
                name = str(name)
            if not isinstance(name, str) or not name or "/" in name or name == _VARS:
                raise ValueError(f"{_CLASS}.{method}: the keys of `weights` should be weight names (usually '0', "
                                 f"'1', etc.: no '/', not '{_VARS}'). Received: key {name!r}")
            if isinstance(value, dict) and allow_objects:
                checked[name] = KerasFileEditor._weights(method, value, allow_objects)
            else:
                checked[name] = _array(method, name, value)
        return checked


def _occurrences(tree, name, path=""):
    """(parent, key, path) of every entry called ``name``, at any depth."""
    for key, value in tree.items():
        if key == name:
            yield tree, key, _join(path, key)
        if isinstance(value, dict):
            yield from _occurrences(value, name, _join(path, key))


def _array(method, name, value):
    """``value`` (array, tensor, number or nested list) as a NumPy array of its own, numeric."""
    source = value
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        try:
            value = value.numpy()  # lamina's weights give Keras's layout here
        except (RuntimeError, TypeError):  # a torch tensor that needs grad, or one on a GPU
            value = value.detach().cpu().numpy()
    try:
        array = np.array(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{_CLASS}.{method}: weights[{name!r}] should be a numeric array. Received: "
                         f"{type(source).__name__} ({error}).") from None
    if array.dtype.kind not in "biuf" and array.dtype.name != "bfloat16":
        raise ValueError(f"{_CLASS}.{method}: weights[{name!r}] should be a numeric array (NumPy array, tensor or "
                         f"nested list of numbers). Received: {type(source).__name__} of dtype {array.dtype}.")
    return array


def _tree_lines(tree, prefix, is_first=True):
    """Keras's text tree: the very first entry marked ``> ``, the others ``├─ ``/``└─ ``."""
    lines = []
    for index, (key, value) in enumerate(tree.items()):
        is_last = index == len(tree) - 1
        if is_first:
            connector, is_first = "> ", False
        else:
            connector = "└─ " if is_last else "├─ "
        if isinstance(value, dict):
            lines.append(f"{prefix}{connector}{key}")
            lines.extend(_tree_lines(value, prefix + ("    " if is_last else "│   "), is_first=False))
        else:
            lines.append(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")
    return lines
