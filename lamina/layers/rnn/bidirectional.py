"""Bidirectional: a recurrent layer run forwards and backwards, outputs merged."""

import copy

import torch

from lamina import tree
from lamina.engine.layer import Layer
from lamina.layers.core.wrapper import Wrapper
from lamina.layers.rnn import fused
from lamina.layers.serialization import deserialize, serialize
from lamina.registry import register_builtin

MERGE_MODES = ("sum", "mul", "ave", "concat", None)
_MERGE = {
    "concat": lambda y, y_rev: torch.cat([y, y_rev], -1),
    "sum": lambda y, y_rev: y + y_rev,
    "ave": lambda y, y_rev: (y + y_rev) / 2,
    "mul": lambda y, y_rev: y * y_rev,
    None: lambda y, y_rev: (y, y_rev),
}


def _copy_layer(layer, name, **overrides):
    config = serialize(layer)
    config["config"].update(name=name, **overrides)
    return deserialize(config)


@register_builtin("keras.layers")
class Bidirectional(Wrapper):
    """``Bidirectional(layer, merge_mode="concat", backward_layer=None)`` on ``(batch, time, features)``.

    The forward copy reads the sequence in order, the backward one (``backward_layer``, or a copy of
    ``layer`` with ``go_backwards`` flipped) in reverse; with ``return_sequences`` the backward outputs
    are flipped back to input order. ``merge_mode``: "concat" (last axis doubles), "sum", "mul", "ave",
    or None (a pair of outputs). With ``return_state``: ``(output(s), *forward_states, *backward_states)``.
    ``initial_state`` lists the forward states then the backward ones. A ``Wrapper`` (as Keras 2's):
    ``layer`` reads the forward copy, as the config's ``"layer"`` holds it.
    """

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        for candidate, argument in ((layer, "layer"), (backward_layer, "backward_layer")):
            if isinstance(candidate, Layer) and not all(hasattr(candidate, a) for a in ("go_backwards",
                                                                                      "return_sequences")):
                raise ValueError(f"Bidirectional: `{argument}` must be a recurrent layer (RNN, LSTM, GRU, SimpleRNN, "
                                 f"ConvLSTM...) with `go_backwards` and `return_sequences`. Received: "
                                 f"{argument}={type(candidate).__name__} '{candidate.name}'")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("Bidirectional: `backward_layer` must be a Layer instance. "
                             f"Received: backward_layer={backward_layer!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: invalid merge_mode. Received: {merge_mode!r}. Merge mode should be "
                             'one of {"sum", "mul", "ave", "concat", None}')
        super().__init__(layer, **kwargs)
        base_name = layer.name.removeprefix("forward_")
        self.forward_layer = _copy_layer(layer, f"forward_{base_name}")
        self.backward_layer = backward_layer if backward_layer is not None else _copy_layer(
            layer, f"backward_{layer.name.removeprefix('backward_')}", go_backwards=not layer.go_backwards)
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError("Bidirectional: forward layer and backward layer should have different "
                             f"`go_backwards` values. Received: {self.forward_layer.go_backwards} for both.")
        for attribute in ("stateful", "return_sequences", "return_state"):
            forward_value = getattr(self.forward_layer, attribute)
            backward_value = getattr(self.backward_layer, attribute)
            if forward_value != backward_value:
                raise ValueError(f"Bidirectional: forward layer and backward layer are expected to have the same "
                                 f'value for attribute "{attribute}", got "{forward_value}" for forward layer and '
                                 f'"{backward_value}" for backward layer')
        for child in (self.forward_layer, self.backward_layer):
            if hasattr(child, "use_cudnn") and hasattr(layer, "use_cudnn"):
                child.use_cudnn = layer.use_cudnn
            if hasattr(child, "zero_output_for_mask"):
                child.zero_output_for_mask = child.return_sequences  # as Keras: padded steps output zeros
        self.merge_mode = merge_mode
        self.stateful = self.forward_layer.stateful
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.supports_masking = True
        self.input_spec = copy.copy(layer.input_spec)
        self._initial_weights = weights

    def _keep_wrapped(self, layer):
        """Nothing kept: Bidirectional runs the copies ``forward_layer`` and ``backward_layer`` of ``layer``."""

    @property
    def layer(self):
        return self.forward_layer

    def build(self, sequences_shape, initial_state_shape=None):
        for child in (self.forward_layer, self.backward_layer):
            if not child.built:
                child._build_for(tuple(sequences_shape))
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        output_shape = self.forward_layer.compute_output_shape(sequences_shape)
        state_shapes = []
        if self.return_state:
            output_shape, state_shapes = output_shape[0], list(output_shape[1:])
        if self.merge_mode == "concat":
            output_shape = tuple(output_shape[:-1]) + (output_shape[-1] * 2,)
        outputs = [output_shape, output_shape] if self.merge_mode is None else [output_shape]
        if not self.return_state and self.merge_mode is not None:
            return output_shape
        return outputs + state_shapes * 2

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            masks += [None] * (2 * len(self.forward_layer.state_size))
        return masks if len(masks) > 1 else output_mask

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        if mask is None and self._directions_fusable(training):
            output, states = self._fused_call(sequences, forward_state, backward_state)
        else:
            y = self.forward_layer(sequences, initial_state=forward_state, mask=mask, training=training)
            y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask, training=training)
            states = ()
            if self.return_state:
                states = tuple(y[1:]) + tuple(y_rev[1:])
                y, y_rev = y[0], y_rev[0]
            if self.return_sequences:
                y_rev = y_rev.flip(0 if getattr(self.forward_layer, "time_major", False) else 1)
            output = _MERGE[self.merge_mode](y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else (output,)) + states
        return output

    def _directions_fusable(self, training):
        """True when both directions can run as one fused bidirectional kernel call (same numbers)."""
        forward, backward = self.forward_layer, self.backward_layer
        if type(forward) is not type(backward) or not hasattr(forward, "_fused_allowed") or self.stateful \
                or forward.time_major:
            return False
        cells = (forward.cell, backward.cell)
        return (forward._fused_allowed(training) and backward._fused_allowed(training)
                and not forward.go_backwards and backward.go_backwards
                and cells[0].fused_op() == cells[1].fused_op()
                and cells[0].units == cells[1].units and cells[0].use_bias == cells[1].use_bias
                and not (training and any(0.0 < cell.dropout < 1.0 for cell in cells))
                and forward.activity_regularizer is None and backward.activity_regularizer is None)

    def _fused_call(self, sequences, forward_state, backward_state):
        """(merged output, states) from one fused call over both directions."""
        forward, backward = self.forward_layer, self.backward_layer
        outputs, forward_final, backward_final = fused.run_bidirectional(
            forward.cell, backward.cell, sequences, forward._initial_states(sequences, forward_state),
            backward._initial_states(sequences, backward_state))
        states = ()
        if self.return_state:
            states = tuple(tree.pack_sequence_as(forward._state_structure, forward_final)) + \
                tuple(tree.pack_sequence_as(backward._state_structure, backward_final))
        if self.return_sequences and self.merge_mode == "concat":
            return outputs, states
        units = forward.cell.units
        y, y_rev = outputs[..., :units], outputs[..., units:]
        if not self.return_sequences:
            y, y_rev = y[:, -1], y_rev[:, 0]
        return _MERGE[self.merge_mode](y, y_rev), states

    @property
    def states(self):
        forward, backward = self.forward_layer.states, self.backward_layer.states
        return tuple(forward) + tuple(backward) if forward and backward else None

    def reset_states(self, states=None):
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' is not stateful; reset_states() needs stateful=True.")
        half = None if states is None else len(states) // 2
        self.forward_layer.reset_states(None if states is None else states[:half])
        self.backward_layer.reset_states(None if states is None else states[half:])

    reset_state = reset_states

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "backward_layer": serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = deserialize(config["layer"], custom_objects=custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"], custom_objects=custom_objects)
        return cls(**config)
