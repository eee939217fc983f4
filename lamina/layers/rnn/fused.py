"""PyTorch's fused recurrent kernels (``torch._VF.lstm/gru/rnn_tanh/rnn_relu``) on a cell's stored weights.

Used when a built-in cell is expressible there (see ``RecurrentCell.fused_op``) and the mask is absent
or right-padded (every row: valid steps, then padding, at least one valid step). Right-padded masks run
as packed sequences; the outputs are then arranged as Keras's step loop would produce them: padded
steps repeat the last valid output (zeros with ``zero_output_for_mask``); with ``go_backwards``, each
row's valid part is reversed and its outputs come after ``time - length`` zero steps.

GRU training on CPU runs ``gru_backward.gru_sequence`` instead, masked or not (no packing): the same
numbers, with a batched backward pass in place of autograd's per-step replay of the kernel's ops.
"""

import functools

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lamina.layers.rnn import gru_backward

_GRU = torch._VF.gru


def right_padded_lengths(mask):
    """Lengths ``(batch,)`` if ``mask`` is right-padded with no empty row, else None (one host sync)."""
    lengths = mask.sum(1)
    steps = torch.arange(mask.shape[1], device=mask.device)
    valid = torch.equal(mask, steps < lengths.unsqueeze(1)) and lengths.min().item() > 0
    return lengths if valid else None


def check_inputs(cell, inputs, states):
    """Raises ValueError unless ``inputs`` and ``states`` fit ``cell``'s stored weights.

    PyTorch's ``_VF`` kernels read memory by the weights' shapes and check nothing (``nn.LSTM`` checks
    before calling them): a wrong feature count reads out of bounds and corrupts memory.
    """
    kernel, units = cell.kernel, cell.units
    features, batch = kernel.shape[1], inputs.shape[0] if inputs.dim() else 0
    if inputs.dim() != 3 or inputs.shape[2] != features:
        raise ValueError(f"Layer '{cell.name}': expected sequences of shape (batch, time, {features}). "
                         f"Received: shape {tuple(inputs.shape)}")
    device = inputs.device
    if inputs.dtype != kernel.dtype or device != kernel.device:
        raise ValueError(f"Layer '{cell.name}': expected {kernel.dtype} sequences on {kernel.device}. "
                         f"Received: {inputs.dtype} on {inputs.device}")
    for state in states:
        if state.shape != (batch, units) or state.dtype != inputs.dtype or state.device != device:
            raise ValueError(f"Layer '{cell.name}': expected states of shape ({batch}, {cell.units}) like the "
                             f"sequences. Received: shape {tuple(state.shape)}, {state.dtype} on {state.device}")


def _outside_cpu_autocast(kernel):
    """``kernel`` run outside CPU ``torch.autocast`` (a mixed policy's float16/bfloat16): oneDNN has no half
    LSTM primitive ("could not create a primitive descriptor"), so on CPU the fused kernels compute in the
    weights' float32, as the layers that autocast does not lower do."""
    @functools.wraps(kernel)
    def run(*args, **kwargs):
        if torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return kernel(*args, **kwargs)
        return kernel(*args, **kwargs)

    return run


