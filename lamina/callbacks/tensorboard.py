"""``TensorBoard``: event files TensorBoard reads, written through ``torch.utils.tensorboard``.

The layout and tags are Keras's: ``<log_dir>/train`` and ``<log_dir>/validation``; scalars
``epoch_<metric>`` per epoch (``epoch_learning_rate`` too), ``batch_<metric>`` every ``update_freq``
batches, ``evaluation_<metric>_vs_iterations`` after each evaluation; weight histograms
``<weight path>/histogram`` (and ``/image`` with ``write_images``) every ``histogram_freq`` epochs; the
model graph (traced by PyTorch from the model's inputs) and its Keras config as text; embeddings
every ``embeddings_freq`` epochs. Needs the ``tensorboard`` package (``pip install lamina[tensorboard]``).
"""

import os
import time
import warnings

import torch

from lamina import config
from lamina.callbacks.base import Callback


def _summary_writer(log_dir):
    try:  # optional dependency: imported only when a TensorBoard callback writes
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ImportError("The TensorBoard callback needs the `tensorboard` package: "
                          "`pip install tensorboard` (or `pip install lamina[tensorboard]`).") from error
    return SummaryWriter(log_dir=log_dir)


class TensorBoard(Callback):
    """Logs training to TensorBoard, as ``keras.callbacks.TensorBoard``.

    Args:
        log_dir: where ``train/`` and ``validation/`` event files go.
        histogram_freq: write weight histograms every this many epochs (0: never).
        write_graph: write the model graph and its config.
        write_images: also write weights as images (with ``histogram_freq``).
        write_steps_per_second: log ``epoch_steps_per_second`` (and per batch with ``update_freq``).
        update_freq: "epoch", "batch" (= 1) or an int: write ``batch_*`` scalars every that many batches.
        profile_batch: must be 0 (as in Keras on the torch backend, profiling is not available).
        embeddings_freq: write the ``Embedding`` layers' matrices every this many epochs (0: never).
        embeddings_metadata: a file of labels, or a dict from layer name to one, for the projector.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        if profile_batch:
            raise ValueError("Profiling is not yet available with the torch backend. Received: "
                             f"profile_batch={profile_batch} (must be 0)")
        update_freq = 1 if update_freq == "batch" else update_freq
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError("TensorBoard: update_freq must be 'epoch', 'batch' or a positive int. "
                             f"Received: update_freq={update_freq!r}")
        self.log_dir = str(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._global_test_batch = 0
        self._graph_written = False

    def set_model(self, model):
        super().set_model(model)
        self._writers = {}
        self._graph_written = not self.write_graph

    def _writer(self, kind):
        if kind not in self._writers:
            self._writers[kind] = _summary_writer(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ------------------------------------------------------------------ the graph
    def _write_graph(self):
        writer = self._writer("train")
        writer.add_text("keras", f"```\n{self.model.to_json(indent=2)}\n```", global_step=0)
        inputs = getattr(self.model, "inputs", None)
        if not inputs:
            return
        try:
            parameter = next(self.model.parameters(), None)
            device = parameter.device if parameter is not None else torch.device("cpu")
            examples = [torch.zeros((1,) + tuple(d or 1 for d in t.shape[1:]), device=device,
                                    dtype=getattr(torch, t.dtype)) for t in inputs]
            was_training = self.model.training
            self.model.eval()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's warnings about Python control flow
                writer.add_graph(self.model, examples[0] if len(examples) == 1 else [examples])
            self.model.train(was_training)
        except Exception as error:  # a model PyTorch cannot trace still trains; say why there is no graph
            warnings.warn(f"TensorBoard: the model graph was not written ({type(error).__name__}: {error}).",
                          stacklevel=2)

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._previous_iterations = 0

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._epoch_start_time = time.time()
            self._previous_iterations = int(self.model.optimizer.iterations)

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def _should_record_batch(self):
        return self.update_freq != "epoch" and self._global_train_batch % self.update_freq == 0

    def on_train_batch_end(self, batch, logs=None):
        if not self._graph_written:
            self._write_graph()
            self._graph_written = True
        if not self._should_record_batch():
            return
        writer = self._writer("train")
        if self.write_steps_per_second:
            writer.add_scalar("batch_steps_per_second", 1.0 / (time.time() - self._batch_start_time),
                              self._global_train_batch)
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), self._global_train_batch)

    def on_test_begin(self, logs=None):
        self._global_test_batch = 0

    def on_test_batch_end(self, batch, logs=None):
        self._global_test_batch += 1

    def on_test_end(self, logs=None):
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is None:
            return
        writer = self._writer("validation")
        for name, value in (logs or {}).items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), int(iterations))
        writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)
        for writer in self._writers.values():
            writer.flush()

    # ------------------------------------------------------------------ what is written
    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        rate = getattr(optimizer, "learning_rate", None)
        return None if rate is None else float(rate)

    def _log_epoch_metrics(self, epoch, logs):
        if not logs:
            return
        train_logs = {name: value for name, value in logs.items() if not name.startswith("val_")}
        validation_logs = {name[4:]: value for name, value in logs.items() if name.startswith("val_")}
        learning_rate = self._learning_rate()
        if learning_rate is not None:
            train_logs["learning_rate"] = learning_rate
        if self.write_steps_per_second:
            steps = int(self.model.optimizer.iterations) - self._previous_iterations
            train_logs["steps_per_second"] = steps / (time.time() - self._epoch_start_time)
        for kind, values in (("train", train_logs), ("validation", validation_logs)):
            if values:
                writer = self._writer(kind)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = getattr(weight, "path", None) or f"{layer.name}/{weight.name}"
                value = torch.as_tensor(weight.numpy() if hasattr(weight, "numpy") else weight.detach().cpu())
                writer.add_histogram(f"{name.replace(':', '_')}/histogram", value, epoch)
                if self.write_images:
                    image = _weight_image(value)
                    if image is not None:
                        writer.add_images(f"{name.replace(':', '_')}/image", image, epoch, dataformats="NHWC")

    def _log_embeddings(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            if type(layer).__name__ != "Embedding":
                continue
            metadata = self.embeddings_metadata
            if isinstance(metadata, dict):
                metadata = metadata.get(layer.name)
            labels = None
            if metadata is not None:
                with open(metadata, encoding="utf-8") as f:
                    labels = [line.rstrip("\n") for line in f]
            writer.add_embedding(torch.as_tensor(layer.get_weights()[0]), metadata=labels, global_step=epoch,
                                 tag=layer.name)


def _weight_image(weight):
    """A weight as Keras draws it: a bias as a 1-pixel-high image, a matrix as one image (wider than
    tall), a 3-D kernel as one image per output channel; None for shapes Keras does not draw."""
    image = weight.squeeze()
    if image.ndim == 1:
        image = image.reshape(1, image.shape[0], 1, 1)
    elif image.ndim == 2:
        if image.shape[0] > image.shape[1]:
            image = image.T
        image = image.reshape(1, image.shape[0], image.shape[1], 1)
    elif image.ndim == 3:
        if config.image_data_format() == "channels_last":
            image = image.permute(2, 0, 1)
        image = image.reshape(image.shape[0], image.shape[1], image.shape[2], 1)
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        return None
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else torch.zeros_like(image)
