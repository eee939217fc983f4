"""RandomFourierFeatures: Keras 2's random feature map (``tf.keras.layers.experimental``), dropped by Keras 3.

``cos(x @ (unscaled_kernel / kernel_scale) + bias)`` with a fixed random ``unscaled_kernel``: its
distribution picks the shift-invariant kernel approximated (Rahimi and Recht, "Random Features for
Large-Scale Kernel Machines"): "gaussian" (normal entries) approximates
``exp(-||x - y||² / (2·scale²))``, "laplacian" (Cauchy entries) ``exp(-||x - y||₁ / scale)``. As in
Keras 2 the output is not multiplied by ``sqrt(2 / output_dim)``. Checked against tf_keras 2.21.
"""

import math

import torch

from lamina import initializers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops.arguments import check_positive_int
from lamina.registry import register_builtin

_KERNELS = ("gaussian", "laplacian")


def _cauchy(shape, dtype=None):
    """Standard Cauchy samples (Keras 2's "laplacian" random features)."""
    return torch.empty(tuple(shape), dtype=dtype or torch.float32).cauchy_()


@register_builtin("keras.layers")
class RandomFourierFeatures(Layer):
    """``RandomFourierFeatures(output_dim, kernel_initializer="gaussian", scale=None, trainable=False)``.

    Args:
        output_dim: the number of random features.
        kernel_initializer: "gaussian" or "laplacian" (case-insensitive), or any initializer for
            ``unscaled_kernel``.
        scale: the kernel's scale (> 0), the initial ``kernel_scale``; None: ``sqrt(input_dim / 2)`` for
            "gaussian", else 1 (the config then holds the value used).
        trainable: whether ``kernel_scale`` is trained (``unscaled_kernel`` and ``bias`` never are).
    Weights (Keras 2's order): kernel_scale ``(1,)`` (non-negative), unscaled_kernel
    ``(input_dim, output_dim)``, bias ``(output_dim,)`` uniform in [0, 2π).
    Input ``(batch, input_dim)``; output ``(batch, output_dim)`` in [-1, 1].
    """

    def __init__(self, output_dim, kernel_initializer="gaussian", scale=None, trainable=False, name=None, **kwargs):
        owner = "RandomFourierFeatures"
        output_dim = check_positive_int(output_dim, "output_dim", owner)
        if isinstance(kernel_initializer, str) and kernel_initializer.lower() not in _KERNELS:
            raise ValueError(f"{owner}: unsupported `kernel_initializer`; expected one of {_KERNELS} or an "
                             f"initializer. Received: kernel_initializer={kernel_initializer!r}")
        if scale is not None and not scale > 0:
            raise ValueError(f"{owner}: `scale`, when given, must be a positive float. Received: scale={scale!r}")
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.output_dim = output_dim
        self.kernel_initializer = kernel_initializer if isinstance(kernel_initializer, str) \
            else initializers.get(kernel_initializer)
        self.scale = scale
        self.input_spec = InputSpec(ndim=2)

    def _unscaled_initializer(self):
        if not isinstance(self.kernel_initializer, str):
            return self.kernel_initializer
        return initializers.RandomNormal(stddev=1.0) if self.kernel_initializer.lower() == "gaussian" else _cauchy

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if len(input_shape) != 2 or input_dim is None:
            raise ValueError(f"RandomFourierFeatures '{self.name}': expected inputs (batch, input_dim) with a known "
                             f"input_dim. Received: input_shape={tuple(input_shape)}")
        if self.scale is None:
            gaussian = isinstance(self.kernel_initializer, str) and self.kernel_initializer.lower() == "gaussian"
            self.scale = math.sqrt(input_dim / 2.0) if gaussian else 1.0
        self.unscaled_kernel = self.add_weight(name="unscaled_kernel", shape=(input_dim, self.output_dim),
                                               initializer=self._unscaled_initializer(), trainable=False)
        self.bias = self.add_weight(name="bias", shape=(self.output_dim,), trainable=False,
                                    initializer=initializers.RandomUniform(minval=0.0, maxval=2 * math.pi))
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=(1,), trainable=True,
                                            initializer=initializers.Constant(self.scale), constraint="non_neg")
        self.input_spec = InputSpec(ndim=2, axes={1: input_dim})

    def call(self, inputs):
        kernel = torch.reciprocal(self.kernel_scale) * self.unscaled_kernel
        return torch.cos(torch.addmm(self.bias, inputs.to(kernel.dtype), kernel))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        kernel_initializer = self.kernel_initializer if isinstance(self.kernel_initializer, str) \
            else initializers.serialize(self.kernel_initializer)
        return {**super().get_config(), "output_dim": self.output_dim, "kernel_initializer": kernel_initializer,
                "scale": self.scale}
