"""Callbacks: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger, BackupAndRestore, progress output."""

import csv

import numpy as np
import pytest

import lamina
import lamina.optimizers  # noqa: F401
from lamina import callbacks


@pytest.fixture
def data(rng):
    x = rng.standard_normal((40, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]])).astype("float32")


def _model(learning_rate=0.05):
    lamina.utils.set_random_seed(3)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4, activation="tanh"),
                               lamina.layers.Dropout(0.2), lamina.layers.Dense(1)])
    model.compile(lamina.optimizers.SGD(learning_rate, momentum=0.9), "mse")
    return model


class Scripted(callbacks.Callback):
    """Overwrites val_loss with a script so that stopping epochs are known in advance."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_stops_at_the_right_epoch_and_restores_best_weights(data):
    model = _model()
    snapshots = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    stopper = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(*data, epochs=10, verbose=0,
                        callbacks=[Scripted([1.0, 0.5, 0.6, 0.7, 0.1, 0.05]), record, stopper])
    assert history.epoch == [0, 1, 2, 3] and stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    for actual, best in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(actual, best)


def test_model_checkpoint_files(data, tmp_path):
    model = _model()
    every = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}.lamina"))
    best = callbacks.ModelCheckpoint(str(tmp_path / "best.weights.safetensors"), save_best_only=True,
                                     save_weights_only=True)
    model.fit(*data, epochs=3, verbose=0, callbacks=[Scripted([1.0, 2.0, 0.5]), every, best])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.weights.safetensors", "e01.lamina", "e02.lamina",
                                                          "e03.lamina"]
    assert best.best == 0.5
    restored = _model()
    restored.load_weights(tmp_path / "best.weights.safetensors")
    for a, e in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, e)
    with pytest.raises(ValueError, match=".weights.safetensors"):
        callbacks.ModelCheckpoint("x.lamina", save_weights_only=True)


def test_reduce_lr_on_plateau_and_scheduler_change_the_learning_rate(data):
    model = _model()
    history = model.fit(*data, epochs=4, verbose=0, callbacks=[
        Scripted([1.0, 1.0, 1.0, 1.0]), callbacks.ReduceLROnPlateau(factor=0.5, patience=1)])
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.05, 0.025, 0.0125], rtol=1e-6)  # logged before reducing, as Keras
    assert float(model.optimizer.learning_rate) == pytest.approx(0.00625)
    model.fit(*data, epochs=3, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 / 3)


def test_csv_logger_content(data, tmp_path):
    path = tmp_path / "log.csv"
    history = _model().fit(*data, epochs=3, verbose=0, validation_split=0.25, callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["epoch", "loss", "val_loss"] and [r["epoch"] for r in rows] == ["0", "1", "2"]
    np.testing.assert_allclose([float(r["val_loss"]) for r in rows], history.history["val_loss"], rtol=1e-6)


def test_terminate_on_nan(data):
    x, y = data
    model = _model(learning_rate=1e6)
    history = model.fit(x, y * 1e6, epochs=5, batch_size=4, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.epoch) == 1


class Interrupt(callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_backup_and_restore_resumes_with_identical_results(data, tmp_path):
    reference = _model()
    reference.fit(*data, epochs=4, batch_size=8, verbose=0)
    model = _model()
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        model.fit(*data, epochs=4, batch_size=8, verbose=0, callbacks=[backup, Interrupt()])
    lamina.utils.set_random_seed(99)  # the backup's random state wins
    resumed = _model()
    history = resumed.fit(*data, epochs=4, batch_size=8, verbose=0, callbacks=[backup])
    assert history.epoch == [2, 3]
    for a, e in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)
    assert not (tmp_path / "backup" / "training_state.json").exists()


def test_progress_output(data, capsys):
    model = _model()
    model.fit(*data, epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("2/2 - ") and "loss: " in lines[1]
    model.fit(*data, epochs=1, verbose=1)
    output = capsys.readouterr()
    assert "Epoch 1/1" in output.out and "2/2" in output.out + output.err
    model.evaluate(*data, verbose=0)
    assert capsys.readouterr().out == ""


def test_all_hooks_are_called_in_order(data):
    calls = []
    hooks = {name: (lambda name: lambda *args: calls.append(name))(name) for name in (
        "on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end", "on_test_begin",
        "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end")}
    _model().fit(*data, epochs=1, batch_size=40, verbose=0, validation_data=data,
                 callbacks=[callbacks.LambdaCallback(**hooks)])
    assert calls == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                     "on_test_begin", "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end"]
