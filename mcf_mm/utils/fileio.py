"""Small file helpers of mcf_mm: the one crash-safe writer (temporary file, fsync, rename)."""

import os
import os.path as osp
import tempfile
from typing import BinaryIO, Callable, Union


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories
    finally:
        os.close(fd)


def _new_file_mode(target: str) -> int:
    """Keep an existing file's permissions; a new file gets the usual ``0o666 & ~umask``."""
    if osp.isfile(target):
        return os.stat(target).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Union[str, os.PathLike], write: Callable[[BinaryIO], None], suffix: str = '.tmp') -> str:
    """Write a file with ``write(file)`` so that ``path`` is either the old or the complete new file.

    The bytes go to a temporary file ``.<name>.*<suffix>`` in the same folder, are flushed to disk, then renamed
    over the target. A symlink at ``path`` is kept and its target is replaced; a special file (FIFO, device) that a
    user named is written in place, never replaced. Returns the path of the file actually written.
    """
    path = os.fspath(path)
    target = osp.realpath(path) if osp.islink(path) else osp.abspath(path)
    if osp.exists(target) and not osp.isfile(target):
        with open(target, 'wb') as f:
            write(f)
        return target
    folder = osp.dirname(target)
    os.makedirs(folder, exist_ok=True)
    mode = _new_file_mode(target)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(target)}.', suffix=suffix)
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp creates 0600
        os.replace(tmp, target)
    except BaseException:
        if osp.lexists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)
    return target


def atomic_write_bytes(obj: bytes, filepath: Union[str, os.PathLike]) -> str:
    """:func:`atomic_write` of ready bytes."""
    return atomic_write(filepath, lambda f: f.write(obj))
