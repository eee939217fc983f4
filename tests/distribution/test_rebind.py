"""Pointing an optimizer's state at new tensors standing for its weights (FSDP's shards, or the weights
moved to a GPU): lamina's optimizers and PyTorch's keep their state and train the new tensors."""

import pytest
import torch

import lamina


def _weights():
    torch.manual_seed(0)
    return [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(2))]


@pytest.mark.parametrize("make", [lambda: lamina.optimizers.Adam(0.1),
                                  lambda: lamina.optimizers.LossScaleOptimizer(lamina.optimizers.SGD(0.1, momentum=0.9))],
                         ids=["adam", "loss_scale_sgd"])
def test_a_lamina_optimizer_continues_on_the_new_tensors(make):
    old, twin = _weights(), _weights()
    optimizer, reference = make(), make()
    for opt, weights in ((optimizer, old), (reference, twin)):
        opt.build(weights)
        opt.apply([torch.ones_like(w) for w in weights], weights)
    new = [torch.nn.Parameter(w.detach().clone()) for w in old]
    optimizer._rebind({id(o): n for o, n in zip(old, new)}, lambda state, weight: state.clone())
    optimizer.apply([torch.full_like(w, 0.5) for w in new], new)
    reference.apply([torch.full_like(w, 0.5) for w in twin], twin)
    for got, expected in zip(new, twin):
        torch.testing.assert_close(got, expected)
    with pytest.raises(ValueError, match="unknown variable"):
        optimizer.apply([torch.ones(3, 2)], [old[0]])


def test_a_pytorch_optimizer_continues_on_the_new_tensors():
    old, twin = _weights(), _weights()
    optimizer = lamina.optimizers.TorchOptimizer(torch.optim.Adam(old, lr=0.1))
    reference = torch.optim.Adam(twin, lr=0.1)
    for weights, step in ((old, optimizer.apply), (twin, None)):
        grads = [torch.ones_like(w) for w in weights]
        if step is not None:
            step(grads, weights)
        else:
            for w, g in zip(weights, grads):
                w.grad = g
            reference.step()
    new = [torch.nn.Parameter(w.detach().clone()) for w in old]
    optimizer._rebind({id(o): n for o, n in zip(old, new)}, lambda state, weight: state.clone())
    assert all(p is n for p, n in zip(optimizer.optimizer.param_groups[0]["params"], new))
    optimizer.apply([torch.full_like(w, 0.5) for w in new], new)
    for w in twin:
        w.grad = torch.full_like(w, 0.5)
    reference.step()
    for got, expected in zip(new, twin):
        torch.testing.assert_close(got, expected)
