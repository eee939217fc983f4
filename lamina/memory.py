"""The process's memory policy while training (glibc Linux): an opt-in, ``lamina.config.set_memory_policy``.

glibc hands large freed blocks back to the kernel (``munmap``/``trim``); a training loop then re-faults
the same pages on every step, which on shared VMs made a CNN epoch slower (docs/performance.md).
``set_memory_policy("retain")`` asks glibc, once, to keep freed memory in the process instead
(``M_MMAP_MAX=0``, high trim threshold and top pad), as PyTorch's CUDA caching allocator does for GPU
memory; the process then keeps its peak memory until it exits. It changes the allocator for the whole
process, so lamina never does it by itself: ``fit`` leaves the policy alone. A policy applied cannot be
undone in the same process.
"""

import ctypes
import ctypes.util
import sys

POLICIES = ("system", "retain")
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
_state = {"policy": "system"}


def memory_policy():
    """``"retain"`` once ``set_memory_policy("retain")`` took effect, else ``"system"`` (glibc's own)."""
    return _state["policy"]


def set_memory_policy(policy):
    """Sets the allocator policy: ``"retain"`` keeps freed memory in the process (glibc Linux only).

    Returns True when the policy asked for is in force. ``"system"`` is the default and cannot be
    restored once ``"retain"`` was applied (glibc keeps no record of its own defaults).
    """
    if policy not in POLICIES:
        raise ValueError(f"set_memory_policy: `policy` must be one of {POLICIES}. Received: policy={policy!r}")
    if policy == _state["policy"]:
        return True
    if policy == "system":
        raise ValueError("set_memory_policy: the 'retain' policy is already applied to this process and cannot "
                         "be undone; start a new process for glibc's default policy.")
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    if mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 1 << 30) and mallopt(_M_TOP_PAD, 64 << 20):
        _state["policy"] = "retain"
        return True
    return False
