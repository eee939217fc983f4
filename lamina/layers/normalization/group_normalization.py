"""GroupNormalization: per-sample normalization over groups of channels (and all spatial positions)."""

import torch.nn.functional as F

from lamina.engine.input_spec import InputSpec
from lamina.layers.normalization.base_normalization import AffineNormalization, check_axis, check_epsilon
from lamina.ops.arguments import is_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class GroupNormalization(AffineNormalization):
    """Channels along ``axis`` split into ``groups``; each sample's group is normalized over its channels
    and every non-batch position, then scaled by ``gamma`` and shifted by ``beta`` per channel.

    Args:
        groups: number of groups, dividing the channels; -1 means one group per channel
            (instance normalization); 1 is layer normalization over all axes.
        axis: the channels axis (an int).
        epsilon / center / scale / beta_* / gamma_*: as ``LayerNormalization``; weights ``(channels,)``.

    Input: ``(batch, ..., channels)`` (any rank >= 2); output: the same.

    >>> GroupNormalization(groups=2)(torch.randn(2, 5, 5, 4)).shape
    torch.Size([2, 5, 5, 4])
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        if not is_int(groups) or (groups <= 0 and groups != -1):
            raise ValueError("GroupNormalization: invalid value for argument `groups`, expected a positive integer "
                             f"(or -1 for instance normalization). Received: groups={groups!r}")
        super().__init__(**kwargs)
        self.groups = groups
        self.axis = check_axis(axis, "GroupNormalization", allow_list=False)
        self.epsilon = check_epsilon(epsilon, "GroupNormalization")
        self._set_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self._channel_axis = self.axis % len(input_shape)
        channels = input_shape[self.axis]
        if self._channel_axis == 0 or channels is None:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} must be a non-batch axis of "
                             f"known size. Received input shape {tuple(input_shape)}")
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups or channels % self.groups:
            raise ValueError(f"GroupNormalization '{self.name}': groups={self.groups} must divide the number of "
                             f"channels ({channels}) along axis {self.axis}.")
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: channels})
        self._add_affine_weights((channels,))

    def call(self, inputs):
        x = inputs.movedim(self._channel_axis, 1)
        return F.group_norm(x, self.groups, self.gamma, self.beta, self.epsilon).movedim(1, self._channel_axis)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                **self._affine_config()}
