"""GRU training on CPU with a batched backward pass.

PyTorch's CPU ``gru`` kernel is a loop of about a dozen small ATen ops per step, so autograd records a
dozen nodes per step and replays them one by one, with a small weight-gradient matmul at every step.
``gru_sequence`` instead:

1. runs the forward steps itself (one ``addmm`` and five elementwise ops per step, written into
   preallocated time-major buffers) and keeps the states and gate activations, recording nothing;
2. turns those into per-step factors of the hidden gradient with a few elementwise passes over all steps;
3. runs the reverse recurrence with two ops per step: the hidden gradient times the step's factors, and
   one ``addmm`` through the recurrent kernel;
4. computes the input and weight gradients of all steps at once, as three large matmuls.

A ``valid (batch, time)`` mask freezes a row's state on its invalid steps, as packed sequences do: their
update-gate pre-activation is set to +inf, so z = 1 exactly and ``lerp(n, h, 1) = h`` keeps the state
bit for bit, while the backward passes the hidden gradient straight through and gives those steps'
inputs zero gradient. Outputs at invalid steps repeat the state.

Outputs equal ``torch._VF.gru``'s to float rounding and the gradients equal autograd's through it (tested
in float64, masked against packed sequences). A double backward (``create_graph=True``) replays the
steps as plain differentiable ops instead, so higher-order gradients stay exact. Gates are in PyTorch's
order r, z, n: ``w_ih (3·units, in)``, ``w_hh (3·units, units)``; the update rule is
``h' = n + z·(h - n)``.
"""

import torch


def handles(inputs, h0, params):
    """True where ``gru_sequence`` is the faster exact choice: CPU float training outside torch.compile
    and ``torch.func`` transforms (CUDA has cuDNN's fused backward; without gradients the plain kernel is
    already the whole cost)."""
    tensors = (inputs, h0, *params)
    return (inputs.device.type == "cpu" and inputs.dtype in (torch.float32, torch.float64)
            and torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
            and not torch.compiler.is_compiling() and torch._C._functorch.peek_interpreter_stack() is None)


def gru_sequence(inputs, h0, params, valid=None):
    """GRU over ``inputs (batch, time, in)`` from ``h0 (batch, units)`` with ``params`` =
    ``[w_ih, w_hh(, b_ih, b_hh)]``, states frozen where ``valid (batch, time)`` is False; returns
    (outputs ``(batch, time, units)``, final ``h (batch, units)``)."""
    w_ih, w_hh, *biases = params
    b_ih, b_hh = biases or (None, None)
    if valid is not None:  # padded steps are never read, as with packed sequences: even NaN there is harmless
        inputs = inputs.masked_fill(~valid.unsqueeze(2), 0.0)
    return _GRUSequence.apply(inputs, h0, w_ih, w_hh, b_ih, b_hh, valid)


class _GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs, h0, w_ih, w_hh, b_ih, b_hh, valid):
        hidden, gates, recurrent_new = _forward_steps(inputs, h0, w_ih, w_hh, b_ih, b_hh, valid)
        ctx.save_for_backward(inputs, h0, w_ih, w_hh, b_ih, b_hh, valid, hidden, gates, recurrent_new)
        ctx.set_materialize_grads(False)
        # copies, not views of the saved states: callers may modify them in place
        return hidden[1:].transpose(0, 1).contiguous(), hidden[-1].clone()

    @staticmethod
    def backward(ctx, d_outputs, d_last):
        if torch.is_grad_enabled():  # create_graph=True: differentiate the kernel itself
            return _replayed_backward(ctx, d_outputs, d_last)
        inputs, h0, w_ih, w_hh, b_ih, b_hh, _, hidden, gates, recurrent_new = ctx.saved_tensors
        batch, steps, input_dim = inputs.shape
        units = h0.shape[1]
        previous = hidden[:-1]  # h_{t-1}: (time, batch, units)
        factors = _step_factors(previous, gates, recurrent_new)

        # Reverse recurrence: d_gates[t] = factors[t]·dh_t (blocks: n as seen by w_hh, r, z, n as seen
        # by w_ih, carry); dh_{t-1} = carry + blocks (n, r, z) @ w_hh with its rows rolled to that order.
        d_gates = torch.empty_like(factors)
        w_hh_nrz = w_hh.roll(units, 0)
        output_grads = d_outputs.unbind(1) if d_outputs is not None else [None] * steps
        d_h = d_last if d_last is not None else torch.zeros_like(h0)
        for factor, d_gate, d_recurrent, carry, d_output in reversed(list(zip(
                factors.unbind(0), d_gates.unbind(0), d_gates[:, :, :3].flatten(2).unbind(0),
                d_gates[:, :, 4].unbind(0), output_grads))):
            if d_output is not None:
                d_h = d_h + d_output
            torch.mul(factor, d_h.unsqueeze(1), out=d_gate)
            d_h = torch.addmm(carry, d_recurrent, w_hh_nrz)

        d_input_gates = d_gates[:, :, 1:4].reshape(steps * batch, 3 * units)  # r, z, n
        d_recurrent_gates = d_gates[:, :, :3].reshape(steps * batch, 3 * units)  # n, r, z
        needs = ctx.needs_input_grad
        d_inputs = d_input_gates.mm(w_ih).view(steps, batch, input_dim).transpose(0, 1) if needs[0] else None
        d_w_ih = (d_input_gates.t().mm(inputs.transpose(0, 1).reshape(steps * batch, input_dim))
                  if needs[2] else None)
        d_w_hh = (d_recurrent_gates.t().mm(previous.view(steps * batch, units)).roll(-units, 0)
                  if needs[3] else None)
        d_b_ih = d_input_gates.sum(0) if needs[4] else None
        d_b_hh = d_recurrent_gates.sum(0).roll(-units, 0) if needs[5] else None
        return d_inputs, d_h if needs[1] else None, d_w_ih, d_w_hh, d_b_ih, d_b_hh, None


