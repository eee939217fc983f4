"""Model classes and model-level helpers, as ``keras.models``."""

from lamina.models.cloning import clone_model, model_from_config, model_from_json
from lamina.models.model import Functional, Model
from lamina.models.sequential import Sequential
from lamina.saving.api import load_model, save_model

__all__ = ["Model", "Sequential", "Functional", "clone_model", "load_model", "save_model", "model_from_config",
           "model_from_json"]
