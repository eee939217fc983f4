"""gru_backward: the CPU GRU training path equals torch._VF.gru under autograd, to every order."""

import itertools

import pytest
import torch

from lamina.layers.rnn import gru_backward

BATCH, TIME, FEATURES, UNITS = 3, 6, 4, 5


def make_arguments(use_bias, h0_grad, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)

    def tensor(*shape, scale=1.0):
        return (torch.randn(*shape, generator=generator, dtype=dtype) * scale).requires_grad_()

    params = [tensor(3 * UNITS, FEATURES, scale=0.5), tensor(3 * UNITS, UNITS, scale=0.5)]
    if use_bias:
        params += [tensor(3 * UNITS, scale=0.3), tensor(3 * UNITS, scale=0.3)]
    h0 = tensor(BATCH, UNITS) if h0_grad else torch.randn(BATCH, UNITS, generator=generator, dtype=dtype)
    return tensor(BATCH, TIME, FEATURES), h0, params


def reference(inputs, h0, params):
    outputs, last = torch._VF.gru(inputs, h0.unsqueeze(0), params, len(params) == 4, 1, 0.0, False, False, True)
    return outputs, last.squeeze(0)


@pytest.mark.parametrize("use_bias,h0_grad,used", list(itertools.product(
    [True, False], [True, False], ["outputs", "last", "both"])))
def test_outputs_and_gradients_equal_autograd_through_the_kernel(use_bias, h0_grad, used):
    inputs, h0, params = make_arguments(use_bias, h0_grad)
    wanted = [inputs, *params] + ([h0] if h0_grad else [])
    generator = torch.Generator().manual_seed(1)
    weights = (torch.randn(BATCH, TIME, UNITS, generator=generator, dtype=torch.float64),
               torch.randn(BATCH, UNITS, generator=generator, dtype=torch.float64))
    results = []
    for run in (reference, gru_backward.gru_sequence):
        outputs, last = run(inputs, h0, params)
        loss = {"outputs": (outputs * weights[0]).sum(), "last": (last * weights[1]).sum(),
                "both": (outputs * weights[0]).sum() + (last * weights[1]).sum()}[used]
        results.append([outputs, last, *torch.autograd.grad(loss, wanted)])
    for expected, actual in zip(*results):
        torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-12)


def packed_reference(inputs, h0, params, lengths):
    """torch._VF.gru on packed sequences: (outputs, zeros on padded steps; final states)."""
    from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    hx = h0.unsqueeze(0).index_select(1, packed.sorted_indices)
    data, last = torch._VF.gru(packed.data, packed.batch_sizes, hx, params, len(params) == 4, 1, 0.0, False, False)
    outputs, _ = pad_packed_sequence(PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                                                    packed.unsorted_indices), batch_first=True, total_length=TIME)
    return outputs, last.index_select(1, packed.unsorted_indices).squeeze(0)


@pytest.mark.parametrize("lengths", [[6, 2, 4], [1, 6, 6], [3, 3, 3]])
@pytest.mark.parametrize("use_bias", [True, False])
def test_valid_mask_equals_packed_sequences(lengths, use_bias):
    """Invalid (padded) steps keep the state exactly; gradients equal autograd through packed sequences."""
    inputs, h0, params = make_arguments(use_bias, True)
    lengths = torch.tensor(lengths)
    valid = torch.arange(TIME) < lengths[:, None]
    generator = torch.Generator().manual_seed(2)
    weights = (torch.randn(BATCH, TIME, UNITS, generator=generator, dtype=torch.float64) * valid.unsqueeze(2),
               torch.randn(BATCH, UNITS, generator=generator, dtype=torch.float64))
    expected_out, expected_last = packed_reference(inputs, h0, params, lengths)
    outputs, last = gru_backward.gru_sequence(inputs, h0, params, valid)
    torch.testing.assert_close(last, expected_last, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(outputs * valid.unsqueeze(2), expected_out, rtol=1e-12, atol=1e-12)
    carried = torch.where(valid.unsqueeze(2), outputs, last.unsqueeze(1))  # padded steps repeat the final state
    assert torch.equal(outputs, carried)
    grads = [torch.autograd.grad((out * weights[0]).sum() + (fin * weights[1]).sum(), [inputs, h0, *params])
             for out, fin in ((expected_out, expected_last), (outputs, last))]
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)


