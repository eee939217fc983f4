"""Callbacks that write files: ModelCheckpoint and BackupAndRestore."""

import json
import os
import warnings

import torch

from lamina.callbacks.base import Callback
from lamina.callbacks.monitoring import monitor_mode
from lamina.distribution import process_group
from lamina.saving.atomic import atomic_write
from lamina.saving.api import CHECKPOINT_SUFFIXES, WEIGHTS_SUFFIXES
from lamina.saving.model_file import WEIGHTS_SUFFIX


class ModelCheckpoint(Callback):
    """Saves the model (``.lamina``, ``.keras``, ``.h5``) or its weights (``.weights.safetensors``,
    ``.weights.h5``, ``.h5``) after epochs.

    ``filepath`` may hold ``{epoch:02d}`` and log placeholders (``{val_loss:.2f}``). With
    ``save_best_only`` only improvements of ``monitor`` are saved. ``save_freq`` is ``"epoch"``
    or a number of batches.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        suffixes = WEIGHTS_SUFFIXES if save_weights_only else CHECKPOINT_SUFFIXES
        if not self.filepath.endswith(suffixes):
            raise ValueError(f"ModelCheckpoint: with save_weights_only={save_weights_only}, the filepath must end "
                             f"in one of {suffixes}. Received: filepath={self.filepath!r}")
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected 'epoch' or an integer.")
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = save_freq
        self.mode = monitor_mode(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold
        self._batches_seen = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches_seen += 1
            if self._batches_seen % self.save_freq == 0:
                # A batch's logs are each process's own: decide on process 0's, so all save (collectively) or none.
                self._save(self._epoch, batch, process_group.broadcast_object(dict(logs or {})))

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _save(self, epoch, batch, logs):
        path = self.filepath.format(epoch=epoch + 1, batch=batch, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
                return
            improved = self.best is None or (current > self.best if self.mode == "max" else current < self.best)
            if not improved:
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)


class BackupAndRestore(Callback):
    """Backs the training state up after each epoch, and resumes from it if ``fit`` was interrupted.

    The backup holds the weights, the optimizer state and torch's random state, so a resumed ``fit``
    (shuffling and dropout included) ends with the same weights as an uninterrupted one. It is deleted
    when ``fit`` completes (``delete_checkpoint=True``). Under a distribution, process 0 writes it with
    every process's random state, and each process resumes from its own.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore supports save_freq='epoch' only. Received: save_freq={save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest" + WEIGHTS_SUFFIX)
        self._state_path = os.path.join(self.backup_dir, "training_state.json")

    def on_train_begin(self, logs=None):
        if not (os.path.exists(self._weights_path) and os.path.exists(self._state_path)):
            return
        with open(self._state_path) as handle:
            state = json.load(handle)
        self.model.load_weights(self._weights_path)
        states = state.get("torch_rng_states", [state["torch_rng_state"]])
        if len(states) != process_group.num_processes():
            warnings.warn(f"BackupAndRestore: the backup was written by {len(states)} process(es) and "
                          f"{process_group.num_processes()} resume; every process resumes with process 0's random "
                          "state.", stacklevel=2)
            states = states[:1] * process_group.num_processes()
        torch.set_rng_state(torch.tensor(states[process_group.process_id()], dtype=torch.uint8))
        self.model._initial_epoch = state["epoch"] + 1

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        self.model.save_weights(self._weights_path)
        states = process_group.gather_objects(torch.get_rng_state().tolist())
        state = json.dumps({"epoch": epoch, "torch_rng_state": states[0], "torch_rng_states": states})
        process_group.write_once(lambda: atomic_write(self._state_path, lambda handle: handle.write(state.encode()),
                                                      overwrite=True))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and process_group.is_writing_process():
            for path in (self._weights_path, self._state_path):
                if os.path.exists(path):
                    os.remove(path)
