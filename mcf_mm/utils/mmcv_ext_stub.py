"""Install-time stand-in for ``mmcv._ext`` when mmcv-lite (no compiled ops) is installed.

``mmseg.models`` and ``mmpose.models`` import ``mmcv.ops`` at module level, and ``mmcv.ops`` loads the compiled
extension ``mmcv._ext``, which mmcv-lite does not ship. ``python -m mcf_mm.utils.mmcv_ext_stub install`` writes a
small pure-Python ``_ext.py`` into the installed mmcv package so that these imports work in any interpreter, with
or without mcf_mm. Each op it stands for is a function that raises ``NotImplementedError`` naming the op and how to
get full mmcv. (It cannot raise on attribute access itself: ``mmcv.ops`` checks its ops with ``hasattr`` at import.)

- a no-op when a compiled extension exists (full mmcv) or when the ``mmcv`` distribution (not ``-lite``) is installed;
- idempotent: an up-to-date stand-in is left untouched, an older one of ours is rewritten;
- never overwrites an ``_ext.py`` it did not write;
- registers the file in mmcv-lite's ``RECORD``, so ``pip uninstall mmcv-lite`` removes it too.

With the stand-in, ``mmengine.utils.dl_utils.mmcv_full_available()`` returns True (it only asks whether a loader
for ``mmcv._ext`` exists); the code it guards only imports ``mmcv.ops`` classes, which works.
"""

import argparse
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import os.path as osp
from typing import List, Optional

from mcf_mm.utils.fileio import atomic_write_bytes

MARKER = '# mcf_mm stand-in for mmcv._ext (mmcv-lite has no compiled ops)'
RECORD_LINE = 'mmcv/_ext.py,,'
STUB_SOURCE = (
    MARKER
    + '''
"""Written by `python -m mcf_mm.utils.mmcv_ext_stub install`; removed by its `uninstall` or `pip uninstall mmcv-lite`.

mmcv-lite has no compiled ops. This module lets `mmcv.ops` (and so mmseg/mmpose models) import; calling any
compiled op raises NotImplementedError.
"""
MCF_MM_STUB = True
_HOW = ('mmcv-lite is installed, which has no compiled ops. To use this op install full mmcv built for your '
        'torch/CUDA: `python -m mcf_mm.utils.mmcv_ext_stub uninstall && pip uninstall -y mmcv-lite && '
        'MMCV_WITH_OPS=1 pip install --no-build-isolation mmcv==2.1.0`.')


def __getattr__(name):
    if name.startswith('__') and name.endswith('__'):
        raise AttributeError(name)

    def unavailable(*args, **kwargs):
        raise NotImplementedError(f'mmcv compiled op `{name}` is unavailable: ' + _HOW)

    unavailable.__name__ = unavailable.__qualname__ = name
    return unavailable
'''
)


def _distribution(name: str) -> Optional[importlib.metadata.Distribution]:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def mmcv_dir() -> Optional[str]:
    """The installed mmcv package folder (found without importing mmcv), or None."""
    spec = importlib.util.find_spec('mmcv')
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def compiled_extension(folder: str) -> Optional[str]:
    """Path of a compiled ``_ext`` module in the mmcv folder, or None."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = osp.join(folder, '_ext' + suffix)
        if osp.isfile(path):
            return path
    return None


def stub_path(folder: str) -> str:
    return osp.join(folder, '_ext.py')


def is_our_stub(path: str) -> bool:
    """Whether ``path`` is a stand-in written by this module (any version)."""
    if not osp.isfile(path):
        return False
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.readline().rstrip('\n') == MARKER


def _record_file() -> Optional[str]:
    """mmcv-lite's RECORD file (pip's list of the files it owns), or None."""
    dist = _distribution('mmcv-lite')
    for entry in (dist.files or []) if dist is not None else []:
        if entry.name == 'RECORD' and entry.parent.name.endswith('.dist-info'):
            return str(dist.locate_file(entry))
    return None


def _edit_record(add: bool) -> None:
    record = _record_file()
    if record is None or not osp.isfile(record):
        return
    with open(record, encoding='utf-8') as f:
        lines = f.read().splitlines()
    present = RECORD_LINE in lines
    if add == present:
        return
    lines = lines + [RECORD_LINE] if add else [ln for ln in lines if ln != RECORD_LINE]
    _write_text(record, '\n'.join(lines) + '\n')


def _write_text(path: str, text: str) -> None:
    """Write our own file via a temporary file and rename, so that no reader sees half a module."""
    atomic_write_bytes(text.encode('utf-8'), path)


def status() -> str:
    """One of ``'no-mmcv'``, ``'compiled'``, ``'stub'``, ``'foreign'`` (an ``_ext.py`` not ours), ``'missing'``."""
    folder = mmcv_dir()
    if folder is None:
        return 'no-mmcv'
    if compiled_extension(folder):
        return 'compiled'
    path = stub_path(folder)
    if is_our_stub(path):
        return 'stub'
    return 'foreign' if osp.exists(path) else 'missing'


def install() -> str:
    """Write (or refresh) the stand-in where mmcv-lite lacks ``mmcv._ext``; return what was done."""
    state = status()
    if state == 'no-mmcv':
        return 'mmcv is not installed: nothing to do'
    if state == 'compiled':
        return 'mmcv has compiled ops: nothing to do'
    if _distribution('mmcv') is not None:
        return 'full mmcv (not mmcv-lite) is installed: nothing to do (reinstall it if its compiled ops are missing)'
    if _distribution('mmcv-lite') is None:
        return 'mmcv is installed but neither as mmcv nor mmcv-lite: nothing done'
    path = stub_path(mmcv_dir())
    if state == 'foreign':
        raise RuntimeError(f'{path} exists and was not written by mcf_mm; remove it first if it is not needed.')
    if state == 'stub':
        with open(path, encoding='utf-8') as f:
            if f.read() == STUB_SOURCE:
                _edit_record(add=True)
                return f'stand-in already installed: {path}'
    _write_text(path, STUB_SOURCE)
    _edit_record(add=True)
    return f'stand-in installed: {path}'


def uninstall() -> str:
    """Remove the stand-in (only if it is ours) and its RECORD entry."""
    folder = mmcv_dir()
    if folder is None or not is_our_stub(stub_path(folder)):
        return 'no mcf_mm stand-in installed: nothing to do'
    path = stub_path(folder)
    os.remove(path)
    cache = importlib.util.cache_from_source(path)
    if osp.exists(cache):
        os.remove(cache)
    _edit_record(add=False)
    return f'stand-in removed: {path}'


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('action', choices=['install', 'uninstall', 'status'])
    args = parser.parse_args(argv)
    print({'install': install, 'uninstall': uninstall, 'status': status}[args.action]())


if __name__ == '__main__':
    main()
