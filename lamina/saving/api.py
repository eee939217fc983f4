"""``load_model``/``save_model``/``load_weights``/``save_weights``: every format, recognised by content.

Reading looks at the file's bytes, not its name: a zip holding ``model.weights.safetensors`` is a lamina
model file, a zip holding ``model.weights.h5`` a Keras ``.keras`` file, an HDF5 file a legacy Keras model
or weights file (or Keras 3 ``.weights.h5``), a safetensors payload lamina's weights file. Writing picks
the format from the suffix, as Keras does.
"""

import os

from lamina.saving import archive, h5, keras_file, legacy_h5, model_file, state_dict_file

KERAS_SUFFIX = ".keras"
H5_SUFFIXES = (".h5", ".hdf5")
KERAS_WEIGHTS_SUFFIX = ".weights.h5"
# What ModelCheckpoint can write: full models that keep the training state, and weights files.
CHECKPOINT_SUFFIXES = (KERAS_SUFFIX, model_file.MODEL_SUFFIX) + H5_SUFFIXES
WEIGHTS_SUFFIXES = (KERAS_WEIGHTS_SUFFIX, model_file.WEIGHTS_SUFFIX) + H5_SUFFIXES
_MODEL_SUFFIXES = CHECKPOINT_SUFFIXES + (state_dict_file.SUFFIX,)


def _is_safetensors(payload):
    """A safetensors payload: an 8-byte little-endian header length, then a JSON header."""
    if len(payload) < 10:
        return False
    size = int.from_bytes(payload[:8], "little")
    return 2 <= size <= len(payload) - 8 and payload[8:9] == b"{"


def detect(payload):
    """The format of a file's bytes: "lamina", "keras", "hdf5", "safetensors", or None."""
    if archive.is_zip(payload[:4]):
        names = archive.member_names(payload)
        if names is not None and model_file.is_lamina_archive(names):
            return "lamina"
        return "keras"
    if h5.is_hdf5(payload[:4104]):
        return "hdf5"
    if _is_safetensors(payload):
        return "safetensors"
    return None


