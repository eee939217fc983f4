"""Atomic file writes: a temporary file beside the target, then ``os.replace``.

An interrupted write leaves the old file as it was; the temporary file is removed on any error.
"""

import os
import tempfile


def _new_file_mode():
    """The mode ``open(path, "w")`` would give a new file: 0o666 minus the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(filepath, write, overwrite):
    """Calls ``write(file)`` on a temporary file beside ``filepath``, then renames it into place."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} already exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(filepath))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        os.chmod(temporary, _new_file_mode())  # mkstemp makes 0600 files; give the usual umask mode
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, filepath)
    except BaseException:
        os.unlink(temporary)
        raise
