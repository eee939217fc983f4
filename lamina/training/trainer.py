"""The training API of ``Model``, as Keras's Trainer: ``compile``, the per-batch steps, and the loops.

``fit``/``evaluate``/``predict`` call ``train_step``/``test_step``/``predict_step`` once per batch;
a subclass overrides any of them (or ``compute_loss``/``compute_metrics``) and keeps everything
around them: callbacks, the progress bar, ``History``, ``stop_training`` and the logs a step returns.
A step receives the batch as Keras packs it: ``x`` alone, ``(x, y)`` or ``(x, y, sample_weight)``.

PyTorch has no implicit gradient tape, so a custom ``train_step`` is written as on Keras's torch
backend (docs/training.md)::

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        weights = self.trainable_weights
        self.optimizer.apply([w.value.grad for w in weights], weights)
        ...
        return {m.name: m.result() for m in self.metrics}

Nothing in a step reads a tensor back to Python: the logs a step returns are read only when a
callback (the progress bar, History at the end of an epoch) looks at them.
"""

import functools
import inspect
import itertools
import logging
import sys
import warnings

import torch

from lamina import config, losses, optimizers, tree
from lamina import metrics as metrics_module
from lamina.callbacks import CallbackList, History, LazyLogs, ProgbarLogger, pythonify_logs
from lamina.distribution.coordinator import coordinator as distribution_coordinator
from lamina.dtypes import standardize_dtype
from lamina.serialization import serialize_keras_object
from lamina.symbolic.keras_tensor import KerasTensor
from lamina.training import arguments, compiled
from lamina.training import data as data_module
from lamina.training.compile_utils import CompileLoss, CompileMetrics, MetricResults, metric_names

logger = logging.getLogger("lamina")


