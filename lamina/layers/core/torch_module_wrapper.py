"""TorchModuleWrapper: any ``torch.nn.Module`` used as a layer (Keras's ``keras.layers.TorchModuleWrapper``).

Configs never hold a pickle: Keras writes the module as a base64 ``torch.save``; lamina writes the
module's own config when its class is registered (``lamina.saving.register_serializable``) and has
``get_config()``, and refuses otherwise. See docs/wrappers.md.
"""

import itertools

import torch

from lamina import registry, serialization
from lamina.engine.layer import Layer
from lamina.engine.weights import WeightSpec
from lamina.registry import register_builtin


def _registered(module_class):
    """Whether ``module_class`` can be found again by the name it is serialized under."""
    return registry.get_registered_object(registry.get_registered_name(module_class)) is module_class


@register_builtin("keras.layers")
class TorchModuleWrapper(Layer):
    """``TorchModuleWrapper(module, name=None, output_shape=None)``: ``module`` as a layer.

    Weights: the module's parameters (``named_parameters()`` order; trainable when they require
    gradients), then its persistent buffers (BatchNorm's statistics...) as non-trainable weights;
    ``get_weights``/``set_weights`` and model files go through them.
    Call: ``layer(*args, training=None, **kwargs)`` runs ``module(*args, **kwargs)`` in ``train()`` or
    ``eval()`` mode as ``training`` says (None: the enclosing call's value, else the layer's mode).
    Shapes: ``output_shape`` (the full output shape, batch included) when given, else inferred by running
    the module on fake tensors. The layer takes the module's floating dtype unless ``dtype`` is given.
    Config: ``{"module": <the module's config>, "output_shape": ...}``; the module's class must be
    registered with ``lamina.saving.register_serializable`` and have ``get_config()`` (returning its
    constructor's keyword arguments; a ``from_config`` classmethod is used when it has one).
    """

    def __init__(self, module, name=None, output_shape=None, **kwargs):
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"TorchModuleWrapper: `module` must be a torch.nn.Module. Received: module={module!r}")
        if isinstance(module, torch.nn.modules.lazy.LazyModuleMixin) and module.has_uninitialized_params():
            raise ValueError("TorchModuleWrapper: LazyModules are supported only once initialized (call them "
                             f"once first). Received uninitialized LazyModule: module={module}")
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = next((t.dtype for t in itertools.chain(module.parameters(), module.buffers())
                                    if t.is_floating_point()), None)
        super().__init__(name=name, **kwargs)
        self.module = module
        # Not `output_shape`: that name is Keras 2's node accessor on every lamina layer.
        self._declared_output_shape = None if output_shape is None else tuple(output_shape)
        self.built = True  # nothing to create: the module's weights exist (as Keras)

    def _walk_weight_slots(self):
        slots = []
        for path, parameter in self.module.named_parameters():
            owner, name = self._owner_of(path)
            slots.append((owner, name, WeightSpec(parameter.shape, None, parameter.requires_grad, None, None)))
        for path, buffer in self.module.named_buffers():
            owner, name = self._owner_of(path)
            if name not in owner._non_persistent_buffers_set:  # caches, not state: not in state_dict either
                slots.append((owner, name, WeightSpec(buffer.shape, None, False, None, None)))
        return slots

    def _owner_of(self, path):
        """(submodule, attribute) of a dotted parameter or buffer path inside the module."""
        prefix, _, name = path.rpartition(".")
        return self.module.get_submodule(prefix), name

    def call(self, *args, training=None, **kwargs):
        if self.module.training != bool(training):
            self.module.train(bool(training))
        return self.module(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._declared_output_shape is not None:
            return self._declared_output_shape
        return super().compute_output_shape(input_shape)

    def get_config(self):
        module_class = type(self.module)
        if not (_registered(module_class) and hasattr(self.module, "get_config")):
            raise ValueError(
                f"TorchModuleWrapper '{self.name}': cannot serialize a {module_class.__module__}."
                f"{module_class.__qualname__} (lamina writes no pickles). Register the module's class with "
                "`@lamina.saving.register_serializable(package=...)` and give it `get_config()` returning its "
                "constructor's keyword arguments; its weights are saved as the layer's weights.")
        return {**super().get_config(), "module": serialization.serialize_keras_object(self.module),
                "output_shape": self._declared_output_shape}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        module = config.pop("module")
        if not isinstance(module, dict):
            raise ValueError("TorchModuleWrapper: this config holds a pickled torch.nn.Module (Keras saves the "
                             "module with torch.save); lamina never unpickles. Rebuild the model in code, or "
                             "register the module's class (lamina.saving.register_serializable, with "
                             "get_config()) and save it from lamina.")
        names = [name for name in (module.get("registered_name"), module.get("class_name")) if name]
        module_class = next((found for found in (registry.get_registered_object(name, custom_objects)
                                                 for name in names) if found is not None), None)
        if module_class is None:
            raise ValueError(f"TorchModuleWrapper: unknown module class {module.get('class_name')!r} "
                             f"(registered as {module.get('registered_name')!r}). Register it with "
                             "lamina.saving.register_serializable or pass it in custom_objects.")
        arguments = module.get("config") or {}
        made = module_class.from_config(arguments) if hasattr(module_class, "from_config") \
            else module_class(**arguments)
        return cls(made, **config)
