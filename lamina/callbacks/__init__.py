"""Callbacks, as ``keras.callbacks``: hooks into ``fit``/``evaluate``/``predict``."""

from lamina.callbacks.base import Callback, History, LambdaCallback  # noqa: F401
from lamina.callbacks.callback_list import CallbackList, LazyLogs, pythonify_logs  # noqa: F401
from lamina.callbacks.checkpoint import BackupAndRestore, ModelCheckpoint  # noqa: F401
from lamina.callbacks.monitoring import (  # noqa: F401
    CSVLogger, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN)
from lamina.callbacks.progbar import ProgbarLogger  # noqa: F401
from lamina.callbacks.ema import SwapEMAWeights  # noqa: F401
from lamina.callbacks.remote import RemoteMonitor  # noqa: F401
from lamina.callbacks.tensorboard import TensorBoard  # noqa: F401
