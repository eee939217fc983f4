"""Keras's ``keras.quantizers``: quantization functions, quantizers and quantization configs.

lamina has no quantized layers (no ``Layer.quantize``) yet; the configs are configuration objects only.
"""

import inspect

from lamina import registry
from lamina.naming import to_snake_case
from lamina.quantizers.quantization_config import (AWQConfig, Float8QuantizationConfig, GPTQConfig,
                                                   Int4QuantizationConfig, Int8QuantizationConfig,
                                                   QuantizationConfig)
from lamina.quantizers.quantizers import (AbsMaxQuantizer, Quantizer, abs_max_quantize,
                                          abs_max_quantize_grouped_with_zero_point, compute_float8_amax_history,
                                          compute_float8_scale, fake_quant_with_min_max_vars, pack_int4,
                                          quantize_and_dequantize, unpack_int4)
from lamina.serialization import deserialize_keras_object, serialize_keras_object

_MODULE = "keras.quantizers"
# Keras's ALL_OBJECTS (GPTQConfig is not among them: Keras's `get("GPTQConfig")` does not find it).
for _cls in (Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig, Int4QuantizationConfig,
             Float8QuantizationConfig, AWQConfig):
    registry.register_builtin(_MODULE, name=to_snake_case(_cls.__name__))(_cls)
_OBJECTS = {name: cls for name, cls in registry.builtins_of(_MODULE).items() if cls is not GPTQConfig}


def serialize(quantizer):
    """The Keras-form config dict of a quantizer or quantization config."""
    return serialize_keras_object(quantizer)


def deserialize(config, custom_objects=None):
    """The quantizer (or config) rebuilt from a config dict, or the class a name registers."""
    return deserialize_keras_object(config, module_objects=_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="quantizer")


def get(identifier, **kwargs):
    """None -> None; a config dict -> an instance; a name -> that class built from ``kwargs`` as one
    positional argument (Keras's ``obj(kwargs)``); an instance or callable as it is."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _OBJECTS.get(identifier)
    else:
        obj = identifier
    if not callable(obj):
        raise ValueError(f"Could not interpret quantizer identifier: {identifier!r}. Expected None, a config dict, "
                         f"one of the names {sorted(_OBJECTS)}, or a quantizer.")
    if inspect.isclass(obj):
        obj = obj(kwargs)
    return obj


__all__ = ["AWQConfig", "AbsMaxQuantizer", "Float8QuantizationConfig", "GPTQConfig", "Int4QuantizationConfig",
           "Int8QuantizationConfig", "QuantizationConfig", "Quantizer", "abs_max_quantize",
           "abs_max_quantize_grouped_with_zero_point", "compute_float8_amax_history", "compute_float8_scale",
           "deserialize", "fake_quant_with_min_max_vars", "get", "pack_int4", "quantize_and_dequantize", "serialize",
           "unpack_int4"]
