"""Checkpoint file I/O of the runner: crash-safe writes, weights-only reads, choice of the checkpoint to resume.

Writes go to a temporary file in the target's folder, are fsynced and renamed over the target, so a reader (or a
run resumed after SIGKILL) sees either the previous file or the complete new one. Reads never unpickle anything
but tensors and plain Python values (:func:`mcf_mm.checkpoint.read_checkpoint`, weights-only).
"""

import logging
import os
import os.path as osp
import re
import zipfile
from typing import BinaryIO, Callable, List, Optional

import torch

from mcf_mm.checkpoint import CheckpointFormatError, read_checkpoint
from mcf_mm.utils import fileio

from .plain_state import from_plain

PARTIAL_SUFFIX = '.mcf_mm-partial'
_MODEL_ZOO_PREFIXES = ('open-mmlab://', 'openmmlab://', 'torchvision://', 'mmcls://', 'pavi://', 'modelzoo://')


def atomic_write(path: str, write: Callable[[BinaryIO], None]) -> str:
    """Crash-safe write of a checkpoint file; its temporary name ends in :data:`PARTIAL_SUFFIX`, which
    :func:`remove_partial_writes` looks for at the next start."""
    return fileio.atomic_write(path, write, suffix=PARTIAL_SUFFIX)


def save_checkpoint_file(checkpoint: dict, path: str) -> str:
    """``torch.save`` a (plain) checkpoint crash-safely (see :func:`atomic_write`)."""
    return atomic_write(path, lambda f: torch.save(checkpoint, f))


def write_text_file(text: str, path: str) -> str:
    """Write a small bookkeeping file (``last_checkpoint``) crash-safely: never empty, never half-written."""
    return atomic_write(path, lambda f: f.write(text.encode('utf-8')))


def remove_partial_writes(folder: str) -> List[str]:
    """Delete the temporary files that a killed checkpoint write left in ``folder``; returns their paths."""
    removed = []
    if not osp.isdir(folder):
        return removed
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if name.startswith('.') and name.endswith(PARTIAL_SUFFIX) and osp.isfile(path) and not osp.islink(path):
            os.remove(path)
            removed.append(path)
    return removed


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole torch zip checkpoint (its central directory and pickle are present)."""
    try:
        if not osp.isfile(path) or osp.getsize(path) == 0:
            return False
        with zipfile.ZipFile(path) as zf:
            return any(name.endswith('data.pkl') for name in zf.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def find_resumable_checkpoint(
    work_dir: str, ckpt_dir: str, filename_tmpl: str, logger: Optional[logging.Logger] = None
) -> Optional[str]:
    """The newest complete checkpoint to resume from, or None.

    ``work_dir/last_checkpoint`` is used when it names a complete file at least as new as every complete
    checkpoint in ``ckpt_dir`` named by ``filename_tmpl`` (e.g. ``epoch_{}.pth``); otherwise (missing, empty,
    pointing at a deleted or truncated file, or older) the newest complete one wins.
    """
    pattern = re.compile('^' + re.escape(filename_tmpl).replace(r'\{\}', r'(\d+)') + '$')
    recorded = None
    save_file = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(save_file):
        with open(save_file, encoding='utf-8', errors='replace') as f:
            recorded = f.read().strip() or None
    recorded_ok = recorded is not None and is_complete_checkpoint(recorded)
    if recorded_ok and not pattern.match(osp.basename(recorded)):
        return recorded  # a checkpoint under a name of the user's choosing
    candidates = []
    if osp.isdir(ckpt_dir):
        for name in os.listdir(ckpt_dir):
            match = pattern.match(name)
            if match and is_complete_checkpoint(osp.join(ckpt_dir, name)):
                candidates.append((int(match.group(1)), osp.join(ckpt_dir, name)))
    if recorded_ok:
        candidates.append((int(pattern.match(osp.basename(recorded)).group(1)), recorded))
    if not candidates:
        if recorded is not None and logger is not None:
            logger.warning(
                f'last_checkpoint names {recorded!r}, which is missing or incomplete, and no other '
                f'complete checkpoint is in {ckpt_dir!r}: training starts from scratch.'
            )
        return None
    step, path = max(candidates, key=lambda c: (c[0], c[1] == recorded))
    if path != recorded and logger is not None:
        logger.warning(
            f'last_checkpoint names {recorded!r} (missing, incomplete or older): resuming from the '
            f'newest complete checkpoint {path!r} instead.'
        )
    return path


def _cached_download(url: str) -> str:
    """Download ``url`` once into torch's hub cache (``$TORCH_HOME/hub/checkpoints``); returns the local path."""
    folder = osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(folder, exist_ok=True)
    local = osp.join(folder, osp.basename(url.split('?')[0]) or 'checkpoint.pth')
    if not osp.isfile(local):
        torch.hub.download_url_to_file(url, local, progress=False)  # via a temporary file, then renamed
    return local


def read_runner_checkpoint(filename: str, map_location='cpu') -> dict:
    """Read a checkpoint for resume / ``load_from`` / testing without running code from it.

    Every file goes through :func:`mcf_mm.checkpoint.read_checkpoint` (``torch.load(weights_only=True)``, then
    a walk that refuses anything but plain data). Local files, ``http(s)://`` URLs (cached in torch's hub
    folder) and mmengine file backends (``s3://`` ...) are supported; model-zoo aliases (``open-mmlab://``
    ...) must be downloaded first. The numpy values and message-hub buffers of a plain runner checkpoint are
    rebuilt (see ``plain_state``).
    """
    filename = os.fspath(filename)
    if filename.startswith(_MODEL_ZOO_PREFIXES):
        raise CheckpointFormatError(
            f'{filename!r}: model-zoo aliases are not resolved by mcf_mm; download the file and give its local path.'
        )
    if filename.startswith(('http://', 'https://')):
        ckpt = read_checkpoint(_cached_download(filename), map_location=map_location)
    elif re.match(r'^[a-zA-Z][\w+.-]*://', filename):
        from mmengine.fileio import get_local_path

        with get_local_path(filename) as local:
            ckpt = read_checkpoint(local, map_location=map_location)
    else:
        path = osp.expanduser(filename)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'checkpoint not found: {filename!r}; check `load_from`, `--resume` or the checkpoint argument.'
            )
        ckpt = read_checkpoint(path, map_location=map_location)
    return from_plain(ckpt)
