"""RNN: runs a cell over the time axis, with masks, initial and carried (stateful) states, dropout.

Inputs ``(batch, time, features)``; output ``(batch, units)``, or ``(batch, time, units)`` with
``return_sequences``; with ``return_state`` a tuple ``(output, *final_states)``.

Built-in cells run PyTorch's fused ``torch._VF`` kernels when the configuration allows it (see
``fused.py`` and docs/recurrent.md); anything else runs a step loop with Keras 3's exact mask rules:
a masked step keeps the previous states and outputs the previous step's output (zeros before the
first unmasked step, or always zeros with ``zero_output_for_mask=True``).
"""

import torch

from lamina import tree
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.rnn import fused
from lamina.layers.rnn.cells import RecurrentCell, initial_cell_state
from lamina.layers.rnn.stacked_cells import StackedRNNCells
from lamina.layers.serialization import deserialize, serialize
from lamina.registry import register_builtin


def _flat_state_sizes(state_size):
    return [int(s) for s in tree.flatten(state_size if isinstance(state_size, (list, tuple)) else [state_size])]


def _dropout_cells(cell):
    """The built-in cells inside ``cell`` (itself, or the cells of a StackedRNNCells)."""
    if isinstance(cell, RecurrentCell):
        return [cell]
    return [c for inner in getattr(cell, "cells", []) for c in _dropout_cells(inner)]


def _per_sample(keep, like):
    """A ``(batch,)`` mask shaped to broadcast against ``like`` (batch, ...): one value per sample."""
    return keep.view(keep.shape + (1,) * (like.dim() - 1))


