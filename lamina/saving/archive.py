"""Reading zip model files (``.keras``, ``.lamina``) into memory, refusing what a hostile archive could do.

Nothing is extracted to disk. Member names that would escape a folder (absolute, ``..``, backslashes,
drive letters), duplicated names, members that declare far more bytes than they store (zip bombs) or more
than the reader allows, and checksum failures are ValueErrors naming the file.
"""

import io
import json
import os
import zipfile
import zlib

ZIP_SIGNATURE = b"PK\x03\x04"
_EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"
# A member larger than this must not expand more than _MAX_EXPANSION times its stored size.
_BOMB_FLOOR_BYTES = 1 << 26
_MAX_EXPANSION = 200
# JSON members (config, metadata) beyond this size are refused outright.
MAX_JSON_BYTES = 1 << 28


def is_zip(head):
    return head.startswith(ZIP_SIGNATURE) or head.startswith(_EMPTY_ZIP_SIGNATURE)


def read_file(filepath, what="model file"):
    """The bytes of ``filepath``; a ValueError naming it if it is missing or unreadable."""
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise ValueError(f"File not found: {filepath}. Please ensure the file is an accessible {what}.")
    try:
        with open(filepath, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ValueError(f"{filepath}: cannot read the {what} ({error}).") from None


def member_names(payload):
    """The member names of the zip ``payload``, or None if it cannot be read as a zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        return None


def _unsafe_name(name):
    parts = name.split("/")
    return (name.startswith("/") or "\\" in name or ".." in parts or "" in parts[:-1]
            or (len(name) > 1 and name[1] == ":"))


def read_members(payload, filepath, required, optional=(), ignore_prefixes=(), kind="model file",
                 limits=None):
    """{name: bytes} of the ``required`` and present ``optional`` members of the zip ``payload``.

    Any other member is refused, except names under ``ignore_prefixes`` (listed, never read).
    ``limits`` maps member names to the most bytes they may declare.
    """
    limits = limits or {}
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            for name in names:
                if _unsafe_name(name):
                    raise ValueError(f"{filepath}: the archive member {name!r} has a path that escapes the "
                                     "archive; refusing to read it.")
            duplicated = sorted({name for name in names if names.count(name) > 1})
            if duplicated:
                raise ValueError(f"{filepath}: the archive lists the members {duplicated} more than once.")
            known = set(required) | set(optional)
            unexpected = [name for name in names if name not in known and not name.startswith(tuple(ignore_prefixes))]
            if unexpected:
                raise ValueError(f"{filepath}: not a valid {kind}: unexpected archive member(s) {unexpected} "
                                 f"(expected {sorted(required)}).")
            missing = [name for name in required if name not in names]
            if missing:
                raise ValueError(f"{filepath}: not a valid {kind}: the archive lacks {missing} "
                                 f"(it holds {names}).")
            members = {}
            for info in infos:
                if info.filename not in known:
                    continue
                limit = limits.get(info.filename)
                if limit is not None and info.file_size > limit:
                    raise ValueError(f"{filepath}: the archive member {info.filename!r} declares {info.file_size} "
                                     f"bytes, more than the {limit} allowed; refusing to read it.")
                if info.file_size > _BOMB_FLOOR_BYTES and info.file_size > _MAX_EXPANSION * max(info.compress_size, 1):
                    raise ValueError(f"{filepath}: the archive member {info.filename!r} declares {info.file_size} "
                                     f"bytes but stores {info.compress_size}; refusing a likely zip bomb.")
                with archive.open(info) as handle:
                    data = handle.read(info.file_size + 1)
                if len(data) != info.file_size:
                    raise ValueError(f"{filepath}: the archive member {info.filename!r} is not the size it declares "
                                     "(corrupt archive).")
                members[info.filename] = data
            return members
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error, NotImplementedError,
            RuntimeError) as error:
        raise ValueError(f"{filepath}: not a valid {kind} (truncated, corrupt or not a zip archive: "
                         f"{error}).") from None


def read_json(data, filepath, member):
    """A JSON member as a Python object; a ValueError naming the file and member if it is not JSON."""
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"{filepath}: {member} is {len(data)} bytes, more than the {MAX_JSON_BYTES} allowed.")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{filepath}: {member} is not valid JSON ({error}).") from None
