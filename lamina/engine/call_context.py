"""The state of the layer call in progress: the explicit ``training`` value and who collected losses.

The outermost layer call creates a :class:`CallContext`; nested calls read and update it. It lives in
a ``contextvars.ContextVar``, so two threads (or two asyncio tasks) calling two models never see each
other's state. While ``torch.compile`` traces, the context is kept in a plain holder instead: Dynamo
cannot trace ``ContextVar`` methods, and the compiled graph runs no Python anyway.
"""

import contextvars

import torch

_CURRENT = contextvars.ContextVar("lamina_call_context", default=None)


class _TracedContext:
    """Where the context lives while ``torch.compile`` traces a call."""

    current = None


class CallContext:
    """One outermost call. ``training``: the innermost explicit ``training=`` value in effect (None
    when no caller passed one)."""

    __slots__ = ("training",)

    def __init__(self):
        self.training = None


def current():
    """The context of the call in progress, or None outside any layer call."""
    if torch.compiler.is_compiling():
        return _TracedContext.current
    return _CURRENT.get()


def enter(context):
    """Makes ``context`` current; returns the token ``leave`` needs (never None: callers test for one)."""
    if torch.compiler.is_compiling():
        previous, _TracedContext.current = _TracedContext.current, context
        return (previous,)
    return _CURRENT.set(context)


def leave(token):
    """Restores the context that was current before ``enter`` returned ``token``."""
    if torch.compiler.is_compiling():
        _TracedContext.current = token[0]
    else:
        _CURRENT.reset(token)
