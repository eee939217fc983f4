"""``get_file``: a file from Keras's cache (``$KERAS_HOME/datasets``), or copied there from a local path.

lamina never downloads: a URL whose file is not in the cache raises ``FileNotFoundError`` saying where
to put it, and a cached file whose hash does not match raises ``ValueError`` (where Keras would download it
again). The cache layout, hashes, and archive extraction (tar, zip) are Keras's, so a cache Keras
filled serves lamina too.
"""

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
import zlib

from lamina import config


def _hash_file(path, algorithm, chunk_size=65535):
    hasher = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(path, file_hash, algorithm="auto"):
    """Whether ``path``'s sha256 (or md5; "auto" picks by the hash's length) is ``file_hash``."""
    if algorithm == "auto":
        algorithm = "sha256" if len(file_hash) == 64 else "md5"
    return _hash_file(path, algorithm) == str(file_hash)


def _local_source(origin):
    """The local file ``origin`` names (a path or a ``file://`` URL), or None for a remote URL."""
    parsed = urllib.parse.urlsplit(str(origin))
    if parsed.scheme == "file":
        return urllib.request.url2pathname(parsed.path)
    if len(parsed.scheme) <= 1:  # a plain path (a one-letter scheme is a Windows drive)
        return str(origin)
    return None


@contextlib.contextmanager
def _broken_archive(archive, destination):
    """A truncated or corrupted archive: remove the partial extraction (as Keras does) and say which file."""
    try:
        yield
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        shutil.rmtree(destination, ignore_errors=True)
        raise ValueError(f"get_file: could not extract {archive}, it is truncated or corrupted ({error}).") from error


def _extract(archive, destination, archive_format):
    formats = ["tar", "zip"] if archive_format == "auto" else [archive_format] if isinstance(archive_format, str) \
        else list(archive_format or [])
    for kind in formats:
        if kind == "tar" and tarfile.is_tarfile(archive):
            with tarfile.open(archive) as opened, _broken_archive(archive, destination):
                opened.extractall(destination, filter="data")  # refuses members that leave `destination`
            return True
        if kind == "zip" and zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as opened, _broken_archive(archive, destination):
                root = os.path.realpath(destination)
                for member in opened.namelist():
                    target = os.path.realpath(os.path.join(destination, member))
                    if os.path.commonpath([root, target]) != root:
                        raise ValueError(f"Refusing to extract {member!r} from {archive}: it leaves {destination}.")
                opened.extractall(destination)
            return True
        if kind not in ("tar", "zip"):
            raise NotImplementedError(kind)
    return False


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """The path of ``fname`` in ``cache_dir/cache_subdir`` (default ``$KERAS_HOME/datasets``), as
    ``keras.utils.get_file``, without downloading.

    If the file is in the cache (and matches ``file_hash`` when one is given) it is used; if ``origin``
    is a local path or a ``file://`` URL it is copied there first. With a remote ``origin``, a cached file
    that does not match ``file_hash`` raises ``ValueError`` and a missing one ``FileNotFoundError``.
    ``extract=True`` (or ``untar``) unpacks a tar or zip archive and returns the extraction folder, as Keras
    3 names it; a truncated or corrupted archive raises ``ValueError``.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(cache_dir or config.keras_home())
    if not os.access(base, os.W_OK):  # as Keras: an unwritable (or missing) cache folder means /tmp/.keras
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    folder = os.path.join(base, cache_subdir)
    os.makedirs(folder, exist_ok=True)
    given_name = os.fspath(fname) if fname is not None else None
    name = given_name or os.path.basename(urllib.parse.urlsplit(str(origin)).path)
    if not name:
        raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'.Please specify the "
                         "`fname` argument.")
    if given_name and os.sep in given_name:
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify the file's parent "
                         f"directory, use the `cache_dir` argument. Received: fname={given_name}")
    if extract or untar:
        if given_name and "." in name:
            target, stem = os.path.join(folder, name), name[:name.find(".")]
            extraction = os.path.join(folder, f"{stem}_extracted")
        else:
            target, extraction = os.path.join(folder, f"{name}_archive"), os.path.join(folder, name)
    else:
        target = os.path.join(folder, name)
    cached = os.path.exists(target) and not force_download and (
        file_hash is None or validate_file(target, file_hash, hash_algorithm))
    if not cached:
        source = _local_source(origin)
        if source is None and os.path.exists(target) and not force_download:
            raise ValueError(f"get_file: {target} does not match the expected hash {file_hash}: it is incomplete, "
                             f"outdated or corrupted, and lamina does not download. Replace it with the file from "
                             f"{origin}.")
        if source is None:
            raise FileNotFoundError(f"get_file: {origin} is not in the cache and lamina does not download. Put the "
                                    f"file at {target} (or pass a local path or file:// URL as `origin`).")
        if not os.path.isfile(source):
            raise FileNotFoundError(f"get_file: origin {origin!r} is not a file.")
        shutil.copyfile(source, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.remove(target)
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does not "
                             f"match the provided value of {file_hash}.")
    if extract or untar:
        if not _extract(target, extraction, "tar" if untar else archive_format):
            raise ValueError(f"get_file: could not extract {target}: not a {archive_format} archive.")
        return extraction
    return target