def _unknown_format(filepath):
    return ValueError(f"{filepath}: not a model file lamina can read. lamina reads Keras 3 .keras files, legacy "
                      "Keras HDF5 (.h5/.hdf5) model and weight files, Keras 3 .weights.h5 files, and lamina's "
                      ".lamina and .weights.safetensors files.")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model from a ``.keras``, legacy ``.h5``/``.hdf5`` or ``.lamina`` file (recognised by content).

    Args:
        custom_objects: {name: class or function} for custom layers, losses, metrics...
        compile: restore the training configuration (optimizer, loss, metrics) and, where the file holds
            it, the optimizer's state, so ``fit`` continues where it stopped. A part that cannot be
            restored leaves the model uncompiled, with a warning naming it.
        safe_mode: refuse to run code stored in the file (a ``Lambda`` layer's Python function). Pass
            False only for files from a trusted source.
    Raises ValueError naming the file if it is missing, truncated, corrupt or not a model file.
    """
    filepath = os.fspath(filepath)
    payload = archive.read_file(filepath)
    kind = detect(payload)
    if kind == "lamina":
        return model_file.load_model(payload, filepath, custom_objects, compile, safe_mode)
    if kind == "keras":
        return keras_file.load_keras(payload, filepath, custom_objects, compile, safe_mode)
    if kind == "hdf5":
        return legacy_h5.load_model(payload, filepath, custom_objects, compile, safe_mode)
    if kind == "safetensors" and state_dict_file.is_state_dict_file(payload):
        tensors = model_file.read_safetensors(payload, filepath)
        return state_dict_file.load_model(payload, tensors, filepath, custom_objects, safe_mode)
    if kind == "safetensors":
        raise ValueError(f"{filepath}: this is a weights file (safetensors), not a model file. Build the model in "
                         "code, then call `model.load_weights(path)`.")
    raise _unknown_format(filepath)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Saves ``model`` in the format its suffix names: ``.keras`` (Keras 3), ``.h5``/``.hdf5`` (legacy HDF5,
    which Keras 3 loads too), ``.lamina`` (lamina's safetensors-based file) or ``.safetensors`` (a PyTorch
    ``state_dict`` with the model's config in its metadata). Writes are atomic."""
    path = os.fspath(filepath)
    if path.endswith(KERAS_WEIGHTS_SUFFIX) or path.endswith(model_file.WEIGHTS_SUFFIX):
        raise ValueError(f"{path} names a weights file; use `model.save_weights(path)` to write weights only, or "
                         f"save the model under one of {_MODEL_SUFFIXES}.")
    if path.endswith(KERAS_SUFFIX):
        keras_file.save_keras(model, path, overwrite)
    elif path.endswith(H5_SUFFIXES):
        legacy_h5.save_model(model, path, overwrite, include_optimizer)
    elif path.endswith(model_file.MODEL_SUFFIX):
        model_file.save_model(model, path, overwrite)
    elif path.endswith(state_dict_file.SUFFIX):
        state_dict_file.save_state_dict(model, path, overwrite)
    else:
        raise ValueError(f"The model file name must end in one of {_MODEL_SUFFIXES} (Keras 3 .keras, legacy HDF5, "
                         f"lamina). Received: filepath={path!r}")


def save_weights(model, filepath, overwrite=True):
    """Saves the weights in the format the suffix names: ``.weights.h5`` (Keras 3), ``.h5``/``.hdf5`` (Keras 2's
    legacy HDF5 weights) or ``.weights.safetensors`` (lamina). Writes are atomic."""
    path = os.fspath(filepath)
    if path.endswith(KERAS_WEIGHTS_SUFFIX):
        keras_file.save_weights_h5(model, path, overwrite)
    elif path.endswith(H5_SUFFIXES):
        legacy_h5.save_weights(model, path, overwrite)
    elif path.endswith(model_file.WEIGHTS_SUFFIX):
        model_file.save_weights(model, path, overwrite)
    else:
        raise ValueError(f"The weights file name must end in one of {WEIGHTS_SUFFIXES}. Received: filepath={path!r}")


def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """Loads weights from any file lamina reads (recognised by content) into a built ``model``.

    ``skip_mismatch=True`` skips the layers whose weights have other shapes (or counts), with a warning
    naming each; otherwise a mismatch raises ValueError naming the layer, the weight and both shapes.
    ``by_name=True`` (legacy HDF5 files only, as Keras 2) matches layers by name instead of by order.
    """
    path = os.fspath(filepath)
    payload = archive.read_file(path, "weights file")
    kind = detect(payload)
    if kind == "hdf5":
        with h5.open_for_reading(payload, path) as handle:
            kind = "legacy_hdf5" if legacy_h5.file_kind(handle) != "keras3_weights" else "keras3_weights"
    if by_name and kind != "legacy_hdf5":
        raise ValueError(f"{path}: `by_name=True` applies to legacy HDF5 weight files (.h5) only, as in Keras. "
                         "Other files store weights by their place in the model.")
    if kind == "safetensors" and state_dict_file.is_state_dict_file(payload):
        try:
            model.load_state_dict(model_file.read_safetensors(payload, path))
        except RuntimeError as error:
            raise ValueError(f"{path}: the state_dict does not match model '{model.name}': {error}") from None
    elif kind == "safetensors":
        model_file.load_weights_payload(model, payload, path, skip_mismatch)
    elif kind == "lamina":
        model_file.load_weights_payload(model, model_file.read_archive(payload, path)[2], path, skip_mismatch)
    elif kind == "keras":
        keras_file.load_weights_h5(model, keras_file.read_archive(payload, path)[2], path, skip_mismatch)
    elif kind == "legacy_hdf5":
        legacy_h5.load_weights(model, payload, path, by_name=by_name, skip_mismatch=skip_mismatch)
    elif kind == "keras3_weights":
        keras_file.load_weights_h5(model, payload, path, skip_mismatch)
    else:
        raise _unknown_format(path)
