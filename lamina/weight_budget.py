"""A bound on the weight memory a model rebuilt from a file may allocate.

A model file's config declares the sizes of the weights (``Dense(units=...)``, ``Embedding(input_dim=...)``)
and the file stores the weights themselves. Loaders rebuild the model inside ``limit(...)``: each weight
is checked against the bytes the file stores *before* it is allocated, so a hand-edited or hostile
config cannot make lamina allocate gigabytes that the file does not hold. The bound is generous (four
times the stored bytes, since a float16 or float8 file may load into float32 weights, plus 64 MiB for
state the file does not store), and applies only while a file is being rebuilt.
"""

import contextlib
import contextvars
import math

_SLACK_BYTES = 64 << 20
_WIDENING = 4  # float8 stored, float32 built
_budget = contextvars.ContextVar("lamina_weight_budget", default=None)


@contextlib.contextmanager
def limit(stored_bytes, source):
    """Inside the block, weights created may total at most what ``source`` (a file) can account for."""
    token = _budget.set({"left": _WIDENING * stored_bytes + _SLACK_BYTES, "stored": stored_bytes, "source": source})
    try:
        yield
    finally:
        _budget.reset(token)


def _readable(count):
    if count < 1024:
        return f"{count:.0f} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        count /= 1024
        if count < 1024 or unit == "TiB":
            return f"{count:.1f} {unit}"


def claim(owner, name, shape, itemsize):
    """Accounts for a weight of ``shape`` about to be created (a ValueError if the file cannot hold it)."""
    budget = _budget.get()
    if budget is None:
        return
    size = math.prod(shape) * itemsize
    if size > budget["left"]:
        raise ValueError(f"{owner}: weight {name!r} of shape {tuple(shape)} would take {_readable(size)}, but "
                         f"{budget['source']} stores only {_readable(budget['stored'])} of weights: the config "
                         "declares sizes the file's weights do not have. Refusing to allocate it.")
    budget["left"] -= size
