"""Under several processes, ``fit`` agrees on ``stop_training`` after every batch only when something can set
it inside an epoch (a custom ``train_step``, a callback with an epoch-begin or batch hook); otherwise once per
epoch, which saves one collective per step."""

import numpy as np
import pytest

import lamina
from lamina import callbacks, layers
from lamina.distribution import coordinator as coordinator_module
from lamina.training import trainer as trainer_module


class CountingCoordinator(coordinator_module.LocalCoordinator):
    def __init__(self):
        self.agreements = 0

    def any_process(self, flag):
        self.agreements += 1
        return flag


class StopsOnItsOwn(lamina.Model):
    def train_step(self, data):
        return super().train_step(data)


@pytest.mark.parametrize("extra, custom_step, expected", [
    ([], False, 2),  # 2 epochs x (end of epoch)
    ([callbacks.EarlyStopping(monitor="loss", patience=5)], False, 2),  # epoch-end hooks only
    ([callbacks.TerminateOnNaN()], False, 2 * (4 + 1)),  # a batch hook: after each of the 4 batches too
    ([callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: None)], False, 2 * (4 + 1)),
    ([], True, 2 * (4 + 1)),  # a custom train_step may set stop_training
])
def test_processes_agree_after_every_batch_only_when_something_can_stop_inside_an_epoch(
        monkeypatch, extra, custom_step, expected):
    counting = CountingCoordinator()
    monkeypatch.setattr(trainer_module, "distribution_coordinator", lambda model: counting)
    inputs = layers.Input((3,))
    outputs = layers.Dense(1)(inputs)
    model = (StopsOnItsOwn if custom_step else lamina.Model)(inputs, outputs)
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=2, epochs=2, verbose=0, callbacks=extra)
    assert counting.agreements == expected
