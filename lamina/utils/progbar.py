"""``Progbar``: Keras's progress bar for custom loops (``fit`` draws its own with tqdm)."""

import math
import sys
import time

from lamina.callbacks.progbar import print_message


def _format_value(value):
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _format_time_per_unit(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """A progress bar, as ``keras.utils.Progbar``.

    Args:
        target: the total number of steps (None: unknown).
        width: the bar's width in characters.
        verbose: 0 (silent), 1 (a bar redrawn at most every ``interval`` seconds) or 2 (one line at the end).
        interval: seconds between redraws.
        stateful_metrics: names whose value is shown as given; the others are averaged over the steps
            (weighted by how many steps each ``update`` advanced), as Keras does.
        stateless_metrics: the reverse: only these are averaged (at most one of the two lists).
        unit_name: the unit in the time per step ("step").

    >>> bar = Progbar(10)
    >>> for step in range(10):
    ...     bar.update(step + 1, values=[("loss", 0.5)])
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, stateless_metrics=None,
                 unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` or `stateless_metrics` can be provided. "
                             "`stateful_metrics` is used to make metrics stateless by default (with an exclusion "
                             "list), while `stateless_metrics` is used to make metrics stateful by default (with an "
                             "exclusion list).")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ()) if stateless_metrics is None else None
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics is not None else None
        self._dynamic_display = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        self._seen_so_far = 0
        self._values = {}  # name -> [weighted sum, steps] (averaged) or [value, 1] (stateful)
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._previous_width = 0

    def _is_averaged(self, name):
        return name not in self.stateful_metrics if self.stateful_metrics is not None else \
            name in self.stateless_metrics

    def update(self, current, values=None, finalize=None):
        """Moves the bar to step ``current``; ``values`` is a list of ``(name, value)`` pairs."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or []:
            value = float(value)
            if name not in self._values_order:
                self._values_order.append(name)
            if self._is_averaged(name) and not finalize:
                steps = max(current - self._seen_so_far, 1)
                total, count = self._values.get(name, (0.0, 0))
                self._values[name] = [total + value * steps, count + steps]
            else:
                self._values[name] = [value, 1]
        self._seen_so_far = current
        now = time.time()
        per_unit = self._time_per_unit(current, now)
        if self.verbose == 1 and (finalize or now - self._last_update >= self.interval):
            self._draw(current, now, per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            print_message(f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
                          f"{_format_time_per_unit(per_unit, self.unit_name).lstrip()}{self._metrics_text()}")
        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    def average(self, name):
        """The value shown for ``name``: the step-weighted mean (or the last value of a stateful metric)."""
        total, count = self._values[name]
        return total / max(1, count)

    def _metrics_text(self):
        return "".join(f" - {name}: {_format_value(self.average(name))}" for name in self._values_order)

    def _draw(self, current, now, per_unit, finalize):
        if self.target:
            digits = int(math.log10(self.target)) + 1
            filled = int(self.width * current / self.target)
            bar = f"{current:{digits}d}/{self.target} " + "━" * filled + " " * (self.width - filled)
        else:
            bar = f"{current:7d}/Unknown"
        if self.target and not finalize:
            eta = per_unit * (self.target - current)
            if eta > 3600:
                eta_text = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_text = f"{int(eta)}s"
        else:
            eta_text = f"{now - self._start:.0f}s"
        line = f"{bar} {eta_text}{_format_time_per_unit(per_unit, self.unit_name)}{self._metrics_text()}"
        padding = " " * max(self._previous_width - len(line), 0)
        self._previous_width = len(line)
        if self._dynamic_display and not finalize:
            sys.stdout.write("\r" + line + padding)
            sys.stdout.flush()
        else:
            if self._dynamic_display:
                sys.stdout.write("\r")
            print_message(line + padding)

    def _time_per_unit(self, current, now):
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit
