"""``CallbackList``: the callbacks of one ``fit``/``evaluate``/``predict``, and the logs they read."""

from collections.abc import Mapping, MutableMapping

import torch

from lamina.callbacks.base import HOOKS, Callback, History
from lamina.callbacks.progbar import ProgbarLogger


def _overrides(callback, hook):
    method = getattr(callback, hook)
    return getattr(method, "__func__", None) is not getattr(Callback, hook)


_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _listens(callback, hook):
    """Whether ``callback`` overrides ``hook`` (or its Keras 2 alias): only those are called."""
    return _overrides(callback, hook) or hook in _ALIASES and _overrides(callback, _ALIASES[hook])


def pythonify_logs(logs):
    """A step's logs as Keras's callbacks see them: nested dicts flattened, tensors read as Python floats
    (all in one transfer from the device). Keys keep the metrics' order ("loss" first), where Keras 3
    sorts them; History, CSVLogger and the progress bar read the same names either way."""
    flat = {}

    def collect(mapping):
        for key, value in mapping.items():
            if isinstance(value, Mapping):
                collect(value)
            else:
                flat[key] = value

    collect(logs or {})
    scalars = [key for key, value in flat.items() if isinstance(value, torch.Tensor) and value.numel() == 1]
    if scalars:
        values = torch.stack([flat[key].detach().reshape(()).float().cpu() for key in scalars]).tolist()
        flat.update(zip(scalars, values))
    return flat


class LazyDict(MutableMapping):
    """A dict computed on first access (``_compute()``), then read and written as a dict."""

    _values = None

    def _compute(self):
        raise NotImplementedError

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


class LazyLogs(LazyDict):
    """A batch's logs, read from the step's result only when a callback looks at them (reading them waits
    for the device); ``refresh(logs)`` points it at the next batch's."""

    def __init__(self):
        self._source = None

    def refresh(self, source):
        self._source, self._values = source, None
        return self

    def _compute(self):
        return pythonify_logs(self._source)


class CallbackList(Callback):
    """Calls a list of callbacks; adds ``History`` and ``ProgbarLogger`` when asked, as Keras.

    Batch hooks go only to the callbacks that override them, so a fit without batch callbacks pays
    nothing per batch.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        self._active = {hook: [c for c in self.callbacks if _listens(c, hook)] for hook in HOOKS}
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def listeners(self, *hooks):
        """The callbacks that override any of ``hooks`` (or their Keras 2 aliases)."""
        return [c for c in self.callbacks if any(c in self._active[hook] for hook in hooks)]

    def append(self, callback):
        """Adds ``callback`` (given this list's model and params), whose hooks are then called too."""
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)
        for hook in HOOKS:
            if _listens(callback, hook):
                self._active[hook].append(callback)

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


for _hook in HOOKS:
    setattr(CallbackList, _hook, _dispatcher(_hook))
