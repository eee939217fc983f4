"""``ProgbarLogger``: Keras's progress display, drawn by tqdm.

``verbose=1``: a per-batch bar with ETA and the running metrics; ``verbose=2``: one line per epoch.
The metrics shown on the bar are read from the device at most twice a second. After
``lamina.config.disable_interactive_logging()`` there is no bar: the lines go to the ``logging``
logger ``"lamina"`` (as Keras sends them to absl logging).
"""

import logging
import sys
import time

from lamina import config
from lamina.callbacks.base import Callback

_REFRESH_SECONDS = 0.5


def print_message(message):
    """``message`` on stdout, or to the ``"lamina"`` logger when interactive logging is disabled."""
    if config.is_interactive_logging_enabled():
        print(message, file=sys.stdout, flush=True)
    else:
        logging.getLogger("lamina").info(message)


def format_logs(logs):
    """``"loss: 0.1234 - accuracy: 0.9500"`` (Keras's 4-decimal format)."""
    parts = []
    for name, value in logs.items():
        value = float(value)
        parts.append(f"{name}: {value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{name}: {value:.4e}")
    return " - ".join(parts)


class ProgbarLogger(Callback):
    """Prints progress: a tqdm bar per epoch (``verbose=1``) or one line per epoch (``verbose=2``)."""

    def __init__(self):
        super().__init__()
        self._bar = None
        self._in_fit = False
        self._started = 0.0
        self._last_refresh = 0.0
        self._seen = 0

    @property
    def verbose(self):
        return self.params.get("verbose", 1)

    def _open(self, total):
        from tqdm.auto import tqdm

        self._started = self._last_refresh = time.monotonic()
        self._seen = 0
        if self.verbose == 1 and config.is_interactive_logging_enabled():
            self._bar = tqdm(total=total, unit="step", file=sys.stdout, dynamic_ncols=True, leave=True,
                             bar_format="{n_fmt}/{total_fmt} {bar} {elapsed}<{remaining}, {rate_fmt}{postfix}")

    def _advance(self, batch, logs):
        """Up to step ``batch + 1`` (several steps at once with ``steps_per_execution``; never past the total)."""
        total = self.params.get("steps")
        done = batch + 1 if total is None else min(batch + 1, total)
        advanced, self._seen = done - self._seen, max(done, self._seen)
        if self._bar is None or advanced <= 0:
            return
        self._bar.update(advanced)
        now = time.monotonic()
        if logs is not None and now - self._last_refresh >= _REFRESH_SECONDS:
            self._last_refresh = now
            self._bar.set_postfix_str(format_logs(logs), refresh=False)

    def _close(self, logs):
        elapsed = time.monotonic() - self._started
        if self._bar is not None:
            if logs:
                self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None
        elif self.verbose:
            per_step = 1000 * elapsed / max(self._seen, 1)
            line = f"{self._seen}/{self._seen} - {elapsed:.0f}s - {per_step:.0f}ms/step"
            print_message(line + (f" - {format_logs(logs)}" if logs else ""))

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        print_message(f"Epoch {epoch + 1}/{self.params.get('epochs', 1)}")
        self._open(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._close(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._open(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._advance(batch, None)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._close(logs)

    def on_predict_begin(self, logs=None):
        self._open(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch, None)

    def on_predict_end(self, logs=None):
        self._close(None)
