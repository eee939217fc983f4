"""Keras's quantization configs as plain configuration objects.

lamina has no quantized layers yet (no ``Layer.quantize``), so these configs are read, validated and
round-tripped through ``get_config``/``from_config`` but nothing runs them: int8/int4/float8
quantization, GPTQ and AWQ are not available.
"""

from lamina import registry
from lamina.quantizers.quantizers import AbsMaxQuantizer
from lamina.serialization import deserialize_keras_object, serialize_keras_object

_MODULE = "keras.quantizers"


def _check_int(owner, name, value, ok, expected):
    if isinstance(value, bool) or not isinstance(value, int) or not ok(value):
        raise ValueError(f"{owner}: {name} must be {expected}. Received: {name}={value!r}")


@registry.register_builtin(_MODULE)
class QuantizationConfig:
    """Base class: a ``weight_quantizer`` and an ``activation_quantizer``; subclasses define ``mode``."""

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self):
        raise NotImplementedError("Subclasses must implement this property. Do not instantiate "
                                  "QuantizationConfig directly.")

    def get_config(self):
        return {"weight_quantizer": serialize_keras_object(self.weight_quantizer),
                "activation_quantizer": serialize_keras_object(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config):
        return cls(weight_quantizer=deserialize_keras_object(config.get("weight_quantizer")),
                   activation_quantizer=deserialize_keras_object(config.get("activation_quantizer")))

    @staticmethod
    def weight_quantizer_or_default(config, default):
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        if config is not None:
            return config.activation_quantizer
        return default


@registry.register_builtin(_MODULE)
class Int8QuantizationConfig(QuantizationConfig):
    """Int8 config; ``activation_quantizer="default"`` means ``AbsMaxQuantizer()``. (lamina has no
    quantized layers yet: this config is not run.)"""

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if self.weight_quantizer is not None and self.weight_quantizer.output_dtype != "int8":
            raise ValueError("Int8QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                             f"Received: output_dtype={self.weight_quantizer.output_dtype}")

    @property
    def mode(self):
        return "int8"


@registry.register_builtin(_MODULE)
class Int4QuantizationConfig(QuantizationConfig):
    """Int4 config: weight-only by default; ``block_size`` rows per group (None or -1: per channel).
    Custom quantizers need per-channel mode and ``value_range=(-8, 7)``, ``output_dtype="int8"``.
    (lamina has no quantized layers yet: this config is not run.)"""

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None:
            _check_int("Int4QuantizationConfig", "block_size", block_size, lambda b: b == -1 or b > 0,
                       "None, -1, or a positive integer")
        self.block_size = block_size
        if (block_size is not None and block_size > 0
                and (self.weight_quantizer is not None or self.activation_quantizer is not None)):
            raise ValueError("Int4 sub-channel quantization (block_size > 0) does not support custom quantizers. "
                             "Either set block_size to None or -1 for per-channel quantization, or remove the "
                             f"custom quantizer arguments. Received: block_size={block_size}")
        if self.weight_quantizer is not None:
            if tuple(self.weight_quantizer.value_range) != (-8, 7):
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with value_range=(-8, 7). "
                                 f"Received: value_range={self.weight_quantizer.value_range}")
            if self.weight_quantizer.output_dtype != "int8":
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                                 f"Received: output_dtype={self.weight_quantizer.output_dtype}")

    @property
    def mode(self):
        return "int4"

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config):
        # A config saved before block_size existed meant per-channel mode.
        return cls(weight_quantizer=deserialize_keras_object(config.get("weight_quantizer")),
                   activation_quantizer=deserialize_keras_object(config.get("activation_quantizer")),
                   block_size=config.get("block_size", None))


@registry.register_builtin(_MODULE)
class Float8QuantizationConfig(QuantizationConfig):
    """Marks float8 mixed-precision training; takes no quantizers. (lamina has no float8 layers yet.)"""

    def __init__(self):
        super().__init__(None, None)

    @property
    def mode(self):
        return "float8"

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls()


