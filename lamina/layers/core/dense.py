"""Dense: ``activation(inputs @ kernel + bias)`` on the last axis."""

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.engine.weights import read_weight
from lamina.layers.core.lora import LoraMixin
from lamina.ops.arguments import check_positive_int
from lamina.registry import register_builtin


def check_no_quantization(quantization_config, layer_name):
    """``quantization_config`` is in Keras's configs; lamina runs unquantized layers only."""
    if quantization_config is not None:
        raise ValueError(f"{layer_name}: quantization is not supported by lamina; `quantization_config` must be "
                         f"None. Received: quantization_config={quantization_config!r}")


@register_builtin("keras.layers")
class Dense(LoraMixin, Layer):
    """A densely connected layer on the last axis.

    Args:
        units: output size (positive int).
        activation: activation name or function (None: linear).
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, kernel_constraint,
            bias_constraint: for the kernel ``(in, units)`` and the bias ``(units,)``.
        lora_rank, lora_alpha: enable LoRA at build with this rank; the delta is scaled by
            ``lora_alpha / lora_rank`` (``lora_alpha`` defaults to ``lora_rank``).

    Input shape: ``(batch, ..., in)``, rank >= 2. Output shape: ``(batch, ..., units)``.

    >>> Dense(3)(torch.ones(2, 4)).shape
    torch.Size([2, 3])
    """

    _lora_target = "kernel"
    _lora_names = ("lora_kernel_a", "lora_kernel_b")
    _lora_regularizer = "kernel_regularizer"
    _lora_constraint = "kernel_constraint"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = check_positive_int(units, "units", "Dense")
        check_no_quantization(quantization_config, "Dense")
        self.activation = activations.get(activation)
        # the outputs are the matmul's own (its backward reads the inputs and the kernel): activated in place
        self._activation = activations.hot_path_form(self.activation, own_output=True)
        self.use_bias = bool(use_bias)
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self._set_weight_options("bias", bias_initializer, bias_regularizer, bias_constraint)
        self._init_lora(lora_rank, lora_alpha)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError(f"Layer '{self.name}': the last axis of the input must be known to build a Dense "
                             f"layer. Received: input_shape={tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel", shape=(in_features, self.units),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_features})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, self.lora_alpha)

    def call(self, inputs):
        # The kernel is stored in Keras's (in, units) layout: one addmm for 2-D inputs (as fast as
        # torch.nn.Linear's F.linear, measured), a matmul over the last axis otherwise.
        kernel, bias = read_weight(self, "kernel"), read_weight(self, "bias")
        if bias is not None and inputs.dim() == 2:
            outputs = torch.addmm(bias, inputs, kernel)
        else:
            outputs = torch.matmul(inputs, kernel)
            if bias is not None:
                outputs = outputs + bias
        if self.lora_enabled:
            outputs = outputs + self._lora_delta(inputs @ self.lora_kernel_a)
        if self._activation is not None:
            outputs = self._activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint), "quantization_config": None,
                **self._lora_config()}
