"""The callback protocol: ``Callback`` with every Keras hook, ``CallbackList``, ``History``, ``LambdaCallback``."""

from collections.abc import MutableMapping

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin", "on_test_end",
          "on_predict_begin", "on_predict_end", "on_train_batch_begin", "on_train_batch_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class of callbacks: override the hooks you need.

    ``self.model`` is the model being trained; ``self.params`` holds ``verbose``, ``epochs`` and ``steps``.
    ``on_batch_begin``/``on_batch_end`` are the training-batch hooks' old names (Keras 2).
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_batch_begin(self, batch, logs=None):
        """Called before each training batch (alias of ``on_train_batch_begin``)."""

    def on_batch_end(self, batch, logs=None):
        """Called after each training batch (alias of ``on_train_batch_end``)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each training epoch."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of each epoch with the epoch's metrics (``val_*`` included)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before each evaluation batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after each evaluation batch."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before each prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after each prediction batch."""

    def on_train_begin(self, logs=None):
        """Called at the start of ``fit``."""

    def on_train_end(self, logs=None):
        """Called at the end of ``fit``."""

    def on_test_begin(self, logs=None):
        """Called at the start of evaluation (``evaluate`` or validation in ``fit``)."""

    def on_test_end(self, logs=None):
        """Called at the end of evaluation."""

    def on_predict_begin(self, logs=None):
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs=None):
        """Called at the end of ``predict``."""


def _overrides(callback, hook):
    method = getattr(callback, hook)
    return getattr(method, "__func__", None) is not getattr(Callback, hook)


_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


class LazyLogs(MutableMapping):
    """Batch logs computed only when a callback reads them (reading them waits for the device)."""

    def __init__(self, compute):
        self._compute = compute
        self._values = None

    def refresh(self):
        self._values = None
        return self

    def _data(self):
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key):
        return self._data()[key]

    def __setitem__(self, key, value):
        self._data()[key] = value

    def __delitem__(self, key):
        del self._data()[key]

    def __iter__(self):
        return iter(self._data())

    def __len__(self):
        return len(self._data())

    def __repr__(self):
        return repr(self._data())


class CallbackList(Callback):
    """Calls a list of callbacks; adds ``History`` and ``ProgbarLogger`` when asked, as Keras.

    Batch hooks go only to the callbacks that override them, so a fit without batch callbacks pays
    nothing per batch.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        from lamina.callbacks.progbar import ProgbarLogger

        self.callbacks = list(callbacks or [])
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        self._active = {hook: [c for c in self.callbacks if _overrides(c, hook) or
                               hook in _ALIASES and _overrides(c, _ALIASES[hook])] for hook in _HOOKS}
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_model(self, model):
        super().set_model(model)
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def on_batch_begin(self, batch, logs=None):
        self.on_train_batch_begin(batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs=logs)


def _dispatcher(hook):
    if hook.endswith(("_begin", "_end")) and ("batch" in hook or "epoch" in hook):
        def dispatch(self, index, logs=None):
            for callback in self._active[hook]:
                getattr(callback, hook)(index, logs)
    else:
        def dispatch(self, logs=None):
            for callback in self._active[hook]:
                getattr(callback, hook)(logs)
    dispatch.__name__ = hook
    return dispatch


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _dispatcher(_hook))


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` etc.; ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def set_model(self, model):
        super().set_model(model)
        model.history = self

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Accepts ``on_<hook>=function`` for every hook; ``on_train_begin``/``on_train_end`` and the like take
    ``logs``, epoch hooks ``(epoch, logs)``, batch hooks ``(batch, logs)``.
    """

    def __init__(self, **hooks):
        super().__init__()
        allowed = set(_HOOKS) | {"on_batch_begin", "on_batch_end"}
        unknown = set(hooks) - allowed
        if unknown:
            raise ValueError(f"LambdaCallback: unknown hook(s) {sorted(unknown)}. Expected some of {sorted(allowed)}.")
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)
