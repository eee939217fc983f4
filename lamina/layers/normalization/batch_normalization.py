"""BatchNormalization with Keras's momentum convention and moving statistics."""

import torch
import torch.nn.functional as F

from lamina import config, initializers
from lamina.engine.input_spec import InputSpec
from lamina.engine.weights import read_weight
from lamina.layers.normalization.base_normalization import AffineNormalization, check_axis, check_epsilon
from lamina.ops.arguments import check_fraction
from lamina.registry import register_builtin

_RENORM_KEYS = ("rmax", "rmin", "dmax")


@register_builtin("keras.layers")
class BatchNormalization(AffineNormalization):
    """Normalizes each feature along ``axis`` with batch statistics (training) or moving ones (inference).

    Training (``training=True`` and ``layer.trainable``): ``y = (x - mean_b) / sqrt(var_b + epsilon) * gamma
    + beta`` with the batch mean and biased variance over all axes but ``axis``, and
    ``moving = moving * momentum + batch * (1 - momentum)`` for both moving statistics (Keras's
    convention: PyTorch's momentum is ``1 - momentum``). Inference (the default, or ``trainable=False``
    even when ``training=True``): the moving statistics, which are left unchanged.

    Args:
        axis: the features axis (-1 for channels_last, 1 for channels_first).
        momentum / epsilon: as above.
        center / scale / beta_* / gamma_*: see ``AffineNormalization``.
        moving_mean_initializer / moving_variance_initializer: for the moving statistics.
        synchronized: average the batch statistics over all ``torch.distributed`` processes.
        renorm / renorm_clipping / renorm_momentum: batch renormalization (Ioffe 2017) as Keras:
            ``renorm_clipping`` may hold "rmax", "rmin", "dmax".

    Input: any shape with the features along ``axis``; output: the same. A mask ``(batch, ...)``
    one axis shorter than the input leaves masked positions out of the batch statistics.
    Weights (Keras order): gamma, beta, moving_mean, moving_variance (and moving_stddev,
    renorm_mean, renorm_stddev with ``renorm``), each ``(features,)``.

    >>> BatchNormalization()(torch.randn(8, 4, 4, 3), training=True).shape
    torch.Size([8, 4, 4, 3])
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_axis(axis, "BatchNormalization", allow_list=False)
        self.momentum = float(check_fraction(momentum, "momentum", "BatchNormalization"))
        self.epsilon = float(check_epsilon(epsilon, "BatchNormalization"))
        self._set_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = bool(synchronized)
        self.renorm = bool(renorm)
        if renorm:
            clipping = dict(renorm_clipping or {})
            if set(clipping) - set(_RENORM_KEYS):
                raise ValueError(f"BatchNormalization: invalid keys for `renorm_clipping`: {clipping}. "
                                 f"Supported keys: {list(_RENORM_KEYS)}.")
            rmax, rmin, dmax = (clipping.get(k) for k in _RENORM_KEYS)
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(f"BatchNormalization: rmax should be greater than rmin in `renorm_clipping`. "
                                 f"Received: rmax={rmax}, rmin={rmin}.")
            if dmax is not None and dmax < 0:
                raise ValueError(f"BatchNormalization: dmax should be non-negative in `renorm_clipping`. "
                                 f"Received: dmax={dmax}.")
            renorm_clipping = clipping
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = check_fraction(renorm_momentum, "renorm_momentum", "BatchNormalization")

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        rank = len(input_shape)
        self._feature_axis = self.axis % rank
        features = input_shape[self.axis]
        if self._feature_axis == 0 or features is None:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} must be a non-batch axis of known "
                             f"size. Received input shape {tuple(input_shape)}")
        shape = (features,)
        self._add_affine_weights(shape)
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=self.moving_variance_initializer, trainable=False)
        if self.renorm:
            def stddev_initializer(weight_shape, dtype=None):
                return torch.sqrt(torch.as_tensor(self.moving_variance_initializer(weight_shape, dtype=dtype)))

            self.moving_stddev = self.add_weight(name="moving_stddev", shape=shape, initializer=stddev_initializer,
                                                 trainable=False)
            self.renorm_mean = self.add_weight(name="renorm_mean", shape=shape,
                                               initializer=self.moving_mean_initializer, trainable=False)
            self.renorm_stddev = self.add_weight(name="renorm_stddev", shape=shape, initializer=stddev_initializer,
                                                 trainable=False)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: features})
        self._reduction_axes = tuple(a for a in range(rank) if a != self._feature_axis)
        self._broadcast_shape = tuple(features if a == self._feature_axis else 1 for a in range(rank))

    def _channels_at_1(self, inputs):
        """A view with the features on axis 1, as F.batch_norm wants (no copy for contiguous inputs)."""
        if self._feature_axis == inputs.dim() - 1:
            return inputs.reshape(-1, inputs.shape[-1])
        return inputs.movedim(self._feature_axis, 1)

    def _from_channels_at_1(self, outputs, inputs):
        if self._feature_axis == inputs.dim() - 1:
            return outputs.reshape(inputs.shape)
        return outputs.movedim(1, self._feature_axis)

    def _call_reads_only_training(self):
        return not self._has_sublayers()  # without a mask: its inputs, its weights and ``training``

    def call(self, inputs, training=None, mask=None):
        if training and self.trainable and (
                mask is not None or not self._trains_in_kernel(inputs.numel() // inputs.shape[self._feature_axis])):
            return self._train_general(inputs, mask)
        return self._from_channels_at_1(self._normalize(self._channels_at_1(inputs), training), inputs)

    def _channels_first_form(self):
        rank = len(self._build_input_shape)  # channels_last memory formats: the kernel's results do not change
        return "moves" if rank in (4, 5) and self._feature_axis == rank - 1 else None

    def _call_channels_first(self, x, training):
        training = self.training if training is None else training
        if training and self.trainable and not self._trains_in_kernel(x.numel() // x.shape[1]):
            return self._train_general(x.movedim(1, -1), None).movedim(-1, 1)
        return self._normalize(x, training)

    def _trains_in_kernel(self, count):
        """Whether training on inputs with ``count`` values per feature (without a mask) runs in F.batch_norm's
        kernel: no renorm, no synchronized statistics, more than one value per feature."""
        return not self.renorm and not self.synchronized and count > 1

    def _normalize(self, x, training):
        """F.batch_norm of ``x``, features on axis 1: with the moving statistics in inference, with the batch's
        in training, which moves the moving ones as Keras does."""
        mean, variance = read_weight(self, "moving_mean"), read_weight(self, "moving_variance")
        gamma, beta = read_weight(self, "gamma"), read_weight(self, "beta")
        if not (training and self.trainable):
            return F.batch_norm(x, mean, variance, gamma, beta, False, 0.0, self.epsilon)
        # F.batch_norm moves running_var toward the unbiased variance; Keras uses the biased one, (count - 1) /
        # count times it. Updating moving_variance / correction and multiplying back gives moving * momentum +
        # biased * (1 - momentum). (A copy: autograd saves running_var. Neither needs autograd: the moving
        # statistics take no gradient.)
        count = x.numel() // x.shape[1]
        correction = (count - 1) / count
        running_variance = variance / correction
        y = F.batch_norm(x, mean, running_variance, gamma, beta, True, 1.0 - self.momentum, self.epsilon)
        torch.mul(running_variance, correction, out=variance)
        return y

    def _train_general(self, inputs, mask):
        """Training with a mask, renorm, synchronized statistics, or one value per feature."""
        mean, variance = self._moments(inputs, mask)
        gamma, beta = self.gamma, self.beta
        if self.renorm:
            r, d = self._renorm_correction(mean, variance)
            beta = d * (1.0 if gamma is None else gamma) + (0.0 if beta is None else beta)
            gamma = r if gamma is None else r * gamma
        with torch.no_grad():
            if self.renorm:
                self._update_renorm_statistics(mean, variance)
            else:
                self.moving_mean.mul_(self.momentum).add_(mean * (1.0 - self.momentum))
                self.moving_variance.mul_(self.momentum).add_(variance * (1.0 - self.momentum))
        scale = torch.rsqrt(variance + self.epsilon)
        if gamma is not None:
            scale = scale * gamma
        offset = -mean * scale if beta is None else beta - mean * scale
        return inputs * scale.reshape(self._broadcast_shape) + offset.reshape(self._broadcast_shape)

    def _moments(self, inputs, mask):
        """Batch mean and biased variance per feature, ``(features,)`` each."""
        if mask is None:
            weights = None
            count = torch.tensor(float(inputs.numel() // inputs.shape[self._feature_axis]), device=inputs.device)
        else:
            mask = torch.as_tensor(mask, device=inputs.device)
            if mask.dim() != inputs.dim() - 1:
                raise ValueError(f"BatchNormalization '{self.name}': the mask should have one dimension less than "
                                 f"the inputs. Received: mask.shape={tuple(mask.shape)}, "
                                 f"inputs.shape={tuple(inputs.shape)}")
            weights = mask.unsqueeze(-1).expand_as(inputs).to(inputs.dtype)
            count = weights.sum(self._reduction_axes)
        total = self._all_reduce((inputs if weights is None else inputs * weights).sum(self._reduction_axes))
        count = self._all_reduce(count)
        epsilon = 0.0 if mask is None else config.epsilon()
        mean = total / (count + epsilon)
        squares = (inputs - mean.reshape(self._broadcast_shape)).square()
        squares = self._all_reduce((squares if weights is None else squares * weights).sum(self._reduction_axes))
        return mean, squares / (count + epsilon)

    def _all_reduce(self, tensor):
        """The sum over ``torch.distributed`` processes when ``synchronized`` (differentiable), else ``tensor``."""
        if self.synchronized and torch.distributed.is_available() and torch.distributed.is_initialized():
            from torch.distributed.nn.functional import all_reduce

            return all_reduce(tensor)
        return tensor

    def _renorm_correction(self, mean, variance):
        stddev = torch.sqrt(variance + self.epsilon)
        renorm_stddev = torch.clamp(self.renorm_stddev, min=self.epsilon ** 0.5)
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean) / renorm_stddev
        clipping = self.renorm_clipping
        if clipping.get("rmin") is not None:
            r = torch.clamp(r, min=clipping["rmin"])
        if clipping.get("rmax") is not None:
            r = torch.clamp(r, max=clipping["rmax"])
        if clipping.get("dmax") is not None:
            d = torch.clamp(d, -clipping["dmax"], clipping["dmax"])
        return r.detach(), d.detach()

    def _update_renorm_statistics(self, mean, variance):
        stddev = torch.sqrt(variance + self.epsilon)
        self.renorm_mean.mul_(self.renorm_momentum).add_(mean * (1.0 - self.renorm_momentum))
        self.renorm_stddev.mul_(self.renorm_momentum).add_(stddev * (1.0 - self.renorm_momentum))
        self.moving_mean.mul_(self.momentum).add_(mean * (1.0 - self.momentum))
        self.moving_stddev.mul_(self.momentum).add_(stddev * (1.0 - self.momentum))
        self.moving_variance.copy_(F.relu(self.moving_stddev.square() - self.epsilon))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                **self._affine_config(),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "synchronized": self.synchronized, "renorm": self.renorm, "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum}