@_outside_cpu_autocast
def _kernel(cell, inputs, states, lengths, with_outputs=True):
    """The fused kernel over ``inputs (batch, time, in)``; returns (outputs, final flat states). With
    ``lengths`` and not ``with_outputs``, the packed outputs are not unpacked: outputs is None."""
    check_inputs(cell, inputs, states)
    op, params = cell.fused_op(), cell.fused_params()
    if op is _GRU and gru_backward.handles(inputs, states[0], params):
        valid = None if lengths is None else torch.arange(inputs.shape[1], device=inputs.device) < lengths[:, None]
        outputs, last = gru_backward.gru_sequence(inputs, states[0], params, valid)
        if valid is not None:  # zeros on the padded steps, as unpacked sequences have them
            outputs = torch.where(valid.unsqueeze(2), outputs, 0.0) if with_outputs else None
        return outputs, [last]
    hidden = [s.unsqueeze(0) for s in states]
    if lengths is None:
        hx = tuple(hidden) if len(hidden) == 2 else hidden[0]
        result = op(inputs, hx, params, cell.use_bias, 1, 0.0, False, False, True)
        return result[0], [s.squeeze(0) for s in result[1:]]
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    hidden = [h.index_select(1, packed.sorted_indices) for h in hidden]
    hx = tuple(hidden) if len(hidden) == 2 else hidden[0]
    result = op(packed.data, packed.batch_sizes, hx, params, cell.use_bias, 1, 0.0, False, False)
    states = [s.index_select(1, packed.unsorted_indices).squeeze(0) for s in result[1:]]
    if not with_outputs:
        return None, states
    outputs, _ = pad_packed_sequence(PackedSequence(result[0], packed.batch_sizes, packed.sorted_indices,
                                                    packed.unsorted_indices),
                                     batch_first=True, total_length=inputs.shape[1])
    return outputs, states


def run(cell, sequences, states, mask, go_backwards, zero_output_for_mask, return_sequences):
    """Returns (last output, outputs or None, final flat states), or None when the mask doesn't fit."""
    lengths = right_padded_lengths(mask) if mask is not None else None
    if mask is not None and lengths is None:
        return None
    if lengths is None:
        outputs, states = _kernel(cell, sequences.flip(1) if go_backwards else sequences, states, None)
        return states[0], outputs if return_sequences else None, states
    if go_backwards:
        steps = torch.arange(sequences.shape[1], device=sequences.device).unsqueeze(0)
        lengths_column = lengths.unsqueeze(1)
        reverse = torch.where(steps < lengths_column, lengths_column - 1 - steps, steps)
        sequences = sequences.gather(1, reverse.unsqueeze(2).expand_as(sequences))
    outputs, states = _kernel(cell, sequences, states, lengths, with_outputs=return_sequences)
    last = states[0]
    if go_backwards:
        if return_sequences:
            shift = (steps + lengths_column) % sequences.shape[1]
            outputs = outputs.gather(1, shift.unsqueeze(2).expand_as(outputs))
        return last, outputs if return_sequences else None, states
    if zero_output_for_mask:
        last = torch.where(mask[:, -1:], last, 0.0)
    elif return_sequences:
        outputs = torch.where(mask.unsqueeze(2), outputs, states[0].unsqueeze(1))
    return last, outputs if return_sequences else None, states


@_outside_cpu_autocast
def run_bidirectional(forward_cell, backward_cell, sequences, forward_states, backward_states):
    """Both directions of an unmasked Bidirectional in one kernel call (PyTorch's ``bidirectional=True``).

    Returns (outputs ``(batch, time, 2·units)``: forward features, then backward features in input
    order, as Keras's Bidirectional arranges them; forward final states; backward final states).
    """
    check_inputs(forward_cell, sequences, forward_states)
    check_inputs(backward_cell, sequences, backward_states)
    op, params = forward_cell.fused_op(), forward_cell.fused_params() + backward_cell.fused_params()
    if op is _GRU and gru_backward.handles(sequences, forward_states[0], params):
        # one direction at a time: _kernel takes gru_backward's path for each
        forward_outputs, forward_final = _kernel(forward_cell, sequences, forward_states, None)
        backward_outputs, backward_final = _kernel(backward_cell, sequences.flip(1), backward_states, None)
        return torch.cat([forward_outputs, backward_outputs.flip(1)], 2), forward_final, backward_final
    hidden = [torch.stack([f, b]) for f, b in zip(forward_states, backward_states)]
    hx = tuple(hidden) if len(hidden) == 2 else hidden[0]
    result = op(sequences, hx, params, forward_cell.use_bias, 1, 0.0, False, True, True)
    return result[0], [s[0] for s in result[1:]], [s[1] for s in result[1:]]
