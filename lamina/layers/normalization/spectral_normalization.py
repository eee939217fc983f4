"""SpectralNormalization: keeps a layer's kernel at spectral norm 1, for Lipschitz-bounded layers (GANs).

Keras's semantics (checked against Keras 3.15): in training, each call first runs
``power_iterations`` steps of the power method on the kernel seen as a matrix
``(prod(kernel.shape[:-1]), kernel.shape[-1])`` (Keras layout), then *replaces* the kernel by
``kernel / sigma`` and stores the new ``vector_u``; the wrapped layer then runs on that kernel, and
gradients reach it as a plain weight (sigma is not differentiated). In inference the layer runs as is.
"""

import torch

from lamina import config, initializers
from lamina.engine.input_spec import InputSpec
from lamina.layers.core.wrapper import Wrapper
from lamina.ops.arguments import check_positive_int
from lamina.registry import register_builtin


def _l2_normalized(x):
    """``x / ||x||`` over all entries, as Keras's ``ops.normalize(x, axis=None)`` (norms below epsilon)."""
    return x * torch.clamp(torch.rsqrt((x * x).sum()), max=1.0 / config.epsilon())


@register_builtin("keras.layers")
class SpectralNormalization(Wrapper):
    """``SpectralNormalization(layer, power_iterations=1)`` around a layer with a ``kernel`` (Dense,
    Conv*, recurrent layers…) or ``embeddings`` (Embedding).

    Weights (Keras's order): the wrapped kernel, ``vector_u`` ``(1, kernel.shape[-1])`` (non-trainable,
    truncated normal, stddev 0.02), then the wrapped layer's other weights. Input and output: the
    wrapped layer's (the output is not cast to the input's dtype, which Keras does even for an
    Embedding's integer inputs).
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        self.power_iterations = check_positive_int(power_iterations, "power_iterations", "SpectralNormalization")
        self._kernel_slot = None  # (owner, attribute, spec) of the normalized weight, set by build

    @property
    def kernel(self):
        """The wrapped layer's ``kernel`` (or ``embeddings``), the weight being normalized."""
        for name in ("kernel", "embeddings"):
            weight = getattr(self.layer, name, None)
            if weight is not None:
                return weight
        raise ValueError(f"SpectralNormalization '{self.name}': {type(self.layer).__name__} object has no "
                         "attribute 'kernel' nor 'embeddings'; wrap a layer with a kernel (Dense, Conv2D...) "
                         "or an Embedding.")

    def build(self, input_shape):
        self._build_wrapped(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = self.kernel
        self._kernel_slot = next(slot for slot in self.layer._weight_slots() if getattr(*slot[:2]) is kernel)
        self.vector_u = self.add_weight(name="vector_u", shape=(1, self._kernel_slot[2].keras_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
                                        dtype=kernel.dtype)

    def _own_weight_slots(self):
        """The wrapped kernel comes first, as Keras tracks it as the wrapper's own weight, then vector_u."""
        own = super()._own_weight_slots()
        return own if self._kernel_slot is None else [self._kernel_slot, *own]

    def call(self, inputs, training=False):
        if training:
            self.normalize_weights()
        return self.layer(inputs)

    @torch.no_grad()
    def normalize_weights(self):
        """Runs the power method and divides the kernel by its spectral norm, in place (a training call
        does it first). An all-zero kernel is left as is. No host sync."""
        owner, name, spec = self._kernel_slot
        kernel, vector_u = getattr(owner, name), self.vector_u
        weights = spec.layout.to_keras(kernel).reshape(-1, vector_u.shape[-1])
        u = vector_u
        for _ in range(self.power_iterations):
            v = _l2_normalized(u @ weights.T)
            u = _l2_normalized(v @ weights)
        sigma = (v @ weights) @ u.T
        all_zero = (kernel == 0).all()
        vector_u.copy_(torch.where(all_zero, vector_u, u))
        kernel.div_(torch.where(all_zero, torch.ones_like(sigma), sigma).reshape(()))

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
