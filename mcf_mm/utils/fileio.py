"""Small file helpers of mcf_mm."""

import os
import os.path as osp
import tempfile
from typing import Union


def atomic_write_bytes(obj: bytes, filepath: Union[str, os.PathLike]) -> None:
    """Write ``obj`` to ``filepath`` so that readers see either the old file or the complete new one.

    The bytes go to a temporary file in the same folder, are flushed to disk, then renamed over ``filepath``.
    """
    filepath = os.fspath(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + osp.basename(filepath) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
