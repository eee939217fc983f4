"""The training API mixed into Model: compile, fit, evaluate, predict, saving, with Keras semantics."""

import sys

import torch

from lamina.engine import tree
from lamina.training import data as data_module
from lamina.training.step import Steps


class Trainer:
    """Keras's training methods for ``Model``."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._compile_config = None
        self._steps = None
        self._initial_epoch = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, jit_compile=False, steps_per_execution=1):
        """Configures training: optimizer, loss(es), metrics, by name or object (per output for several outputs).

        ``jit_compile=True`` runs the forward pass and loss under ``torch.compile`` (eager fallback, logged).
        ``run_eagerly`` and ``steps_per_execution`` are accepted for Keras compatibility: steps always run
        eagerly one batch at a time unless ``jit_compile``.
        """
        from lamina import metrics as metrics_module
        from lamina import optimizers
        from lamina.training.compile_utils import CompileLoss, CompileMetrics

        self.optimizer = optimizers.get(optimizer)
        names = self._output_names()
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics, names)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.jit_compile = bool(jit_compile)
        self.run_eagerly = bool(run_eagerly)
        self.steps_per_execution = steps_per_execution
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
                                "jit_compile": jit_compile}
        self._steps = None
        self.compiled = True

    def _output_names(self):
        names = getattr(self, "output_names", None)
        if names:
            return list(names)
        layers = getattr(self, "layers", None)
        return [layers[-1].name] if layers else ["output"]

    def get_compile_config(self):
        """The ``compile`` arguments in Keras-form (serialized objects), or None if not compiled."""
        if not self.compiled:
            return None
        from lamina.saving.serialization import serialize_keras_object

        config = dict(self._compile_config, optimizer=self.optimizer)
        if not hasattr(self.optimizer, "get_config"):
            del config["optimizer"]  # a PyTorch optimizer has no Keras config (docs/training.md)
        return {key: serialize_keras_object(value) for key, value in config.items()}

    def compile_from_config(self, config):
        """Compiles from ``get_compile_config()``'s output."""
        from lamina import losses, metrics, optimizers

        def deserialize(value, get):
            if isinstance(value, dict) and "class_name" not in value:
                return {key: deserialize(item, get) for key, item in value.items()}
            if isinstance(value, list):
                return [deserialize(item, get) for item in value]
            return value if value is None or isinstance(value, str) else get(value)

        config = dict(config)
        if "optimizer" not in config:
            return  # compiled with a PyTorch optimizer: the caller compiles again with one
        config["optimizer"] = optimizers.get(config["optimizer"])
        config["loss"] = deserialize(config.get("loss"), losses.get)
        for key in ("metrics", "weighted_metrics"):
            config[key] = deserialize(config.get(key), metrics.get)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_weights)

    def _assert_compiled(self, method):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before using the model in `{method}()`.")

    def _get_steps(self):
        if self._steps is None:
            self._steps = Steps(self, jit_compile=getattr(self, "jit_compile", False))
            if not self.optimizer.built:
                self.optimizer.build(self.trainable_weights)
        return self._steps

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self):
        """The loss tracker, per-output loss trackers and compiled metrics (once built)."""
        if not self.compiled:
            return []
        found = [self._loss_tracker] + (self._compile_loss.trackers if self._compile_loss else [])
        return found + self._compile_metrics.metrics

    @property
    def metrics_names(self):
        return [metric.name for metric in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    def _metric_tensors(self):
        return {metric.name: metric.result() for metric in self.metrics}

    def _metric_values(self):
        """The metrics as Python floats, read from the device in one transfer."""
        tensors = self._metric_tensors()
        if not tensors:
            return {}
        values = torch.stack([torch.as_tensor(v, dtype=torch.float32).reshape(()).cpu() for v in tensors.values()])
        return dict(zip(tensors, values.tolist()))

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_freq=1):
        """Trains for ``epochs`` epochs; returns the ``History`` callback (see Keras ``Model.fit``)."""
        from lamina.callbacks import CallbackList, LazyLogs
        from lamina.memory import retain_freed_memory

        self._assert_compiled("fit")
        retain_freed_memory()
        if validation_split and validation_data is None:
            adapter = data_module.make_adapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle,
                                               class_weight)
            if not isinstance(adapter, data_module.ArrayAdapter):
                raise ValueError("`validation_split` is only supported for arrays and tensors; pass "
                                 f"`validation_data` instead. Received x of type {type(x).__name__}.")
            train, validation = adapter.split(validation_split)
            train.num_batches = steps_per_epoch or train.num_batches
        else:
            train = data_module.make_adapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight)
            validation = None
            if validation_data is not None:
                validation = data_module.make_adapter(*_unpack_validation(validation_data), batch_size=batch_size,
                                                      steps=validation_steps)
        verbose = _resolve_verbose(verbose)
        callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=epochs, steps=train.num_batches)
        steps = self._get_steps()
        self.stop_training = False
        self._initial_epoch = None
        callbacks.on_train_begin()
        initial_epoch = self._initial_epoch if self._initial_epoch is not None else initial_epoch
        batch_logs = LazyLogs(self._metric_values)
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            for index, (batch_x, batch_y, batch_weight) in enumerate(train):
                callbacks.on_train_batch_begin(index)
                steps.train(batch_x, batch_y, batch_weight)
                callbacks.on_train_batch_end(index, batch_logs.refresh())
                if self.stop_training:
                    break
            epoch_logs = self._metric_values()
            if validation is not None and _should_validate(epoch, validation_freq):
                validation_logs = self._run_evaluation(validation, callbacks)
                epoch_logs.update({f"val_{name}": value for name, value in validation_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callbacks.on_train_end(epoch_logs)
        return self.history

    # ------------------------------------------------------------------ evaluate / predict
    def _run_evaluation(self, adapter, callbacks):
        steps = self._get_steps()
        self.reset_metrics()
        callbacks.on_test_begin()
        logs = {}
        for index, (batch_x, batch_y, batch_weight) in enumerate(adapter):
            callbacks.on_test_batch_begin(index)
            steps.test(batch_x, batch_y, batch_weight)
            callbacks.on_test_batch_end(index)
        logs = self._metric_values()
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics on the data: a scalar, a list in ``metrics_names`` order, or a dict."""
        from lamina.callbacks import CallbackList

        self._assert_compiled("evaluate")
        adapter = data_module.make_adapter(x, y, sample_weight, batch_size, steps)
        verbose = _resolve_verbose(verbose)
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                 steps=adapter.num_batches, mode="test")
        logs = self._run_evaluation(adapter, callbacks)
        return _format_results(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x``, batched without autograd, as NumPy arrays (structured like the outputs)."""
        from lamina.callbacks import CallbackList

        adapter = data_module.make_adapter(x, batch_size=batch_size, steps=steps)
        verbose = _resolve_verbose(verbose)
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                 steps=adapter.num_batches, mode="predict")
        step = self._steps or Steps(self)
        outputs = []
        callbacks.on_predict_begin()
        for index, (batch_x, _, _) in enumerate(adapter):
            callbacks.on_predict_batch_begin(index)
            outputs.append(step.predict(batch_x))
            callbacks.on_predict_batch_end(index, {"outputs": outputs[-1]})
        callbacks.on_predict_end()
        if not outputs:
            raise ValueError("predict() received no batches: the input data is empty.")
        return _to_numpy(outputs)

    # ------------------------------------------------------------------ single batches
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One update on one batch; returns the running metrics (as Keras, they accumulate across calls)."""
        self._assert_compiled("train_on_batch")
        self._get_steps().train(*_single_batch(x, y, sample_weight, class_weight))
        return _format_results(self._metric_values(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch (metrics reset first)."""
        self._assert_compiled("test_on_batch")
        self.reset_metrics()
        self._get_steps().test(*_single_batch(x, y, sample_weight))
        return _format_results(self._metric_values(), return_dict)

    def predict_on_batch(self, x):
        """The outputs for one batch, as NumPy arrays."""
        x, _, _ = _single_batch(x)
        return _to_numpy([(self._steps or Steps(self)).predict(x)])

    # ------------------------------------------------------------------ saving and summary
    def save(self, filepath, overwrite=True):
        """Writes the model (config, weights, compiled state) to a ``.lamina`` zip file, atomically."""
        from lamina.saving.model_file import save_model

        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Writes the weights (Keras layouts) to a ``.weights.safetensors`` file, atomically."""
        from lamina.saving.model_file import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        """Loads weights from a ``.weights.safetensors`` file or a ``.lamina`` model file."""
        from lamina.saving.model_file import load_weights

        load_weights(self, filepath)

    def summary_string(self, line_length=None, show_trainable=False):
        """``model.summary()``'s table as a string."""
        from lamina.engine.summary import format_summary

        return format_summary(self, line_length=line_length, show_trainable=show_trainable)


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _unpack_validation(validation_data):
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        return data_module.unpack_batch(tuple(validation_data))
    return validation_data, None, None


def _single_batch(x, y=None, sample_weight=None, class_weight=None):
    """``(x, y, sample_weight)`` tensors of one whole batch."""
    adapter = data_module.make_adapter(x, y, sample_weight, class_weight=class_weight)
    if isinstance(adapter, data_module.ArrayAdapter):
        adapter.batch_size, adapter.num_batches = adapter.size, 1
    return next(iter(adapter))


def _to_numpy(outputs):
    """Per-batch output structures concatenated into NumPy arrays (half floats read as float32)."""
    flat = [torch.cat(parts) for parts in zip(*(tree.flatten(o) for o in outputs))]
    flat = [(t.float() if t.is_floating_point() and t.itemsize < 4 else t).cpu().numpy() for t in flat]
    return tree.pack_sequence_as(outputs[0], flat)


def _format_results(logs, return_dict):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