@register_builtin("keras.layers")
class RNN(Layer):
    """Runs ``cell`` (an object with ``state_size`` and ``call(inputs, states)``) over sequences.

    Args:
        cell: a cell, or a list of cells (wrapped in ``StackedRNNCells``).
        return_sequences: return the output of every step, ``(batch, time, units)``.
        return_state: also return the final states.
        go_backwards: process the sequence in reverse (outputs stay in processing order, as Keras).
        stateful: carry the final states of a batch over as the next batch's initial states;
            needs a fixed batch size (``batch_input_shape``/``batch_size``, or the first input's).
        unroll: run the Python step loop (never the fused kernel); needs a known time length.
        zero_output_for_mask: output zeros (not the previous output) at masked steps.
        time_major: Keras 2: inputs, sequence outputs and masks are ``(time, batch, ...)``; states stay
            ``(batch, units)``. Keras 3 dropped it (its files cannot hold a layer that sets it).
    Call: ``layer(sequences, initial_state=None, mask=None, training=None)``; ``mask`` is
    ``(batch, time)`` booleans, read from the input's Keras mask when not given.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, time_major=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            if not cell:
                raise ValueError(f"{type(self).__name__}: the `cell` argument must be an RNN cell or a non-empty list "
                                 f"of cells. Received: cell={cell!r}")
            cell = StackedRNNCells(cell)
        state_size = getattr(cell, "state_size", None)
        if state_size is None or not (hasattr(cell, "call") or callable(cell)):
            raise ValueError(f"RNN: the cell must have a `state_size` attribute and a `call(inputs, states)` "
                             f"method. Received: cell={cell!r}")
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError("RNN: state_size must be an integer, or a list/tuple of integers (one for each "
                             f"state tensor). Received: state_size={state_size!r}")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.time_major = bool(time_major)
        self.state_size = [state_size] if isinstance(state_size, int) else list(state_size)
        self._flat_sizes = _flat_state_sizes(state_size)
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)
        self._state_names = None
        self._step_shape = ()
        self._state_structure = None

    # ------------------------------------------------------------------ shapes and build
    def _batch_major(self, shape):
        """``shape`` as (batch, time, ...): swapped from Keras 2's ``time_major`` layout."""
        shape = tuple(shape)
        return (shape[1], shape[0]) + shape[2:] if self.time_major else shape

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._batch_major(sequences_shape)
        batch, length = sequences_shape[0], sequences_shape[1]
        step_output, states = self._step_shapes((batch, *sequences_shape[2:]))
        output_shape = self._batch_major((batch, length, *step_output[1:])) if self.return_sequences else step_output
        return [output_shape, *states] if self.return_state else output_shape

    def _step_shapes(self, step_input_shape):
        """(one step's output shape, the states' shapes nested as ``state_size``), batch first. A cell whose
        outputs are not vectors (ConvLSTMCell: images) gives them with ``step_shapes(step_input_shape)``."""
        shapes_of = getattr(self.cell, "step_shapes", None)
        if shapes_of is not None:
            return shapes_of(tuple(step_input_shape))
        batch = step_input_shape[0]
        output_size = getattr(self.cell, "output_size", None) or self._flat_sizes[0]
        return (batch, output_size), tree.map_structure(lambda size: (batch, size), self.state_size)

    def compute_mask(self, inputs, mask):
        mask = tree.flatten(mask)[0] if mask is not None else None
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * len(self.state_size) if self.return_state else output_mask

    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._batch_major(sequences_shape)
        if self.unroll and sequences_shape[1] is None:
            raise ValueError(f"Layer '{self.name}': cannot unroll an RNN when the time dimension is undefined; "
                             "give the input a fixed number of time steps.")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._build_for((sequences_shape[0],) + tuple(sequences_shape[2:]))
        self._step_shape = tuple(sequences_shape[2:])
        # Nesting of the states as the cell makes them (Keras packs states like the initial ones).
        self._state_structure = tree.map_structure(lambda _: None, self.get_initial_state(1))
        if self.stateful:
            batch = sequences_shape[0] if sequences_shape[0] is not None else \
                (self._batch_input_shape or (None,))[0]
            if batch is None:
                raise ValueError(f"Layer '{self.name}': when using `stateful=True` in an RNN, the batch size must "
                                 f"be static (pass `batch_input_shape` or `batch_size`). Found dynamic batch size: "
                                 f"sequence.shape={tuple(sequences_shape)}")
            self._state_names = [f"state_{i}" for i in range(len(self._flat_sizes))]
            for name, state in zip(self._state_names, tree.flatten(self.get_initial_state(batch))):
                self.register_buffer(name, state.detach(), persistent=False)

    def _call_is_context_free(self):
        """A built-in cell runs inside ``call`` (never as a sublayer call), an input without a mask gives
        outputs without one, and ``training`` only decides the cell's dropout, which ``_plain_call``
        reads at each call."""
        return isinstance(self.cell, RecurrentCell)

    @property
    def _plain_call(self):
        """Layer's fast-path flag, off while the cell drops out (its rates may change after build)."""
        return self.__dict__["_context_free"] and not getattr(self.__dict__["_modules"]["cell"], "drops_out", True)

    @_plain_call.setter
    def _plain_call(self, value):
        self.__dict__["_context_free"] = value

    # ------------------------------------------------------------------ states
    def get_initial_state(self, batch_size):
        """Zero states (the cell's own ``get_initial_state`` when it has one), as a list."""
        states = initial_cell_state(self.cell, batch_size, self._input_torch_dtype, self._device())
        return list(states) if isinstance(states, (list, tuple)) else [states]

    @property
    def states(self):
        """The carried states of a stateful RNN (None otherwise)."""
        if not self._state_names:
            return None
        return tree.pack_sequence_as(self._state_structure, [getattr(self, n) for n in self._state_names])

    def reset_states(self, states=None):
        """Zeros the carried states, or sets them to ``states`` (arrays, one per state)."""
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' is not stateful; reset_states() needs stateful=True.")
        if not self._state_names:
            return
        values = tree.flatten(states) if states is not None else [None] * len(self._state_names)
        if len(values) != len(self._state_names):
            raise ValueError(f"Layer '{self.name}' expects {len(self._state_names)} states, received "
                             f"{len(values)}.")
        for name, value in zip(self._state_names, values):
            current = getattr(self, name)
            setattr(self, name, torch.zeros_like(current) if value is None else
                    torch.as_tensor(value, dtype=current.dtype, device=current.device).reshape(current.shape))

    reset_state = reset_states

    def _initial_states(self, sequences, initial_state):
        batch = sequences.shape[0]
        if initial_state is None:
            if self.stateful:
                states = [getattr(self, n) for n in self._state_names]
                if states[0].shape[0] != batch:
                    raise ValueError(f"Layer '{self.name}': if an RNN is stateful, the batch size of the input "
                                     f"sequences must be the same as the batch size of the states. Expected batch "
                                     f"size: {states[0].shape[0]}. Received batch size: {batch}")
                return states
            if getattr(type(self._modules["cell"]), "get_initial_state", None) is RecurrentCell.get_initial_state:
                return [torch.zeros(batch, size, dtype=self._input_torch_dtype, device=sequences.device)
                        for size in self._flat_sizes]
            return tree.flatten(self.get_initial_state(batch))
        states = [torch.as_tensor(s, device=sequences.device).to(sequences.dtype)
                  for s in tree.flatten(initial_state)]
        expected = self._flat_state_shapes(batch)
        if [tuple(s.shape) for s in states] != expected:
            raise ValueError(f"Layer '{self.name}': initial_state must be {len(expected)} tensor(s) of "
                             f"shapes {expected}. Received shapes {[tuple(s.shape) for s in states]}.")
        return states

    def _flat_state_shapes(self, batch):
        """The shape of each flat state for ``batch`` sequences of the built step shape."""
        if getattr(self.cell, "step_shapes", None) is None:
            return [(batch, size) for size in self._flat_sizes]
        return [tuple(shape) for shape in self.cell.step_shapes((batch, *self._step_shape))[1]]

    # ------------------------------------------------------------------ call
    def call(self, sequences, initial_state=None, mask=None, training=None):
        if self.time_major:
            sequences = sequences.transpose(0, 1)
            mask = mask.transpose(0, 1) if isinstance(mask, torch.Tensor) and mask.ndim == 2 else mask
        step_shape = tuple(sequences.shape[2:])
        if step_shape != self._step_shape and (len(step_shape) != len(self._step_shape) or any(
                built is not None and built != got for built, got in zip(self._step_shape, step_shape))):
            raise ValueError(f"Layer '{self.name}' was built for sequences of shape (batch, time, "
                             f"{', '.join(map(str, self._step_shape))}). Received: shape {tuple(sequences.shape)}")
        states = self._initial_states(sequences, initial_state)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            mask = torch.as_tensor(mask, device=sequences.device).bool()
            if tuple(mask.shape) != tuple(sequences.shape[:2]):
                raise ValueError(f"Layer '{self.name}': the mask must have shape (batch, time) = "
                                 f"{tuple(sequences.shape[:2])}. Received: mask.shape={tuple(mask.shape)}")
        cells = _dropout_cells(self._modules["cell"]) if training else []  # no dropout masks in inference
        for cell in cells:
            cell.sequence_dropout_masks = cell.make_dropout_masks(sequences.shape[0], sequences, True)
        try:
            result = self._fused_call(sequences, states, mask) if self._fused_allowed(training) else None
            last, outputs, states = result or self._step_loop(sequences, states, mask, training)
        finally:
            for cell in cells:
                cell.sequence_dropout_masks = None
        if self.stateful:
            for name, state in zip(self._state_names, states):
                setattr(self, name, state.detach())
        output = outputs if self.return_sequences else last
        if self.time_major and self.return_sequences:
            output = output.transpose(0, 1)
        if self.return_state:
            return (output, *tree.pack_sequence_as(self._state_structure, list(states)))
        return output

    def _fused_allowed(self, training):
        cell = self._modules["cell"]  # the hot path's reads skip Module.__getattr__
        return (not self.unroll and isinstance(cell, RecurrentCell) and cell.fusable
                and cell.fused_op() is not None and not (training and 0.0 < cell.recurrent_dropout < 1.0))

    def _fused_call(self, sequences, states, mask):
        cell = self._modules["cell"]
        input_mask = (cell.sequence_dropout_masks or (None, None))[0]
        if input_mask is not None:
            sequences = sequences * input_mask.unsqueeze(1)
        return fused.run(cell, sequences, states, mask, self.go_backwards, self.zero_output_for_mask,
                         self.return_sequences)

    def _step_loop(self, sequences, states, mask, training):
        """Keras's step semantics; returns (last output, stacked outputs or None, final flat states)."""
        cell = self.cell
        if self.go_backwards:
            sequences = sequences.flip(1)
            mask = mask.flip(1) if mask is not None else None
        if isinstance(cell, RecurrentCell):
            input_mask, recurrent_mask = cell.sequence_dropout_masks or (None, None)
            steps = cell.input_projection(sequences, input_mask).unbind(1)

            def step(x, flat_states):
                return cell.recurrence(x, flat_states, recurrent_mask)
        else:
            steps = sequences.unbind(1)
            kwargs = {"training": training} if getattr(cell, "_call_has_training_arg", False) else {}

            def step(x, flat_states):
                output, new = cell(x, tree.pack_sequence_as(self._state_structure, flat_states), **kwargs)
                return output, tree.flatten(new)
        outputs, previous = [], None
        for t, x in enumerate(steps):
            output, new_states = step(x, states)
            if mask is not None:
                keep = mask[:, t]
                new_states = [torch.where(_per_sample(keep, n), n, s) for n, s in zip(new_states, states)]
                fallback = previous if previous is not None and not self.zero_output_for_mask else 0.0
                output = torch.where(_per_sample(keep, output), output, fallback)
            states, previous = list(new_states), output
            if self.return_sequences:
                outputs.append(output)
        return previous, torch.stack(outputs, 1) if self.return_sequences else None, states

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                  "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask,
                  "cell": serialize(self.cell)}
        if self.time_major:  # Keras 2 only: written when set, so Keras 3 configs keep their keys
            config["time_major"] = True
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        return cls(deserialize(config.pop("cell"), custom_objects=custom_objects), **config)
