"""EinsumDense: a dense layer of any shape, ``activation(einsum(equation, inputs, kernel) + bias)``."""

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.core.dense import check_no_quantization
from lamina.layers.core.einsum_equation import EinsumPlan, parse_equation
from lamina.layers.core.lora import LoraMixin
from lamina.ops.arguments import is_int
from lamina.registry import register_builtin


def _check_output_shape(output_shape):
    shape = (output_shape,) if is_int(output_shape) else output_shape
    if isinstance(shape, (tuple, list)) and all(d is None or is_int(d) and d > 0 for d in shape):
        return tuple(None if d is None else int(d) for d in shape)
    raise ValueError("EinsumDense: `output_shape` must be an int or a tuple of positive ints and None (the output "
                     f"shape without the batch axis and the elided axes). Received: output_shape={output_shape!r}")


@register_builtin("keras.layers")
class EinsumDense(LoraMixin, Layer):
    """A dense layer whose computation is an einsum equation of the input and the kernel.

    Args:
        equation: ``"<input>,<kernel>-><output>"``, e.g. ``"ab,bc->ac"`` (a Dense layer),
            ``"abc,cde->abde"`` (a projection to heads), ``"...x,xy->...y"`` (any leading axes) or
            ``"ab...,bc->ac..."`` (any trailing axes).
        output_shape: the output shape without the batch axis and the elided (``...``) axes; None
            for a size that comes from the input.
        activation: activation name or function (None: linear).
        bias_axes: the output letters that get a bias, e.g. ``"c"``; the bias shape is Keras's: the
            output axes from the first bias letter on, 1 on letters without bias.
        kernel_*, bias_*: initializers, regularizers and constraints. A variance-scaling kernel
            initializer (Glorot, He, ...) takes its fans from the equation, as Keras 3 does: fan-in
            over the contracted kernel axes, fan-out over the output ones.
        lora_rank, lora_alpha: enable LoRA at build (see ``Dense``); the factors are
            ``(*kernel_shape[:-1], rank)`` and ``(rank, kernel_shape[-1])``.

    Input shape: the rank the equation gives (any rank of at least that with ``...``).
    Output shape: ``(batch, *output_shape)`` with the elided axes in place.

    >>> EinsumDense("abc,cde->abde", output_shape=(None, 2, 8))(torch.ones(4, 5, 16)).shape
    torch.Size([4, 5, 2, 8])
    """

    _lora_target = "kernel"
    _lora_names = ("lora_kernel_a", "lora_kernel_b")
    _lora_regularizer = "kernel_regularizer"
    _lora_constraint = "kernel_constraint"

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, gptq_unpacked_column_size=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        parse_equation(equation)
        if bias_axes is not None and not (isinstance(bias_axes, str) and bias_axes.isalpha()):
            raise ValueError(f"EinsumDense: `bias_axes` must be None or a string of output letters. Received: "
                             f"bias_axes={bias_axes!r}")
        check_no_quantization(quantization_config, "EinsumDense")
        if gptq_unpacked_column_size is not None:
            raise ValueError("EinsumDense: GPTQ quantization is not supported by lamina; `gptq_unpacked_column_size` "
                             f"must be None. Received: gptq_unpacked_column_size={gptq_unpacked_column_size!r}")
        self.equation = equation
        self.partial_output_shape = _check_output_shape(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self._activation = activations.hot_path_form(self.activation)
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self._set_weight_options("bias", bias_initializer, bias_regularizer, bias_constraint)
        self._init_lora(lora_rank, lora_alpha)

    def _plan(self, input_shape):
        return EinsumPlan(self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape,
                          f"EinsumDense '{self.name}'")

    def build(self, input_shape):
        plan = self._plan(input_shape)
        initializer = self.kernel_initializer
        if isinstance(initializer, initializers.VarianceScaling) and \
                (initializer.input_axes is None or initializer.output_axes is None):
            initializer = type(initializer).from_config({**initializer.get_config(), "input_axes": plan.input_axes,
                                                         "output_axes": plan.output_axes})
        self.kernel = self.add_weight(name="kernel", shape=plan.kernel_shape, initializer=initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=plan.bias_shape, initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if plan.bias_shape is not None else None
        self.input_spec = InputSpec(ndim=len(input_shape), axes=plan.fixed_input_axes)
        self._einsum = plan.equation
        self._contracted = plan.contracted
        self._matrix_shape = plan.matmul_shapes() if plan.contracted else None
        # The kernel's new (output) axes when there are not exactly one: F.linear's last axis unflattens to them.
        new_shape = plan.kernel_shape[plan.contracted:] if plan.contracted else None
        self._new_shape = new_shape if new_shape is not None and len(new_shape) != 1 else None
        self._flat_bias = plan.flat_bias
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, self.lora_alpha)

    def call(self, inputs):
        kernel = self._lora_merged_kernel() if self.lora_enabled else self.kernel
        contracted = self._contracted
        if contracted is None:
            outputs = torch.einsum(self._einsum, inputs, kernel)
            if self.bias is not None:
                outputs = outputs + self.bias
        else:
            # A matmul over the trailing axes: one F.linear (bias fused when it covers the new axes),
            # which is what torch.einsum would reduce to, without its per-call equation analysis.
            bias = self.bias
            outputs = F.linear(inputs if contracted == 1 else inputs.flatten(-contracted),
                               kernel.view(self._matrix_shape).t(), bias.view(-1) if self._flat_bias else None)
            if self._new_shape is not None:
                outputs = outputs.unflatten(-1, self._new_shape) if self._new_shape else outputs.squeeze(-1)
            if bias is not None and not self._flat_bias:
                outputs = outputs + bias
        if self._activation is not None:
            outputs = self._activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self._plan(input_shape).output_shape

    def get_config(self):
        return {**super().get_config(), "output_shape": self.partial_output_shape, "equation": self.equation,
                "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint), "quantization_config": None,
                **self._lora_config()}
