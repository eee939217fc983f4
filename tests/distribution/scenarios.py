"""Training scripts run unchanged alone (in the test process) and on several processes (``worker.py``).

Each scenario returns plain JSON-able results: weights, History, evaluations, predictions. The tests
compare the processes' results with each other and with the lone run's.
"""

import os

import numpy as np
import torch

import lamina
from lamina import layers
from lamina.utils import set_random_seed


def _data(count, features=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, features)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] > 0).astype("float32")[:, None]
    return x, y


def _classifier(optimizer, batch_norm=False, model_class=None):
    set_random_seed(7)
    inputs = lamina.Input((5,))
    hidden = layers.Dense(8, activation="relu", kernel_regularizer="l2")(inputs)
    if batch_norm:
        hidden = layers.BatchNormalization(synchronized=True, momentum=0.9)(hidden)
    outputs = layers.Dense(1, activation="sigmoid")(hidden)
    model = (model_class or lamina.Model)(inputs, outputs)
    model.compile(optimizer=optimizer, loss="binary_crossentropy",
                  metrics=["accuracy", lamina.metrics.AUC(name="auc")])
    return model


def _results(model, history, **extra):
    return {"weights": [w.tolist() for w in model.get_weights()], "history": history.history, **extra}


def sgd_validation_class_weight():
    """SGD with momentum, a validation split, class weights; 101 samples (uneven batches and parts)."""
    x, y = _data(101)
    model = _classifier(lamina.optimizers.SGD(0.1, momentum=0.9))
    history = model.fit(x, y, batch_size=32, epochs=3, validation_split=0.2, class_weight={0: 1.0, 1: 2.5},
                        verbose=0)
    return _results(model, history)


def adam_sample_weight_padded():
    """Adam with sample weights; 65 samples: the last batch (1 sample) leaves one process without rows.
    Then evaluate on uneven parts and predict (batch 7) in input order."""
    x, y = _data(65, seed=1)
    weights = np.linspace(0.5, 2.0, len(x)).astype("float32")
    model = _classifier(lamina.optimizers.Adam(0.01))
    history = model.fit(x, y, sample_weight=weights, batch_size=32, epochs=3, verbose=0)
    test_x, test_y = _data(67, seed=2)
    evaluation = model.evaluate(test_x, test_y, batch_size=16, verbose=0, return_dict=True)
    predictions = model.predict(test_x, batch_size=7, verbose=0)
    single_batch = {"train": model.train_on_batch(test_x[:9], test_y[:9], return_dict=True),
                    "test": model.test_on_batch(test_x[:5], test_y[:5], return_dict=True),
                    "predict": model.predict_on_batch(test_x[:3]).tolist()}
    return _results(model, history, evaluation=evaluation, predictions=predictions.tolist(), single_batch=single_batch)


class _Batches(lamina.utils.PyDataset):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[rows], self.y[rows]


def _repeating_batches(x, y, batch_size):
    while True:
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]


class _Subclassed(lamina.Model):
    """Not built until its first batch (a generator cannot build it before)."""

    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(8, activation="relu")
        self.out = layers.Dense(1, activation="sigmoid")

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def other_inputs():
    """A torch Dataset (each process loads only its rows), a shuffled PyDataset and a generator; a
    subclassed model built by its first batch."""
    x, y = _data(70, seed=3)
    results = {}
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    sources = {"dataset": dict(x=dataset, batch_size=16),
               "py_dataset": dict(x=_Batches(x, y, 16)),
               "generator": dict(x=_repeating_batches(x, y, 16), steps_per_epoch=5)}
    for name, arguments in sources.items():
        model = _classifier(lamina.optimizers.SGD(0.05, momentum=0.5))
        history = model.fit(epochs=2, verbose=0, **arguments)
        results[name] = _results(model, history)
    set_random_seed(7)
    model = _Subclassed()
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(_repeating_batches(x, y, 20), steps_per_epoch=4, epochs=2, verbose=0)
    results["subclassed_generator"] = _results(model, history)
    return results


class _KerasStepModel(lamina.Model):
    """Keras's torch-backend custom train_step idiom."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        weights = self.trainable_weights
        self.optimizer.apply([w.value.grad for w in weights], weights)
        for metric in self.metrics:
            metric.update_state(loss) if metric.name == "loss" else metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def custom_train_step():
    """Keras's custom-step idiom, with validation_data."""
    x, y = _data(90, seed=4)
    model = _classifier(lamina.optimizers.RMSprop(0.01), model_class=_KerasStepModel)
    history = model.fit(x, y, batch_size=24, epochs=2, verbose=0, validation_data=_data(23, seed=10))
    return _results(model, history)


def synchronized_batch_norm():
    """BatchNormalization(synchronized=True): statistics over the whole batch; 71 samples, so the last
    batch is split unevenly (4 and 3)."""
    x, y = _data(71, seed=5)
    model = _classifier(lamina.optimizers.SGD(0.1), batch_norm=True)
    history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    return _results(model, history)


class _StopOnLastProcess(lamina.callbacks.Callback):
    """A decision only the last process takes (as TerminateOnNaN on a loss only it sees)."""

    def on_train_batch_end(self, batch, logs=None):
        if lamina.distribution.process_id() == lamina.distribution.num_processes() - 1 and batch == 1:
            self.model.stop_training = True