def _forward_steps(inputs, h0, w_ih, w_hh, b_ih, b_hh, valid):
    """The GRU steps, time-major. Returns (states ``(time + 1, batch, units)``: h0 then every step's
    output, gate activations ``(time, batch, 3·units)`` = r, z, n, and the recurrent new-gate term
    ``h·U_n + b_n (time, batch, units)``)."""
    steps, units = inputs.shape[1], h0.shape[1]
    input_gates = torch.nn.functional.linear(inputs.transpose(0, 1), w_ih, b_ih)
    if valid is not None:  # z = sigmoid(+inf) = 1 on invalid steps: the state is kept exactly
        input_gates[..., units:2 * units].masked_fill_(~valid.t().unsqueeze(2), float("inf"))
    recurrent_gates = torch.empty_like(input_gates)
    gates = torch.empty_like(input_gates)
    hidden = input_gates.new_empty(steps + 1, *h0.shape)
    hidden[0] = h0
    w_hh_t = w_hh.t()
    input_rz, input_n = input_gates.split([2 * units, units], 2)
    recurrent_rz, recurrent_n = recurrent_gates.split([2 * units, units], 2)
    reset_update, new = gates.split([2 * units, units], 2)
    reset, update = reset_update.chunk(2, 2)
    per_step = (recurrent_gates, input_rz, recurrent_rz, reset_update, input_n, reset, recurrent_n, new, update,
                hidden[1:])
    h = h0
    for gh, x_rz, h_rz, rz, x_n, r, h_n, n, z, out in zip(*(part.unbind(0) for part in per_step)):
        if b_hh is None:
            torch.mm(h, w_hh_t, out=gh)
        else:
            torch.addmm(b_hh, h, w_hh_t, out=gh)
        torch.add(x_rz, h_rz, out=rz).sigmoid_()
        torch.addcmul(x_n, r, h_n, out=n).tanh_()
        h = torch.lerp(n, h, z, out=out)
    return hidden, gates, recurrent_n.contiguous()  # a copy: the r, z part of the buffer is not kept


def _step_factors(previous, gates, recurrent_new):
    """``(time, batch, 5, units)``: per step, what the hidden gradient is multiplied by to give the
    gradients of the pre-activations (blocks: n as seen by w_hh, r, z, n as seen by w_ih) and the part
    of it that flows straight to ``h_{t-1}`` (z)."""
    reset, update, new = gates.chunk(3, 2)
    keep_new = 1.0 - update
    factors = gates.new_empty(*previous.shape[:2], 5, previous.shape[2])
    new_h, reset_f, update_f, new_i, carry = factors.unbind(2)
    torch.mul(torch.rsub(new * new, 1.0), keep_new, out=new_i)  # (1 - z)(1 - n²)
    torch.mul(new_i, reset, out=new_h)
    torch.mul(new_h, recurrent_new, out=reset_f).mul_(1.0 - reset)  # (1 - z)(1 - n²)·r(1 - r)·(h·U_n + b_n)
    torch.sub(previous, new, out=update_f).mul_(update).mul_(keep_new)  # (h - n)·z(1 - z)
    carry.copy_(update)
    return factors


def _replayed_backward(ctx, d_outputs, d_last):
    inputs, h0, w_ih, w_hh, b_ih, b_hh, valid = ctx.saved_tensors[:7]
    arguments = (inputs, h0, w_ih, w_hh, b_ih, b_hh)
    outputs, last = _differentiable_steps(*arguments, valid)
    pairs = [(o, g) for o, g in ((outputs, d_outputs), (last, d_last)) if g is not None]
    wanted = [a for a, needed in zip(arguments, ctx.needs_input_grad) if needed]
    grads = iter(torch.autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True,
                                     allow_unused=True))
    return (*(next(grads) if needed else None for needed in ctx.needs_input_grad[:6]), None)


def _differentiable_steps(inputs, h0, w_ih, w_hh, b_ih, b_hh, valid):
    """The same GRU as plain autograd-recorded ops (for higher-order gradients)."""
    reset_update_x, new_x = torch.nn.functional.linear(inputs, w_ih, b_ih).split(
        [2 * h0.shape[1], h0.shape[1]], 2)
    h, outputs = h0, []
    for t in range(inputs.shape[1]):
        reset_update_h, new_h = torch.nn.functional.linear(h, w_hh, b_hh).split([2 * h0.shape[1], h0.shape[1]], 1)
        reset, update = torch.sigmoid(reset_update_x[:, t] + reset_update_h).chunk(2, 1)
        new = torch.tanh(new_x[:, t] + reset * new_h)
        following = new + update * (h - new)
        h = following if valid is None else torch.where(valid[:, t, None], following, h)
        outputs.append(h)
    return torch.stack(outputs, 1), h
