"""Loading a Lambda's marshalled bytecode (``safe_mode=False`` only) without crashing on a foreign Python.

Marshalled code carries no Python version. Code from another version either fails to unmarshal, or
unmarshals into instructions that mean something else here, which can raise deep inside the
interpreter or crash it. ``load_code`` refuses both: it checks that every instruction is an opcode of
this Python with its inline caches in place, and walks the control flow to check that the stack never
goes below zero or above the code's declared size, as CPython's compiler computes it.
"""

import binascii
import codecs
import dis
import inspect
import marshal
import opcode
import sys
import types

_TERMINAL = {"RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD", "JUMP_BACKWARD",
             "JUMP_BACKWARD_NO_INTERRUPT", "JUMP_ABSOLUTE", "JUMP", "JUMP_NO_INTERRUPT"}
_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
_CACHE = dis.opmap.get("CACHE")
_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


class ForeignBytecode(ValueError):
    """Marshalled code that this Python cannot run safely."""


def _cache_entries(op):
    entries = getattr(opcode, "_inline_cache_entries", None)
    if isinstance(entries, dict):
        return entries.get(dis.opname[op], 0)
    return entries[op] if entries is not None else 0


def _check_layout(code):
    raw = code.co_code
    if len(raw) % 2:
        raise ForeignBytecode("odd bytecode length")
    ops = raw[0::2]
    index = 0
    while index < len(ops):
        op = ops[index]
        if dis.opname[op].startswith("<"):
            raise ForeignBytecode(f"opcode {op} does not exist")
        caches = _cache_entries(op)
        if any(index + 1 + j >= len(ops) or ops[index + 1 + j] != _CACHE for j in range(caches)):
            raise ForeignBytecode(f"opcode {dis.opname[op]} lacks its inline caches")
        index += 1 + caches


def _handlers(code):
    """(start, end, target, entry depth) of the exception table, or None if it cannot be read."""
    table = getattr(code, "co_exceptiontable", b"")
    if not table:
        return []
    parse = getattr(dis, "_parse_exception_table", None)
    if parse is None:
        return None
    return [(entry.start, entry.end, entry.target, entry.depth + 1 + int(entry.lasti)) for entry in parse(code)]


def _check_stack(code):
    instructions = list(dis.get_instructions(code))
    by_offset = {instruction.offset: index for index, instruction in enumerate(instructions)}
    handlers = _handlers(code)
    if handlers is None:
        return
    depths = {}
    # CPython starts generators and coroutines one value deep (the value sent in when they resume).
    start = int(bool(code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR)))
    pending = [(0, start)] + [(by_offset.get(target, -1), depth) for _, _, target, depth in handlers]
    while pending:
        index, depth = pending.pop()
        while True:
            if not 0 <= index < len(instructions):
                raise ForeignBytecode("a jump leaves the code")
            if index in depths:
                if depths[index] != depth:
                    raise ForeignBytecode("inconsistent stack depths")
                break
            depths[index] = depth
            instruction = instructions[index]
            argument = instruction.arg if instruction.opcode >= dis.HAVE_ARGUMENT else None
            try:
                after = depth + dis.stack_effect(instruction.opcode, argument, jump=False)
                jumped = depth + dis.stack_effect(instruction.opcode, argument, jump=True)
            except ValueError as error:
                raise ForeignBytecode(str(error)) from None
            if min(after, jumped) < 0 or max(after, jumped) > code.co_stacksize:
                raise ForeignBytecode(f"the stack under- or overflows at {instruction.opname}")
            if instruction.opcode in _JUMPS:
                pending.append((by_offset.get(instruction.argval, -1), jumped))
            if instruction.opname in _TERMINAL:
                break
            index, depth = index + 1, after


def _check(code):
    if not isinstance(code, types.CodeType):
        raise ForeignBytecode(f"it holds a {type(code).__name__}, not code")
    _check_layout(code)
    _check_stack(code)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            _check(constant)


def load_code(encoded, what):
    """The code object in base64 ``encoded`` marshal data; ValueError if this Python cannot run it."""
    try:
        code = marshal.loads(codecs.decode(str(encoded).encode("ascii"), "base64"))
        _check(code)
    except (ValueError, EOFError, TypeError, IndexError, KeyError, binascii.Error, UnicodeEncodeError) as error:
        raise ValueError(f"{what}: its Python bytecode cannot be loaded by this Python ({_PYTHON}): it was "
                         f"written by another Python version, or is corrupt ({error}). Marshalled bytecode only "
                         "runs on the Python version that wrote it: load the file with that version, or rebuild "
                         "the layer in code and load the weights only.") from None
    return code