def _check_calibration(owner, num_samples, sequence_length, group_size):
    _check_int(owner, "num_samples", num_samples, lambda v: v > 0, "a positive integer")
    _check_int(owner, "sequence_length", sequence_length, lambda v: v > 0, "a positive integer")
    _check_int(owner, "group_size", group_size, lambda v: v == -1 or v > 0, "-1 (per-channel) or a positive integer")


@registry.register_builtin(_MODULE)
class GPTQConfig(QuantizationConfig):
    """The settings of GPTQ post-training quantization (Hessian-guided, calibrated on ``dataset``
    tokenized by ``tokenizer``).

    lamina has no quantized layers yet, so running GPTQ is not available: this object only holds,
    validates and serializes the settings (``dataset`` and ``tokenizer`` are written as None).

    Args:
        weight_bits: 2, 3, 4 or 8. num_samples, sequence_length: positive ints.
        hessian_damping: in [0, 1]. group_size: -1 (per channel) or a positive int.
        per_channel, symmetric, activation_order: bools. quantization_layer_structure: dict or None.
    """

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128, per_channel=True, sequence_length=512,
                 hessian_damping=0.01, group_size=128, symmetric=False, activation_order=False,
                 quantization_layer_structure=None):
        super().__init__()
        _check_int("GPTQConfig", "weight_bits", weight_bits, lambda v: v in (2, 3, 4, 8), "one of 2, 3, 4, 8")
        _check_calibration("GPTQConfig", num_samples, sequence_length, group_size)
        if isinstance(hessian_damping, bool) or not isinstance(hessian_damping, (int, float)) \
                or not 0 <= hessian_damping <= 1:
            raise ValueError(f"GPTQConfig: hessian_damping must be between 0 and 1. "
                             f"Received: hessian_damping={hessian_damping!r}")
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.num_samples = num_samples
        self.per_channel = per_channel
        self.sequence_length = sequence_length
        self.hessian_damping = hessian_damping
        self.weight_bits = weight_bits
        self.group_size = group_size
        self.symmetric = symmetric
        self.activation_order = activation_order
        self.quantization_layer_structure = quantization_layer_structure

    def get_config(self):
        # The dataset and tokenizer serve one calibration only; they are not saved.
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits, "num_samples": self.num_samples,
                "per_channel": self.per_channel, "sequence_length": self.sequence_length,
                "hessian_damping": self.hessian_damping, "group_size": self.group_size, "symmetric": self.symmetric,
                "activation_order": self.activation_order,
                "quantization_layer_structure": self.quantization_layer_structure}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def mode(self):
        return "gptq"

    def dtype_policy_string(self):
        return f"gptq/{self.weight_bits}/{self.group_size}"


@registry.register_builtin(_MODULE)
class AWQConfig(QuantizationConfig):
    """The settings of AWQ (activation-aware weight quantization, 4-bit, scales found by a grid search
    of ``num_grid_points`` on calibration data).

    lamina has no quantized layers yet, so running AWQ is not available: this object only holds,
    validates and serializes the settings (``dataset`` and ``tokenizer`` are written as None).
    """

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128, sequence_length=512, group_size=128,
                 num_grid_points=20, quantization_layer_structure=None):
        super().__init__()
        if weight_bits != 4:
            raise ValueError(f"AWQConfig: AWQ only supports 4-bit quantization. Received: weight_bits={weight_bits!r}")
        _check_calibration("AWQConfig", num_samples, sequence_length, group_size)
        _check_int("AWQConfig", "num_grid_points", num_grid_points, lambda v: v > 0, "a positive integer")
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.weight_bits = weight_bits
        self.num_samples = num_samples
        self.sequence_length = sequence_length
        self.group_size = group_size
        self.num_grid_points = num_grid_points
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self):
        return "awq"

    def dtype_policy_string(self):
        return f"awq/{self.weight_bits}/{self.group_size}"

    def get_config(self):
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits, "num_samples": self.num_samples,
                "sequence_length": self.sequence_length, "group_size": self.group_size,
                "num_grid_points": self.num_grid_points,
                "quantization_layer_structure": self.quantization_layer_structure}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
