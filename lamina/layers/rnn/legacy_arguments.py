"""Keras 1/2 argument spellings of the recurrent layers, translated with a DeprecationWarning.

``LSTM(output_dim=32, inner_activation="hard_sigmoid", dropout_U=0.1)`` becomes
``LSTM(units=32, recurrent_activation="hard_sigmoid", recurrent_dropout=0.1)``. Giving an old
and a new spelling of the same argument raises ``TypeError``; values that have no Keras 3
equivalent raise ``ValueError``. Defaults stay Keras 3's (``recurrent_activation="sigmoid"``):
only arguments actually passed are translated. See docs/recurrent.md.
"""

import functools
import warnings

RENAMED = {
    "output_dim": "units",
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "W_regularizer": "kernel_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "b_regularizer": "bias_regularizer",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
}
# Keras 2's consume_less picked an implementation; Keras 3 keeps `implementation` (without effect).
_CONSUME_LESS = {"cpu": 1, "mem": 1, "gpu": 2}
_FORGET_BIAS = {"one": True, "ones": True, "zero": False, "zeros": False}


def _translate(layer_name, kwargs):
    modern = {}
    for old, value in list(kwargs.items()):
        if old in RENAMED:
            new, translated = RENAMED[old], value
        elif old == "forget_bias_init":
            if value not in _FORGET_BIAS:
                raise ValueError(f"{layer_name}: forget_bias_init={value!r} has no Keras 3 equivalent; use "
                                 "`unit_forget_bias=True` (forget bias 1) or a `bias_initializer`.")
            new, translated = "unit_forget_bias", _FORGET_BIAS[value]
        elif old == "consume_less":
            if value not in _CONSUME_LESS:
                raise ValueError(f"{layer_name}: consume_less must be one of {sorted(_CONSUME_LESS)}; it is "
                                 f"replaced by `implementation`. Received: consume_less={value!r}")
            new, translated = "implementation", _CONSUME_LESS[value]
        else:
            continue
        if new in kwargs:
            raise TypeError(f"{layer_name} received both the Keras 2 argument `{old}` and its Keras 3 "
                            f"name `{new}`; pass only `{new}`.")
        warnings.warn(f"{layer_name}: the Keras 2 argument `{old}` is deprecated; use `{new}` instead.",
                      DeprecationWarning, stacklevel=3)
        del kwargs[old]
        modern[new] = translated
    kwargs.update(modern)
    return kwargs


def accepts_legacy_arguments(init):
    """Decorates a recurrent layer's ``__init__`` so Keras 2 spellings are translated first."""

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        init(self, *args, **_translate(type(self).__name__, kwargs))

    return wrapper