def test_padded_steps_are_never_read():
    inputs, h0, params = make_arguments(True, False)
    valid = torch.arange(TIME) < torch.tensor([6, 2, 4])[:, None]
    poisoned = torch.where(valid.unsqueeze(2), inputs, float("nan"))
    results = []
    for x in (inputs, poisoned):
        outputs, last = gru_backward.gru_sequence(x, h0, params, valid)
        results.append([outputs, last, *torch.autograd.grad(outputs.sum() + last.sum(), [inputs, *params])])
    for clean, dirty in zip(*results):
        assert torch.equal(clean, dirty)


def test_outputs_may_be_modified_in_place():
    inputs, h0, params = make_arguments(True, True)
    expected = torch.autograd.grad(sum(t.sum() for t in reference(inputs, h0, params)) * 2, [inputs, *params])
    outputs, last = gru_backward.gru_sequence(inputs, h0, params)
    outputs.mul_(2)
    last.mul_(2)
    for a, b in zip(expected, torch.autograd.grad(outputs.sum() + last.sum(), [inputs, *params])):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)


def test_float32_matches_the_kernel():
    inputs, h0, params = make_arguments(True, False, dtype=torch.float32)
    expected, actual = reference(inputs, h0, params), gru_backward.gru_sequence(inputs, h0, params)
    for a, b in zip(actual, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    grads = [torch.autograd.grad(run(inputs, h0, params)[0].square().sum(), params)
             for run in (reference, gru_backward.gru_sequence)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("use_bias,masked", [(True, False), (False, False), (True, True)])
def test_gradcheck_and_double_backward(use_bias, masked):
    inputs, h0, params = make_arguments(use_bias, True)
    inputs, h0, params = inputs[:2, :3], h0[:2], params  # small: gradgradcheck is quadratic
    valid = torch.tensor([[True, True, True], [True, False, False]]) if masked else None

    def function(x, h, *weights):
        return gru_backward.gru_sequence(x, h, list(weights), valid)

    assert torch.autograd.gradcheck(function, (inputs, h0, *params))
    assert torch.autograd.gradgradcheck(function, (inputs, h0, *params))
    # create_graph=True takes the replayed path: its first-order gradients must be the batched ones
    first, replayed = (torch.autograd.grad(function(inputs, h0, *params)[0].square().sum(), [inputs, h0, *params],
                                           create_graph=create_graph) for create_graph in (False, True))
    for a, b in zip(first, replayed):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)


def test_handles_only_cpu_float_training():
    inputs, h0, params = make_arguments(True, False, dtype=torch.float32)
    assert gru_backward.handles(inputs, h0, params)
    with torch.no_grad():
        assert not gru_backward.handles(inputs, h0, params)
    frozen = [p.detach() for p in params]
    assert not gru_backward.handles(inputs.detach(), h0, frozen)
    assert gru_backward.handles(inputs.detach(), h0, params)
    half = [p.detach().bfloat16().requires_grad_() for p in params]
    assert not gru_backward.handles(inputs.detach().bfloat16(), h0.bfloat16(), half)


def test_torch_func_transforms_use_the_plain_kernel():
    """torch.func.grad through a GRU layer works (it needs autograd.Function's setup_context form)."""
    import lamina
    from torch.func import functional_call, grad

    torch.manual_seed(0)
    layer = lamina.layers.GRU(UNITS)
    x = torch.randn(BATCH, TIME, FEATURES)
    layer(x)
    params = dict(layer.named_parameters())
    grads = grad(lambda p: functional_call(layer, p, (x,)).square().sum())(params)
    expected = torch.autograd.grad(layer(x).square().sum(), list(params.values()))
    for name, value in zip(params, expected):
        torch.testing.assert_close(grads[name], value, rtol=1e-5, atol=1e-6)


def test_gru_layer_training_uses_it_and_matches_the_step_loop(monkeypatch):
    """A GRU layer in training runs gru_sequence; its gradients equal the layer's own step loop."""
    import lamina

    torch.manual_seed(0)
    layer = lamina.layers.GRU(UNITS, return_sequences=True)
    loop = lamina.layers.GRU(UNITS, return_sequences=True, use_cudnn=False)
    x = torch.randn(BATCH, TIME, FEATURES)
    layer(x)
    loop(x)
    loop.set_weights(layer.get_weights())
    calls = []
    original = gru_backward.gru_sequence
    monkeypatch.setattr(gru_backward, "gru_sequence", lambda *a: calls.append(1) or original(*a))
    grads = [torch.autograd.grad(net(x).square().sum(), list(net.parameters())) for net in (layer, loop)]
    assert calls == [1]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
