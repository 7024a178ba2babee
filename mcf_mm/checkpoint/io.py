"""Safe checkpoint I/O: read without running code from the file, write converter outputs atomically.

:func:`read_checkpoint` uses ``torch.load(weights_only=True)``; the only class allowed beyond torch's own
tensor/dtype/container set is ``argparse.Namespace`` (MAE and the original MCF code store their ``args``), and
only inside a ``torch.serialization.safe_globals`` block. The loaded object is then walked: anything but plain
containers, numbers, strings, tensors and namespaces holding those is refused (a planted ``__setstate__`` or an
instance attribute shadowing a dict method cannot survive). A file needing anything else is refused with the
globals it names; :func:`read_trusted_checkpoint` is the explicit opt-in for a user's own old file
(``tools/model_converters/convert.py --trust-pickle``), never a default.
"""

import argparse
import io
import os
import os.path as osp
import pickletools
import types
import zipfile
from collections import Counter, OrderedDict
from typing import Any, List, Set

import torch

from mcf_mm.utils.fileio import atomic_write_bytes

SAFE_CLASSES = (argparse.Namespace,)
_LEAVES = (
    str,
    bytes,
    bytearray,
    int,
    float,
    complex,
    bool,
    type(None),
    torch.dtype,
    torch.device,
    torch.layout,
    torch.memory_format,
)
TRUST_HINT = (
    'If the file is your own (e.g. a checkpoint of an older mcf_mm run), re-save it once in plain form: '
    '`python tools/model_converters/convert.py --trust-pickle SRC DST` (this runs the code in SRC: only '
    'for files you trust), then use DST.'
)


class CheckpointFormatError(ValueError):
    """The file is not a checkpoint of a supported format (or not a checkpoint at all)."""


class UnsafeCheckpointError(CheckpointFormatError):
    """The file needs code or classes outside the safe set to be unpickled; it was not loaded."""


def _pickle_globals(data: bytes) -> List[str]:
    """Every ``module.name`` a pickle imports (GLOBAL / INST and STACK_GLOBAL), found statically."""
    found, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ('GLOBAL', 'INST'):
            found.append(arg.replace(' ', '.'))
        elif op.name == 'STACK_GLOBAL' and len(strings) >= 2:
            found.append(f'{strings[-2]}.{strings[-1]}')
        if isinstance(arg, str):
            strings.append(arg)
    return found


