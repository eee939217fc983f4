"""``compile(steps_per_execution=k)``: the same training, callbacks once per k steps, numbered as Keras's
epoch iterator numbers them (begin, begin + k - 1)."""

import numpy as np
import pytest

import lamina
from lamina import callbacks, layers


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(("train_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("train_end", batch, round(float(logs["loss"]), 6)))

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("test_end", batch))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("predict_end", batch, tuple(logs["outputs"].shape)))


def _trained(steps_per_execution, recorder=None):
    lamina.utils.set_random_seed(3)
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.compile("adam", "mse", steps_per_execution=steps_per_execution)
    rng = np.random.default_rng(0)
    x, y = rng.random((14, 3), dtype="float32"), rng.random((14, 2), dtype="float32")
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[recorder] if recorder else None,
                        validation_data=(x[:6], y[:6]))
    return model, history, x


@pytest.mark.parametrize("steps_per_execution", [2, 3, 7, 20])
def test_the_same_weights_history_and_predictions_as_one_step_per_execution(steps_per_execution):
    reference, reference_history, x = _trained(1)
    model, history, _ = _trained(steps_per_execution)
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert history.history == reference_history.history
    np.testing.assert_array_equal(model.predict(x, batch_size=2, verbose=0),
                                  reference.predict(x, batch_size=2, verbose=0))
    assert model.evaluate(x, x[:, :2], batch_size=4, verbose=0) == reference.evaluate(x, x[:, :2], batch_size=4,
                                                                                        verbose=0)


def test_callbacks_run_once_per_execution_with_keras_step_numbers():
    recorder = Recorder()
    model, _, x = _trained(3, recorder)
    first_epoch = recorder.events[:recorder.events.index(("test_end", 2)) + 1]
    assert [event[:2] for event in first_epoch] == [
        ("train_begin", 0), ("train_end", 2), ("train_begin", 3), ("train_end", 5), ("train_begin", 6),
        ("train_end", 8), ("test_end", 2)]  # 7 batches: executions of 3, 3 and 1; 3 validation batches
    recorder.events.clear()
    model.predict(x, batch_size=4, verbose=0, callbacks=[recorder])
    assert recorder.events == [("predict_end", 2, (12, 2)), ("predict_end", 5, (2, 2))]


def test_the_progress_line_counts_steps_not_executions(capsys):
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse", steps_per_execution=3)
    model.fit(np.ones((10, 3)), np.ones((10, 2)), batch_size=2, verbose=2)
    assert "5/5 - " in capsys.readouterr().out
