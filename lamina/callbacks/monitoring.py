"""Callbacks that watch a metric: EarlyStopping, ReduceLROnPlateau; and LearningRateScheduler,
TerminateOnNaN, CSVLogger. Formulas and defaults follow Keras 3."""

import csv
import math
import os
import warnings

from lamina.callbacks.base import Callback
from lamina.distribution import process_group


def monitor_mode(monitor, mode, owner):
    """"min" or "max" for ``mode`` ("auto" picks "max" for accuracy/AUC-like names, as Keras)."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    if mode == "auto":
        name = monitor.removeprefix("val_")
        return "max" if name in ("acc", "accuracy", "auc") or name.endswith(("accuracy", "_acc", "auc")) else "min"
    return mode


class EarlyStopping(Callback):
    """Stops training when ``monitor`` stops improving for ``patience`` epochs (Keras semantics)."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.mode = monitor_mode(monitor, mode, "EarlyStopping")
        self.min_delta = abs(min_delta) * (1 if self.mode == "max" else -1)
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return value - self.min_delta > reference if self.mode == "max" else value - self.min_delta < reference

    def on_train_begin(self, logs=None):
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs or {})}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.mode = monitor_mode(monitor, mode, "ReduceLROnPlateau")
        self.wait = self.cooldown_counter = 0
        self.best = None

    def _improved(self, current):
        if self.best is None:
            return True
        return current > self.best + self.min_delta if self.mode == "max" else current < self.best - self.min_delta

    def on_train_begin(self, logs=None):
        self.wait = self.cooldown_counter = 0
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        _log_learning_rates(logs, self.model.optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                reduced = False
                for name, optimizer in _learning_rate_owners(self.model.optimizer):
                    old_lr = float(optimizer.learning_rate)
                    if old_lr > self.min_lr:
                        new_lr = max(old_lr * self.factor, self.min_lr)
                        optimizer.learning_rate = new_lr
                        reduced = True
                        if self.verbose > 0:
                            which = f" {name}" if name else ""
                            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{which} learning rate to {new_lr}.")
                if reduced:
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch start to ``schedule(epoch, lr)`` (or ``schedule(epoch)``)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        for name, optimizer in _learning_rate_owners(self.model.optimizer):
            current = float(optimizer.learning_rate)
            try:
                learning_rate = self.schedule(epoch, current)
            except TypeError:  # the old signature: schedule(epoch)
                learning_rate = self.schedule(epoch)
            if not isinstance(learning_rate, (int, float)) or isinstance(learning_rate, bool):
                raise ValueError(f'The output of the "schedule" function should be a float. Got: {learning_rate!r}')
            optimizer.learning_rate = float(learning_rate)
            if self.verbose > 0:
                which = f" {name}" if name else ""
                print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting{which} learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            _log_learning_rates(logs, self.model.optimizer)


def _learning_rate_owners(optimizer):
    """(name, optimizer) for each learning rate a callback adjusts: a MultiOptimizer's inner optimizers, by
    name, as Keras's callbacks walk them; else the optimizer itself (name None)."""
    if hasattr(optimizer, "optimizers"):
        return [(inner.name, inner) for inner in optimizer.optimizers]
    return [(None, optimizer)]


def _log_learning_rates(logs, optimizer):
    """``logs["learning_rate"]``, or ``logs["learning_rate_<name>"]`` per inner optimizer (Keras's keys)."""
    for name, owner in _learning_rate_owners(optimizer):
        logs["learning_rate" if name is None else f"learning_rate_{name}"] = float(owner.learning_rate)


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite (reads the loss after every batch)."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Streams each epoch's logs to a CSV file: an ``epoch`` column then the sorted metric names (written by
    process 0 alone under a distribution)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys = self.writer = self.file = None

    def on_train_begin(self, logs=None):
        if not process_group.is_writing_process():
            return
        append = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self.file = open(self.filename, "a" if append else "w", newline="")
        self.keys, self.writer, self._has_header = None, None, append

    def on_epoch_end(self, epoch, logs=None):
        if self.file is None:
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch"] + self.keys, delimiter=self.sep)
            if not self._has_header:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{key: logs.get(key, "NA") for key in self.keys}})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
        self.file = self.writer = None