def _pickles_of(path: str) -> List[bytes]:
    """The pickle streams of a torch file: ``data.pkl`` of a zip checkpoint, the leading pickles of a legacy one."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return [zf.read(n) for n in zf.namelist() if n.endswith('data.pkl')]
    with open(path, 'rb') as f:
        data = f.read(64 << 20)  # the legacy object pickle precedes the raw tensor bytes
    streams, pos = [], 0
    for _ in range(5):  # magic number, protocol, sys info, the object, storage keys
        buf = io.BytesIO(data[pos:])
        try:
            for _op in pickletools.genops(buf):
                pass
        except ValueError:  # not a pickle here (the raw tensor bytes): the leading pickles are all found
            break
        streams.append(data[pos : pos + buf.tell()])
        pos += buf.tell()
    return streams


def unsafe_globals(path: str) -> List[str]:
    """The globals a checkpoint file imports that the safe reader does not allow (static scan, nothing runs)."""
    allowed: Set[str] = {f'{c.__module__}.{c.__qualname__}' for c in SAFE_CLASSES}
    try:
        from torch import _weights_only_unpickler as wou  # torch's own default allowlist, for the report only

        allowed |= set(wou._get_allowed_globals())
    except (ImportError, AttributeError):  # a torch without the private helper: report every global
        pass
    found = []
    try:
        for data in _pickles_of(path):
            found += [g.replace('__builtin__.', 'builtins.') for g in _pickle_globals(data)]
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):  # unreadable: the load error explains it
        return []
    return sorted(set(found) - allowed)


def _walk_plain(obj: Any, path: str) -> None:
    """Refuse anything in a loaded checkpoint that is not plain data (iterative; shared objects visited once)."""
    stack, seen = [(obj, 'checkpoint')], set()
    while stack:
        item, where = stack.pop()
        if type(item) in _LEAVES or id(item) in seen:
            continue
        seen.add(id(item))
        kind = type(item)
        extra = {}
        if kind in (torch.Tensor, torch.nn.Parameter):  # attributes that would shadow a tensor method
            extra = {
                k: v for k, v in vars(item).items() if not isinstance(k, str) or k.startswith('__') or hasattr(kind, k)
            }
        elif kind in (dict, OrderedDict, Counter):  # dict's own methods: instance attributes cannot shadow them
            attrs = vars(item) if hasattr(item, '__dict__') else {}
            extra = {k: v for k, v in attrs.items() if k != '_metadata'}
            if '_metadata' in attrs:  # what torch's state_dict() attaches
                stack.append((attrs['_metadata'], f'{where}._metadata'))
            stack.extend((v, f'{where}[{k!r}]') for k, v in dict.items(item))
            stack.extend((k, f'{where} key') for k in dict.keys(item))
        elif kind in (list, tuple, set, frozenset, torch.Size):
            stack.extend((v, f'{where}[{i}]') for i, v in enumerate(item))
        elif kind in SAFE_CLASSES:
            extra = {k: v for k, v in vars(item).items() if not isinstance(k, str) or k.startswith('__')}
            stack.extend((v, f'{where}.{k}') for k, v in vars(item).items())
        else:
            raise UnsafeCheckpointError(
                f'checkpoint {path!r} holds a {kind.__module__}.{kind.__qualname__} object at {where}, not plain '
                f'data (tensors, numbers, strings, lists, dicts); it was refused. {TRUST_HINT}'
            )
        if extra:
            raise UnsafeCheckpointError(
                f'checkpoint {path!r} plants attributes {sorted(map(str, extra))} on a {kind.__name__} at {where} '
                '(a crafted pickle, not a saved model); it was refused.'
            )


def _refusal(path: str, err: Exception) -> CheckpointFormatError:
    """Turn a ``torch.load`` failure into an error naming what the file contained and the fix."""
    text = str(err)
    if 'TorchScript' in text:
        return UnsafeCheckpointError(
            f'{path!r} is a TorchScript archive (e.g. an OpenAI CLIP `.pt` release); loading it runs its code. '
            f"{TRUST_HINT} (The converter keeps the archive's state_dict.)"
        )
    found = unsafe_globals(path)
    if found:
        return UnsafeCheckpointError(
            f'checkpoint {path!r} was refused: unpickling it needs {", ".join(found[:6])}'
            f'{" ..." if len(found) > 6 else ""}, which can run code (only tensors, numbers, strings, lists, '
            f'dicts and argparse.Namespace are read). {TRUST_HINT}'
        )
    inner = text.split('WeightsUnpickler error:')[-1].strip().split('\n\n')[0].strip()
    if 'WeightsUnpickler error' in text and not inner.startswith(('Unsupported operand', 'invalid load key')):
        return UnsafeCheckpointError(
            f'checkpoint {path!r} was refused by the safe reader ({inner[:200]}). {TRUST_HINT}'
        )
    return CheckpointFormatError(
        f'cannot read checkpoint {path!r} ({type(err).__name__}: {(inner or text)[:200]}); the file is corrupt, '
        'truncated or not a PyTorch checkpoint (a file saved with pickle protocol > 2 is not read either).'
    )


def _check_file(path: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'checkpoint not found: {path!r}; check the path in your config '
            '(e.g. `teacher.checkpoint` or `init_cfg.checkpoint`).'
        )
    if osp.getsize(path) == 0:
        raise CheckpointFormatError(f'checkpoint {path!r} is an empty file; download or copy it again.')


def read_checkpoint(path: str, map_location: str = 'cpu') -> dict:
    """Load a checkpoint without running code from it; clear errors for missing, corrupt or unsafe files.

    Args:
        path: checkpoint file.
        map_location: device for the tensors.
    Returns:
        the checkpoint dict (plain data and tensors only).
    """
    path = osp.expanduser(os.fspath(path))
    _check_file(path)
    try:
        with torch.serialization.safe_globals(list(SAFE_CLASSES)):  # scoped: never widened process-wide
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle/zip errors, refused globals, truncated downloads, non-checkpoint files
        raise _refusal(path, err) from None
    _walk_plain(ckpt, path)
    if not isinstance(ckpt, dict):
        raise CheckpointFormatError(
            f'checkpoint {path!r} holds a {type(ckpt).__name__}, not a dict of '
            'tensors; save `{"state_dict": model.state_dict()}` instead.'
        )
    return ckpt


def read_trusted_checkpoint(path: str) -> dict:
    """UNSAFE by design: fully unpickle a file the user vouches for (runs any code in it). Opt-in only.

    Used by ``tools/model_converters/convert.py --trust-pickle`` to re-save an old checkpoint (mmengine
    HistoryBuffer, numpy objects) or a TorchScript archive (its ``state_dict``) in plain form.
    """
    path = osp.expanduser(os.fspath(path))
    _check_file(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            if any(n.endswith('constants.pkl') for n in zf.namelist()):  # TorchScript archive
                return {'state_dict': OrderedDict(torch.jit.load(path, map_location='cpu').state_dict())}
    ckpt = torch.load(path, map_location='cpu', weights_only=False)  # the documented opt-in, never a default
    if isinstance(ckpt, torch.nn.Module):
        ckpt = {'state_dict': ckpt.state_dict()}
    if not isinstance(ckpt, dict):
        raise CheckpointFormatError(f'{path!r} holds a {type(ckpt).__name__}, not a checkpoint dict.')
    return ckpt


def to_plain(obj: Any) -> Any:
    """A copy of ``obj`` that :func:`read_checkpoint` accepts with no extra class.

    Tensors, numbers, strings and containers are kept; numpy scalars become Python numbers and numeric
    arrays tensors; functions and classes their dotted name; a namespace or any other object becomes
    ``{'__class__': 'module.Name', **its state}`` (e.g. an mmengine ``HistoryBuffer``).
    """
    import numpy as np

    if isinstance(obj, torch.Tensor):
        return obj
    if type(obj) in _LEAVES:
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    for base in (bool, int, float, complex, str, bytes):  # subclasses (e.g. an IntEnum) become the base type
        if isinstance(obj, base):
            return base(obj)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy()) if obj.dtype.kind in 'biuf' else [to_plain(v) for v in obj.tolist()]
    if isinstance(obj, dict):
        kind = OrderedDict if isinstance(obj, OrderedDict) else dict
        return kind((to_plain(k), to_plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return type(obj)(map(to_plain, obj)) if type(obj) in (list, tuple, set) else [to_plain(v) for v in obj]
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if isinstance(obj, type) or (callable(obj) and hasattr(obj, '__qualname__')):  # functions: a name, not code
        return f'{getattr(obj, "__module__", None) or ""}.{obj.__qualname__}'
    state = obj.__getstate__() if hasattr(obj, '__getstate__') else vars(obj)
    if not isinstance(state, dict):
        state = {} if state is None else {'state': state}
    kind = type(obj)
    return {'__class__': f'{kind.__module__}.{kind.__qualname__}', **{str(k): to_plain(v) for k, v in state.items()}}


def atomic_save(obj: Any, path: str) -> None:
    """``torch.save`` to a temporary file in the target folder, then rename: never a half-written ``path``."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(buf.getvalue(), path)