class Trainer:
    """Keras's training methods for ``Model``."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.stop_evaluating = False
        self.stop_predicting = False
        self.history = None
        self.steps_per_execution = 1
        self.jit_compile = False
        self._jit_compile_auto = False
        self.run_eagerly = False
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._compile_config = None
        self._initial_epoch = None
        self.train_function = self.test_function = self.predict_function = None
        self._compute_loss_has_training_arg = "training" in inspect.signature(self.compute_loss).parameters

    def __getstate__(self):
        """A copy or an unpickled model builds its own step functions: the built ones close over this model."""
        state = super().__getstate__()
        state.update(train_function=None, test_function=None, predict_function=None)
        return state

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Configures training: optimizer, loss(es), metrics, by name or object (per output for several outputs).

        ``optimizer`` may also be any ``torch.optim.Optimizer``. With a float16 mixed-precision policy
        and ``auto_scale_loss``, the optimizer is wrapped in a ``LossScaleOptimizer``, as Keras does.

        ``jit_compile=True`` compiles the whole train, test and predict steps with ``torch.compile``
        (forward, loss, backward, optimizer update, metrics), once per model and input signature, a
        partial last batch included (the bound and its exceptions: lamina/training/compiled.py); a
        compiler failure is logged once and the model runs eagerly. ``run_eagerly=True`` runs everything
        eagerly and wins over ``jit_compile=True`` (with Keras's warning).

        ``"auto"`` (Keras's default) measures, per fit (lamina/training/compiled.py, ``MeasuredStep``): the train
        step runs eagerly and is timed; it is compiled only when the eager steps still to run would take at
        least 10 minutes, and kept compiled only when its compiled steps, timed in turn, run at least 1.1x as
        fast; evaluate and predict stay eager. The rule comes from bench/jit_compile.py (2 x86-64 cores,
        "Intel(R) Xeon(R) Processor", 1 thread, torch 2.13 CPU; compiled speed over eager): an MLP 16-32-32-1
        at batch 8 fits 1.9-2.4x as fast but predicts 0.31-0.38x as fast; a CNN on 28x28x1 at batch 64 fits
        1.03-1.07x and predicts 1.3-1.4x as fast. Compiling the fit step costs 19 s (MLP) and 23 s (CNN) on a
        first run, 4-5 s with PyTorch's on-disk cache, and a compiled step saves 0.2-0.45 ms: compiling
        unasked pays only in long fits, where it costs a few percent of the fit at most. A compiled step's
        numbers may differ from the eager step's in the last bits (inductor fuses operations). CUDA was not
        measured in this project; there ``"auto"`` stays eager, as on Keras's torch backend.
        """
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int) \
                or steps_per_execution < 1:
            raise ValueError("compile: `steps_per_execution` must be a positive int. "
                             f"Received: steps_per_execution={steps_per_execution!r}")
        self.optimizer = optimizers.get(optimizer)
        if auto_scale_loss and self._computes_in_float16() \
                and not isinstance(self.optimizer, optimizers.LossScaleOptimizer):
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
        names = self._output_names()
        self.loss = loss
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        # compile's own metrics are not tracked as the model's attribute metrics (Keras compiles with
        # no_automatic_dependency_tracking): a second compile must replace them, not add to them
        object.__setattr__(self, "_compile_metrics", CompileMetrics(metrics, weighted_metrics, names)
                           if metrics is not None or weighted_metrics is not None else None)
        object.__setattr__(self, "_loss_tracker", metrics_module.Mean(name="loss"))
        self.run_eagerly = bool(run_eagerly)
        self.jit_compile = compiled.resolve(jit_compile, self.run_eagerly)
        self._jit_compile_auto = jit_compile == "auto" and not self.run_eagerly
        self.steps_per_execution = steps_per_execution
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
                                "jit_compile": jit_compile}
        self.train_function = self.test_function = self.predict_function = None
        self.stop_training = False
        self.compiled = True

    def _computes_in_float16(self):
        return any(layer.dtype_policy.compute_dtype == "float16" for layer in self._flatten_layers())

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
        config = dict(self._compile_config, optimizer=self.optimizer)
        if not hasattr(self.optimizer, "get_config"):
            del config["optimizer"]  # a PyTorch optimizer has no Keras config (docs/training.md)
        return {key: serialize_keras_object(value) for key, value in config.items()}

    def compile_from_config(self, config):
        """Compiles from ``get_compile_config()``'s output. A model whose class overrides ``compile`` is left
        uncompiled with Keras's warning (its ``compile`` may take other arguments): such a class overrides
        ``get_compile_config``/``compile_from_config`` too, or the caller compiles after loading."""
        if type(self).compile is not Trainer.compile:
            warnings.warn("`compile()` was not called as part of model loading because the model's `compile()` "
                          "method is custom. All subclassed Models that have `compile()` overridden should also "
                          "override `get_compile_config()` and `compile_from_config(config)`. Alternatively, you "
                          "can call `compile()` manually after loading.", stacklevel=2)
            return
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
            config[key] = deserialize(config.get(key), metrics_module.get)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_weights)

    def _assert_compiled(self, method):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before using the model in `{method}()`.")

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self):
        """As Keras 3: the loss tracker, the compiled metrics (one ``CompileMetrics``), the per-output loss
        trackers, then the metrics the model and its layers keep as attributes (a nested model's own
        compiled metrics excluded)."""
        found = []
        if self.compiled:
            found.append(self._loss_tracker)
            if self._compile_metrics is not None:
                found.append(self._compile_metrics)
            if self._compile_loss is not None:
                found.extend(self._compile_loss.trackers)
        for layer in self._flatten_layers():
            if layer is self or not isinstance(layer, Trainer):
                found.extend(metric for metric in layer._tracked_metrics if metric not in found)
        return found

    @property
    def metrics_names(self):
        """The names the metrics report under, in ``evaluate``'s order: "loss", each compiled metric's own
        name (Keras 2's names, where Keras 3 says "compile_metrics"), the per-output losses, the rest."""
        names = metric_names(self.metrics)
        losses = self._compile_loss.trackers if self.compiled and self._compile_loss is not None else []
        loss_names = [tracker.name for tracker in losses]
        return names[:1] + loss_names + [name for name in names[1:] if name not in loss_names]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    def get_metrics_result(self):
        """The metrics' results by name, as tensors; computed when first read."""
        return MetricResults(self)

    # ------------------------------------------------------------------ the per-batch steps
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus ``self.losses`` (regularization, activity and ``add_loss`` terms).

        Override it for a custom loss; raises ValueError when there is no loss at all.
        """
        total = self._compile_loss(y, y_pred, sample_weight) if self._compile_loss is not None else None
        extra = self.losses
        if extra:
            added = torch.stack([value.float().sum() for value in extra]).sum()
            total = added if total is None else total + added
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    def _compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """``compute_loss``, for overrides written before Keras 3.3 added its ``training`` argument."""
        if self._compute_loss_has_training_arg:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics; returns ``get_metrics_result()`` (the logs of the step)."""
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def train_step(self, data):
        """One update on a batch: forward, loss, backward, ``optimizer.apply``; returns the logs."""
        x, y, sample_weight = data_module.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        weights = self.trainable_weights
        loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        self._loss_tracker.update_state(loss, sample_weight=data_module.batch_size_of(x))
        if weights:
            if self.optimizer is None:
                raise ValueError(f"Model '{self.name}' was compiled without an optimizer; pass one to compile() "
                                 "to train it.")
            self.optimizer.apply(compiled.gradients(self.optimizer.scale_loss(loss), weights), weights)
        else:
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """Loss and metrics on a batch, without updating weights; returns the logs."""
        x, y, sample_weight = data_module.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        if self._has_loss():
            loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
            self._loss_tracker.update_state(loss, sample_weight=data_module.batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _has_loss(self):
        """Whether ``compute_loss`` has something to compute (``evaluate`` also works with metrics only)."""
        return type(self).compute_loss is not Trainer.compute_loss or self._compile_loss is not None \
            or bool(self.losses)

    def predict_step(self, data):
        """The model's outputs for a batch."""
        x, _, _ = data_module.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def make_train_function(self, force=False):
        """The function ``fit`` calls per batch: ``train_step`` (under ``torch.compile`` with ``jit_compile``)."""
        if self.train_function is None or force:
            self.train_function = compiled.MeasuredStep(self.train_step, self) if self._jit_compile_auto \
                else self._step_function(self.train_step)
        return self.train_function

    def make_test_function(self, force=False):
        if self.test_function is None or force:
            self.test_function = _without_autograd(self._step_function(self.test_step), inference=False)
        return self.test_function

    def make_predict_function(self, force=False):
        if self.predict_function is None or force:
            self.predict_function = _without_autograd(self._step_function(self.predict_step), inference=True)
        return self.predict_function

    def _step_function(self, step):
        """``step``, compiled whole when ``jit_compile`` (lamina/training/compiled.py)."""
        return compiled.CompiledStep(step, self) if self.jit_compile else step

    def _prepare(self, adapter=None):
        """Builds what the loop needs before its first batch, as Keras's symbolic build: the model and the
        compiled metrics (from the shapes of a first batch of arrays), and the optimizer. Returns the device
        batches are moved to: the model's, read now (a model moved between two fits moves its batches)."""
        unbuilt_metrics = self._compile_metrics is not None and not self._compile_metrics.built
        if (not self.built or unbuilt_metrics) and isinstance(adapter, data_module.ArrayAdapter) and adapter.size:
            x, y, _ = data_module.unpack_x_y_sample_weight(adapter.first_batch())
            try:
                self._build_symbolically(x, y, unbuilt_metrics)
            except Exception as error:  # noqa: BLE001 - any failure: the first batch builds them eagerly
                logger.debug("Model '%s' could not be built symbolically (%s); the first batch builds it.",
                             self.name, error)
        if self.optimizer is not None and self.built and not self.optimizer.built:
            self.optimizer.build(self.trainable_weights)
        return self._device() or torch.device("cpu")

    def _build_symbolically(self, x, y, build_metrics):
        specs = tree.map_structure(lambda t: KerasTensor((None,) + tuple(t.shape[1:]), dtype=standardize_dtype(t.dtype)),
                                   x)
        if not self.built:
            self.build(tree.map_structure(lambda spec: spec.shape, specs))
        if build_metrics and y is not None:
            self._compile_metrics.build(y, self.compute_output_spec(specs))

    def _get_metrics_result_or_logs(self, logs):
        """The model's metrics when the step's logs name exactly them (Keras's rule; a nested dict, such as
        ``{m.name: m.result() for m in self.metrics}`` gives, names its keys), else the logs. (Under a
        distribution the metrics are then read over all processes.)"""
        results = self.get_metrics_result()
        if isinstance(logs, MetricResults) or isinstance(logs, dict) and set(_log_names(logs)) == set(results):
            return results
        return logs

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains for ``epochs`` epochs; returns the ``History`` callback (see Keras ``Model.fit``)."""
        self._assert_compiled("fit")
        batch_size = arguments.positive_int_or_none("fit", "batch_size", batch_size)
        epochs = arguments.non_negative_int("fit", "epochs", epochs)
        initial_epoch = arguments.non_negative_int("fit", "initial_epoch", initial_epoch)
        steps_per_epoch = arguments.positive_int_or_none("fit", "steps_per_epoch", steps_per_epoch)
        validation_steps = arguments.positive_int_or_none("fit", "validation_steps", validation_steps)
        validation_batch_size = arguments.positive_int_or_none("fit", "validation_batch_size", validation_batch_size)
        validation_split = arguments.validation_split("fit", validation_split)
        validation_freq = arguments.validation_freq("fit", validation_freq)
        verbose = arguments.verbose("fit", verbose)
        callbacks = arguments.callbacks("fit", callbacks)
        class_weight = arguments.class_weight("fit", class_weight)
        if validation_split and validation_data is None:
            adapter = data_module.make_adapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle,
                                               class_weight)
            if not isinstance(adapter, data_module.ArrayAdapter):
                raise ValueError("`validation_split` is only supported for arrays and tensors; pass "
                                 f"`validation_data` instead. Received x of type {type(x).__name__}.")
            train, validation = adapter.split(validation_split, validation_batch_size)
            train.num_batches = steps_per_epoch or train.num_batches
            validation = data_module.limit_steps(validation)
        else:
            train = data_module.make_adapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight)
            validation = None
            if validation_data is not None:
                validation = data_module.make_adapter(*data_module.unpack_x_y_sample_weight(validation_data),
                                                      batch_size=validation_batch_size or batch_size,
                                                      steps=validation_steps)
                validation = data_module.limit_steps(validation)
        train = data_module.limit_steps(train)
        if config.max_epochs() and config.max_epochs() < epochs:
            warnings.warn(f"Limiting epochs to {config.max_epochs()}", stacklevel=2)
            epochs = config.max_epochs()
        distribution = distribution_coordinator(self)  # a no-op without a distribution of several processes
        verbose = distribution.verbose(_resolve_verbose(verbose))
        callbacks = _callback_list(callbacks, self, add_history=True, verbose=verbose, epochs=epochs,
                                   steps=train.num_batches)
        device = self._prepare(train)
        train, validation = distribution.distribute(train), distribution.distribute(validation)
        step_function = self.make_train_function()
        if isinstance(step_function, compiled.MeasuredStep):
            step_function.expect(None if train.num_batches is None else train.num_batches * (epochs - initial_epoch))
        train_function = distribution.train_step(step_function)
        self.stop_training = False
        self._initial_epoch = None
        callbacks.on_train_begin()
        initial_epoch = self._initial_epoch if self._initial_epoch is not None else initial_epoch
        batch_logs = LazyLogs()
        training_logs = {}
        agree_per_batch = _may_stop_mid_epoch(self, callbacks)  # else the processes agree once per epoch
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            _set_training_mode(self, True)
            logs = {}
            for begin, end, execution in _executions(train, self.steps_per_execution):
                callbacks.on_train_batch_begin(begin)
                for data in execution:
                    logs = train_function(data_module.move(data, device))
                callbacks.on_train_batch_end(end, batch_logs.refresh(logs))
                if agree_per_batch:
                    self.stop_training = distribution.any_process(self.stop_training)
                if self.stop_training:
                    break
            epoch_logs = distribution.reduce_logs(lambda: pythonify_logs(self._get_metrics_result_or_logs(logs)))
            _set_training_mode(self, False)
            if validation is not None and _should_validate(epoch, validation_freq):
                validation_logs = self._run_evaluation(validation, callbacks, device, distribution)
                epoch_logs.update({f"val_{name}": value for name, value in validation_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            self.stop_training = distribution.any_process(self.stop_training)
            if self.stop_training:
                break
        if isinstance(self.optimizer, optimizers.Optimizer) and epochs > initial_epoch:
            self.optimizer.finalize_variable_values(self.trainable_weights)
        callbacks.on_train_end(training_logs)
        return self.history

    # ------------------------------------------------------------------ evaluate / predict
    def _run_evaluation(self, adapter, callbacks, device, distribution):
        test_function = distribution.test_step(self.make_test_function())
        self.reset_metrics()
        self.stop_evaluating = False
        callbacks.on_test_begin()
        logs = {}
        with torch.no_grad():  # entered once, as predict's inference_mode
            for begin, end, execution in _executions(adapter, self.steps_per_execution):
                callbacks.on_test_batch_begin(begin)
                for data in execution:
                    logs = test_function(data_module.move(data, device))
                callbacks.on_test_batch_end(end)
                if self.stop_evaluating:
                    break
        logs = distribution.reduce_logs(lambda: pythonify_logs(self._get_metrics_result_or_logs(logs)))
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics on the data: a scalar, a list in ``metrics_names`` order, or a dict."""
        self._assert_compiled("evaluate")
        batch_size = arguments.positive_int_or_none("evaluate", "batch_size", batch_size)
        steps = arguments.positive_int_or_none("evaluate", "steps", steps)
        verbose = arguments.verbose("evaluate", verbose)
        callbacks = arguments.callbacks("evaluate", callbacks)
        adapter = data_module.limit_steps(data_module.make_adapter(x, y, sample_weight, batch_size, steps))
        distribution = distribution_coordinator(self)
        verbose = distribution.verbose(_resolve_verbose(verbose))
        callbacks = _callback_list(callbacks, self, verbose=verbose, steps=adapter.num_batches, mode="test")
        device = self._prepare(adapter)
        _set_training_mode(self, False)
        logs = self._run_evaluation(distribution.distribute(adapter), callbacks, device, distribution)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x``, batched without autograd, as NumPy arrays (structured like the outputs)."""
        batch_size = arguments.positive_int_or_none("predict", "batch_size", batch_size)
        steps = arguments.positive_int_or_none("predict", "steps", steps)
        verbose = arguments.verbose("predict", verbose)
        callbacks = arguments.callbacks("predict", callbacks)
        adapter = data_module.limit_steps(data_module.make_adapter(x, batch_size=batch_size, steps=steps))
        distribution = distribution_coordinator(self)
        verbose = distribution.verbose(_resolve_verbose(verbose))
        callbacks = _callback_list(callbacks, self, verbose=verbose, steps=adapter.num_batches, mode="predict")
        device = self._device() or torch.device("cpu")
        adapter = distribution.distribute(adapter)
        predict_function = distribution.predict_step(self.make_predict_function())
        _set_training_mode(self, False)
        self.stop_predicting = False
        outputs = []
        callbacks.on_predict_begin()
        with torch.inference_mode():  # entered once: the step's own inference_mode is then nearly free
            batch_begin = bool(callbacks.listeners("on_predict_batch_begin"))
            batch_end = bool(callbacks.listeners("on_predict_batch_end"))  # else no batch's outputs are joined
            for begin, end, execution in _executions(adapter, self.steps_per_execution):
                if batch_begin:
                    callbacks.on_predict_batch_begin(begin)
                for data in execution:
                    outputs.append(predict_function(data_module.move(data, device)))
                if batch_end:
                    batch_outputs = outputs[-1] if len(execution) == 1 else _concatenated(outputs[-len(execution):])
                    callbacks.on_predict_batch_end(end, {"outputs": batch_outputs})
                if self.stop_predicting:
                    break
        callbacks.on_predict_end()
        if not outputs:
            raise ValueError("predict() received no batches: the input data is empty.")
        return _to_numpy(distribution.gather_predictions(outputs))

    def _flatten_metrics_in_order(self, logs):
        """The logs as a list in ``metrics_names`` order (then any other keys, sorted); one value alone."""
        names = [name for name in self.metrics_names if name in logs]
        values = [logs[name] for name in names] + [logs[key] for key in sorted(logs) if key not in names]
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ single batches
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One update on one batch; returns its loss and metrics (reset before the batch, as Keras 3)."""
        self._assert_compiled("train_on_batch")
        distribution = distribution_coordinator(self)
        data, device = self._single_batch(distribution, x, y, sample_weight, class_weight)
        self.reset_metrics()
        logs = distribution.train_step(self.make_train_function())(data_module.move(data, device))
        logs = distribution.reduce_logs(lambda: pythonify_logs(logs))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch (metrics reset first)."""
        self._assert_compiled("test_on_batch")
        distribution = distribution_coordinator(self)
        data, device = self._single_batch(distribution, x, y, sample_weight)
        self.reset_metrics()
        logs = distribution.test_step(self.make_test_function())(data_module.move(data, device))
        logs = distribution.reduce_logs(lambda: pythonify_logs(logs))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x):
        """The outputs for one batch, as NumPy arrays."""
        distribution = distribution_coordinator(self)
        predict_function = distribution.predict_step(self.make_predict_function())
        data, device = self._single_batch(distribution, x)
        return _to_numpy(distribution.gather_predictions([predict_function(data_module.move(data, device))]))

    def _single_batch(self, distribution, x, y=None, sample_weight=None, class_weight=None):
        """One whole batch (this process's part of it, under a distribution), packed as Keras packs it, and
        the device to run it on."""
        adapter = data_module.make_adapter(x, y, sample_weight, class_weight=class_weight)
        if isinstance(adapter, data_module.ArrayAdapter):
            adapter.batch_size, adapter.num_batches = max(adapter.size, 1), 1
        device = self._prepare(adapter)
        return next(iter(distribution.distribute(adapter))), device


def _callback_list(callbacks, model, add_history=False, verbose=1, **params):
    """``callbacks`` as a CallbackList with the progress bar (and History in ``fit``) added, as Keras."""
    if isinstance(callbacks, CallbackList):
        return callbacks
    return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0, model=model,
                        verbose=verbose, **params)


def _may_stop_mid_epoch(model, callbacks):
    """Whether ``stop_training`` can change inside an epoch: a custom ``train_step``, or a callback with its own
    epoch-begin or batch hook (History and the progress bar never set it). Under several processes only then
    do they agree on it after every batch (one collective per step); at every epoch's end they always do."""
    if type(model).train_step is not Trainer.train_step:
        return True
    hooks = ("on_epoch_begin", "on_train_batch_begin", "on_train_batch_end")
    return any(not isinstance(c, (History, ProgbarLogger)) for c in callbacks.listeners(*hooks))


def _log_names(logs):
    """The names of a step's logs, nested dicts flattened (as ``pythonify_logs`` flattens them)."""
    return [name for key, value in logs.items()
            for name in (_log_names(value) if isinstance(value, dict) else [key])]


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _executions(batches, steps_per_execution):
    """``(begin, end, batches)`` per execution of ``steps_per_execution`` steps, as Keras's epoch iterator
    numbers them (``end = begin + steps_per_execution - 1``, the last execution possibly shorter): the
    callbacks see one batch per execution, which is what ``steps_per_execution > 1`` saves."""
    iterator = iter(batches)
    if steps_per_execution == 1:  # the common case, without slicing the iterator
        for step, batch in enumerate(iterator):
            yield step, step, (batch,)
        return
    for begin in itertools.count(0, steps_per_execution):
        execution = list(itertools.islice(iterator, steps_per_execution))
        if not execution:
            return
        yield begin, begin + steps_per_execution - 1, execution


def _concatenated(batch_outputs):
    """Outputs of several batches (each structured like the model's outputs) joined along the batch axis."""
    if type(batch_outputs[0]) is torch.Tensor:
        return torch.cat(batch_outputs)
    flat = [tree.flatten(outputs) for outputs in batch_outputs]
    return tree.pack_sequence_as(batch_outputs[0], [torch.cat(parts) for parts in zip(*flat)])


def _set_training_mode(model, training):
    """``model.train(training)``, skipped when every module is already in that mode (setting the flag on each
    module costs more than a small model's batch)."""
    if any(module.training is not training for module in model.modules()):
        model.train(training)


def _without_autograd(step, inference):
    """``step`` under ``torch.inference_mode()`` (``inference``) or ``torch.no_grad()``; entering the context
    costs more than a small model's batch, so a caller already inside one (``predict``'s loop) skips it."""
    context = torch.inference_mode if inference else torch.no_grad

    @functools.wraps(step)
    def run(data):
        if torch.is_inference_mode_enabled() or not (inference or torch.is_grad_enabled()):
            return step(data)
        with context():
            return step(data)

    return run


def _to_numpy(outputs):
    """Per-batch output structures concatenated into NumPy arrays (half floats read as float32)."""
    joined = _concatenated(outputs)
    return tree.map_structure(lambda t: (t.float() if t.is_floating_point() and t.itemsize < 4 else t).cpu().numpy(),
                              joined)
