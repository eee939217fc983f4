"""The process's memory policy while training (glibc Linux).

glibc hands large freed blocks back to the kernel (``munmap``/``trim``); a training loop then
re-faults the same pages on every step, which on shared VMs made a CNN epoch ~30% slower here
(docs/performance.md). When ``fit`` starts, lamina asks glibc once to keep freed memory in the
process instead (``M_MMAP_MAX=0``, high trim threshold and top pad), as PyTorch's CUDA caching
allocator does for GPU memory. The process keeps its peak memory until it exits.

It is skipped when the user set any ``MALLOC_*`` variable (their policy wins), off Linux/glibc, and
when ``LAMINA_RETAIN_FREED_MEMORY=0``.
"""

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
_state = {"applied": False}


def retain_freed_memory():
    """Applies the policy once per process; returns True when it is (or already was) in force."""
    if _state["applied"]:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("LAMINA_RETAIN_FREED_MEMORY", "1") == "0" \
            or any(name.startswith("MALLOC_") for name in os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    _state["applied"] = bool(mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 1 << 30)
                             and mallopt(_M_TOP_PAD, 64 << 20))
    return _state["applied"]
