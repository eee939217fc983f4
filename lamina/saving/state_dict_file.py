"""A model as a PyTorch ``state_dict`` in safetensors (``.safetensors``), for use without lamina's loader.

The keys are lamina's parameter names (``model.state_dict()``: ``dense.kernel``, ``conv2d.kernel``...) and
the tensors are stored as the parameters are (PyTorch's layout for convolution and recurrent kernels), so
``model.load_state_dict(safetensors.torch.load_file(path))`` restores a model built in code. The header's
metadata also holds the model's Keras-form config (``lamina_model_config``), from which ``load_model``
rebuilds the model itself.
"""

import json

import torch
from safetensors.torch import save as save_safetensors

from lamina.saving import rebuild
from lamina.saving.atomic import save_file
from lamina.serialization import serialize_keras_object
from lamina.version import __version__

SUFFIX = ".safetensors"
CONFIG_KEY = "lamina_model_config"


def save_state_dict(model, filepath, overwrite=True):
    """Writes ``model.state_dict()`` (and the model's config, in the metadata) as safetensors, atomically."""
    tensors = {name: value.detach().cpu().clone(memory_format=torch.contiguous_format)
               for name, value in model.state_dict().items()}
    config = {key: value for key, value in serialize_keras_object(model).items() if key != "compile_config"}
    payload = save_safetensors(tensors, metadata={"format": "pt", "lamina_version": __version__,
                                                  CONFIG_KEY: json.dumps(config)})
    save_file(model, filepath, lambda handle: handle.write(payload), overwrite)


def header_metadata(payload):
    """The ``__metadata__`` of a safetensors payload (already checked to be one), or {}."""
    size = int.from_bytes(payload[:8], "little")
    try:
        header = json.loads(payload[8:8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def is_state_dict_file(payload):
    return CONFIG_KEY in header_metadata(payload)


def load_model(payload, tensors, filepath, custom_objects=None, safe_mode=True):
    """The model a state-dict file describes: rebuilt from its config, then ``load_state_dict``."""
    try:
        config = json.loads(header_metadata(payload)[CONFIG_KEY])
    except (KeyError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{filepath}: the safetensors metadata holds no readable model config ({error}).") from None
    model = rebuild.model_from_config(config, filepath, len(payload), custom_objects, safe_mode)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as error:
        raise ValueError(f"{filepath}: the tensors do not match the model the file describes: {error}") from None
    return model