class _ProcessOwnLog(lamina.callbacks.Callback):
    """A batch log that improves on process 0 and worsens elsewhere (batch logs are each process's own)."""

    def __init__(self):
        super().__init__()
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        logs["own"] = self.seen if lamina.distribution.process_id() == 0 else -self.seen


def callbacks(directory):
    """EarlyStopping, ModelCheckpoint (per epoch, and every 3 batches on a batch log that differs between
    processes), CSVLogger (only process 0 writes); a stop decided on the last process alone."""
    from unittest import mock

    x, y = _data(96, seed=6)
    model = _classifier(lamina.optimizers.SGD(0.5, momentum=0.9))
    checkpoint = os.path.join(directory, "best.lamina")
    csv_logger = lamina.callbacks.CSVLogger(os.path.join(directory, "log.csv"))
    with mock.patch.object(os, "replace", wraps=os.replace) as renames:  # every atomic write ends in one
        history = model.fit(x, y, batch_size=16, epochs=8, validation_split=0.25, verbose=0, callbacks=[
            lamina.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=0.02, restore_best_weights=True),
            lamina.callbacks.ModelCheckpoint(checkpoint, monitor="val_loss", save_best_only=True),
            _ProcessOwnLog(),
            lamina.callbacks.ModelCheckpoint(os.path.join(directory, "batches.weights.safetensors"),
                                             monitor="own", mode="max", save_best_only=True, save_weights_only=True,
                                             save_freq=3),
            csv_logger])
    writer = lamina.distribution.is_writing_process()
    early = _results(model, history, checkpoint=[w.tolist() for w in lamina.models.load_model(checkpoint)
                                                 .get_weights()],
                     files_written_by_process_0_alone=(renames.call_count > 0) == writer == (csv_logger.keys is not None))
    model = _classifier(lamina.optimizers.SGD(0.1))
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[_StopOnLastProcess()])
    return {"early": early, "stopped": _results(model, history)}


def _holds_share(model):
    """Whether this process holds about 1/N of the weights and of the optimizer's slots (all when alone)."""
    count = lamina.distribution.num_processes()
    tensors = list(model.parameters()) + [v for v in getattr(model.optimizer, "variables", []) if v.ndim]
    local = sum(t.to_local().numel() if hasattr(t, "to_local") else t.numel() for t in tensors)
    return local / sum(t.numel() for t in tensors) <= (1.0 if count == 1 else 1.5 / count)


def model_parallel(directory):
    """ModelParallel: weights, gradients and optimizer slots sharded by FSDP (regularized weights, uneven
    batches and a process without rows included); save gathers Keras-layout weights; evaluate and predict."""
    import contextlib

    sharded = lamina.distribution.ModelParallel().scope() if lamina.distribution.num_processes() > 1 \
        else contextlib.nullcontext()
    x, y = _data(65, seed=9)
    results = {}
    with sharded:
        for name, optimizer in (("adam", lambda model: lamina.optimizers.Adam(0.01)),
                                ("torch_sgd", lambda model: torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))):
            model = _classifier(lamina.optimizers.SGD(0.1))
            model.compile(optimizer=optimizer(model), loss="binary_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y, batch_size=32, epochs=2, validation_split=0.2, verbose=0)
            results[f"{name}_holds_its_share"] = _holds_share(model)
            path = os.path.join(directory, f"{name}.lamina")
            model.save(path)
            reloaded = lamina.models.load_model(path, compile=False)
            results[name] = _results(model, history, reloaded=[w.tolist() for w in reloaded.get_weights()],
                                     evaluation=model.evaluate(x, y, batch_size=16, verbose=0),
                                     predictions=model.predict(x[:9], batch_size=4, verbose=0).tolist())
    return results


# Scripts whose results on several processes equal a single process's.
SCENARIOS = {name: globals()[name] for name in ("sgd_validation_class_weight", "adam_sample_weight_padded",
                                                "other_inputs", "custom_train_step", "synchronized_batch_norm",
                                                "callbacks", "model_parallel")}


class _KillAt(lamina.callbacks.Callback):
    """Ends the last process abruptly at batch 1 of epoch ``epoch`` (a machine lost mid-epoch)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.current == self.epoch and batch == 1 and \
                lamina.distribution.process_id() == lamina.distribution.num_processes() - 1:
            os._exit(3)


def _backed_up_fit(backup_dir, kill_at=None):
    x, y = _data(80, seed=8)
    set_random_seed(11)
    model = lamina.Sequential([layers.Input((5,)), layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    callbacks = [lamina.callbacks.BackupAndRestore(backup_dir)] + ([_KillAt(kill_at)] if kill_at is not None else [])
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=callbacks)
    return {"weights": [w.tolist() for w in model.get_weights()], "epochs": history.epoch,
            "loss": history.history["loss"]}


def interrupted(directory):
    """Killed at epoch 2 when KILL_AT_EPOCH is set; run again, it resumes from the epoch-1 backup."""
    kill_at = os.environ.get("KILL_AT_EPOCH")
    return _backed_up_fit(os.path.join(directory, "interrupted"), int(kill_at) if kill_at else None)


def uninterrupted(directory):
    return _backed_up_fit(os.path.join(directory, "uninterrupted"))


# Scripts for the fault-tolerance test: not compared with a single process (dropout draws differ).
ALL = dict(SCENARIOS, interrupted=interrupted, uninterrupted=uninterrupted)
