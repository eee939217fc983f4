"""Validation and normalisation of layer arguments, shared by every layer family.

Each function raises a ``ValueError`` naming the layer, the argument, the value
received and what was expected.
"""

import numbers

from lamina import config


def is_int(value):
    """An integer argument: a Python or NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_tuple(value, rank, arg_name, layer_name, allow_zero=False):
    """``value`` (an int or a sequence of ``rank`` ints) as a tuple of ``rank`` ints.

    >>> normalize_tuple(3, 2, "kernel_size", "Conv2D")
    (3, 3)
    """
    if is_int(value):
        values = (int(value),) * rank
    elif isinstance(value, (tuple, list)) and len(value) == rank and all(is_int(v) for v in value):
        values = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{layer_name}: the `{arg_name}` argument must be an int or a tuple of {rank} ints. "
                         f"Received: {arg_name}={value!r}")
    lowest = 0 if allow_zero else 1
    if any(v < lowest for v in values):
        expected = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer_name}: the `{arg_name}` argument must contain {expected} ints. "
                         f"Received: {arg_name}={value!r}")
    return values


def normalize_padding(value, layer_name, allowed=("valid", "same")):
    """A padding string, lower-cased and checked against ``allowed``."""
    normalized = value.lower() if isinstance(value, str) else value
    if normalized not in allowed:
        raise ValueError(f"{layer_name}: the `padding` argument must be one of {allowed} (case-insensitive). "
                         f"Received: padding={value!r}")
    return normalized


def normalize_data_format(value, layer_name="layer"):
    """``None`` becomes the global image_data_format; otherwise checked and lower-cased."""
    if value is None:
        return config.image_data_format()
    normalized = value.lower() if isinstance(value, str) else value
    if normalized not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer_name}: the `data_format` argument must be 'channels_last' or "
                         f"'channels_first'. Received: data_format={value!r}")
    return normalized


def normalize_pairs(value, rank, arg_name, layer_name):
    """Cropping/padding amounts as ``rank`` (before, after) pairs.

    Accepts an int (same on every side), a tuple of ``rank`` ints (symmetric per
    axis), or a tuple of ``rank`` pairs. For ``rank == 1`` a single pair
    ``(before, after)`` is the Keras form.
    """
    def fail():
        raise ValueError(f"{layer_name}: the `{arg_name}` argument must be an int, a tuple of {rank} ints or "
                         f"a tuple of {rank} (before, after) pairs of non-negative ints. "
                         f"Received: {arg_name}={value!r}")

    if is_int(value):
        pairs = ((int(value), int(value)),) * rank
    elif rank == 1 and isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) for v in value):
        pairs = ((int(value[0]), int(value[1])),)
    elif isinstance(value, (tuple, list)) and len(value) == rank:
        pairs = []
        for item in value:
            if is_int(item):
                pairs.append((int(item), int(item)))
            elif isinstance(item, (tuple, list)) and len(item) == 2 and all(is_int(v) for v in item):
                pairs.append((int(item[0]), int(item[1])))
            else:
                fail()
        pairs = tuple(pairs)
    else:
        fail()
    if any(v < 0 for pair in pairs for v in pair):
        fail()
    return pairs


def check_int(value, arg_name, owner, minimum=None):
    """``value`` as an int (``>= minimum`` when given); ``owner`` names the layer or object in the error."""
    if not is_int(value) or minimum is not None and value < minimum:
        expected = "an int" if minimum is None else "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{owner}: the `{arg_name}` argument must be {expected}. Received: {arg_name}={value!r}")
    return int(value)


def check_positive_int(value, arg_name, layer_name):
    return check_int(value, arg_name, layer_name, minimum=1)


def check_seed(seed, owner):
    """A random seed: None or an int."""
    return None if seed is None else check_int(seed, "seed", owner)


def check_fraction(value, arg_name, layer_name, allow_one=True):
    """A real number in [0, 1] (or [0, 1) when ``allow_one`` is False), returned as given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not (0 <= value and (value <= 1 if allow_one else value < 1)):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"{layer_name}: the `{arg_name}` argument must be a float in {interval}. "
                         f"Received: {arg_name}={value!r}")
    return value
