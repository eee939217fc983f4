"""Atomic file writes: a temporary file beside the target, then ``os.replace``.

An interrupted write leaves the old file as it was; the temporary file is removed on any error. A write
killed outright (SIGKILL, power loss) cannot remove its temporary file: each temporary is named after its
target and the writing process (``.<name>.<pid>.<random>.tmp``), and the next write of the same target
removes those whose process is gone.
"""

import glob
import os
import tempfile

from lamina.distribution import process_group, replica


def _new_file_mode():
    """The mode ``open(path, "w")`` would give a new file: 0o666 minus the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or a platform without signals: leave its file alone
    return True


def _remove_stale_temporaries(directory, name):
    """Removes the temporaries a killed write of ``directory/name`` left behind (their process is gone)."""
    for path in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.tmp")):
        pid = os.path.basename(path)[len(name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            try:
                os.unlink(path)
            except OSError:
                pass  # removed meanwhile, or not ours to remove


def atomic_write(filepath, write, overwrite):
    """Calls ``write(file)`` on a temporary file beside ``filepath``, then renames it into place."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} already exists and overwrite=False.")
    directory, name = os.path.split(os.path.abspath(filepath))
    _remove_stale_temporaries(directory, name)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.{os.getpid()}.", suffix=".tmp")
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


def save_file(model, filepath, write, overwrite):
    """``atomic_write`` of a file about ``model``: a model a distribution has wrapped or sharded is written by
    process 0 alone, every process waiting for it (Keras's rule: every process calls ``save``, after
    gathering what it writes, which for sharded weights is a collective operation)."""
    process_group.write_once(lambda: atomic_write(filepath, write, overwrite), replica.is_distributed(model))
