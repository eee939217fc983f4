"""The call context: the training flag and the losses of the call in progress, per thread, never global."""

import gc
import threading
import weakref

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


class TrainingProbe(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs, training=None):
        self.seen.append(training)
        return inputs


class Penalty(layers.Layer):
    """Adds the mean of its input as a loss on every call."""

    def call(self, inputs):
        self.add_loss(inputs.mean())
        return inputs


def test_two_threads_calling_two_models_see_their_own_training_flag():
    probes = [TrainingProbe(), TrainingProbe()]
    models = [lamina.Sequential([lamina.Input((2,)), probe, layers.Dense(1)]) for probe in probes]
    for probe in probes:
        probe.seen.clear()
    barrier = threading.Barrier(2)

    def run(model, training):
        for _ in range(50):
            barrier.wait()
            model(torch.ones(1, 2), training=training)

    threads = [threading.Thread(target=run, args=(models[0], True)), threading.Thread(target=run, args=(models[1], False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert probes[0].seen == [True] * 50 and probes[1].seen == [False] * 50
    assert lamina.engine.call_context.current() is None


def test_nested_explicit_training_is_scoped_to_its_call():
    inner, after = TrainingProbe(), TrainingProbe()

    class Outer(lamina.Model):
        def call(self, x):
            x = inner(x, training=False)
            return after(x)

    Outer()(torch.ones(1, 2), training=True)
    assert inner.seen[-1] is False and after.seen[-1] is True


def test_a_loss_does_not_outlive_the_next_call():
    model = lamina.Sequential([lamina.Input((3,)), Penalty(), layers.Dense(1)])
    model(torch.ones(2, 3, requires_grad=True))
    first = weakref.ref(model.losses[0])
    model(torch.ones(2, 3) * 2)
    gc.collect()
    assert first() is None and len(model.losses) == 1 and float(model.losses[0]) == 2.0


def test_a_shared_layer_keeps_both_losses_of_one_call():
    penalty = Penalty()
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, layers.Add()([penalty(inputs), penalty(inputs)]))
    model(torch.ones(2, 3))
    assert len(model.losses) == 2


def test_one_models_losses_leave_other_layers_on_their_fast_path():
    lossy = lamina.Sequential([lamina.Input((3,)), Penalty(), layers.Dense(1)])
    lossy(torch.ones(2, 3))
    dense = layers.Dense(2)
    dense(torch.ones(1, 3))
    assert lossy.losses and dense._plain_call
    calls = []
    original = dense.__class__._full_call
    dense.__class__._full_call = lambda self, args, kwargs: calls.append(1) or original(self, args, kwargs)
    try:
        dense(torch.ones(1, 3))
    finally:
        dense.__class__._full_call = original
    assert calls == []


def test_losses_of_a_layer_not_run_in_the_latest_call_are_not_reported():
    branch_penalty = Penalty()

    class Conditional(lamina.Model):
        def __init__(self):
            super().__init__()
            self.penalty = branch_penalty
            self.use_branch = True

        def call(self, x):
            return self.penalty(x) if self.use_branch else x

    model = Conditional()
    model(torch.ones(2, 3))
    assert len(model.losses) == 1
    model.use_branch = False
    model(torch.ones(2, 3))
    assert model.losses == []


def test_activity_regularization_losses_are_those_of_the_latest_call():
    layer = layers.Dense(2, activity_regularizer="l2")
    for scale in (1.0, 3.0):
        output = layer(np.full((4, 3), scale, "float32"))
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(0.01 * float((output.detach() ** 2).sum()) / 4)


def test_a_compiled_call_leaves_no_context_behind():
    model = lamina.Sequential([lamina.Input((2,)), TrainingProbe(), layers.Dense(1)])
    compiled = torch.compile(lambda x: model(x, training=True), backend="eager")
    compiled(torch.ones(3, 2))
    assert lamina.engine.call_context._TracedContext.current is None
