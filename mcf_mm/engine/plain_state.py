"""A plain-data form of runner checkpoints that ``torch.load(weights_only=True)`` reads with no extra globals.

mmengine checkpoints pickle ``HistoryBuffer`` objects (message hub), numpy arrays and scalars (RNG state,
metrics, mmpose ``dataset_meta``), which a weights-only loader refuses. :func:`to_plain` replaces each of them
in place by the closest plain value (a tensor for a numeric array, a Python number for a numpy scalar, a list
for an object/string array, a dict for a ``HistoryBuffer``) and records where it did so in a manifest under
:data:`MANIFEST_KEY`; :func:`from_plain` rebuilds the exact objects from that manifest. Code that reads the file
without the manifest (e.g. ``mmpose.apis.init_model``) sees tensors and numbers instead of numpy values.
"""

import collections
from typing import Any, Dict, List, Tuple

import numpy as np
import torch

MANIFEST_KEY = 'mcf_mm_plain_types'
_VERSION = 1
# Types a weights-only torch.load rebuilds without any allow-listed global (checked exactly, not subclasses).
_LEAVES = (str, bytes, bytearray, int, float, bool, complex, type(None), torch.dtype, torch.device, torch.Size)
_TORCH_NUMPY_KINDS = 'biufc'  # bool, signed/unsigned int, float, complex


def _history_buffer_type():
    from mmengine.logging import HistoryBuffer

    return HistoryBuffer


def _where(path: Tuple) -> str:
    return ''.join(f'[{k!r}]' for k in path) or '<top level>'


def _encode(obj: Any, path: Tuple, specs: List[list]) -> Any:
    kind = type(obj)
    if kind in _LEAVES or isinstance(obj, torch.Tensor):
        return obj
    if kind in (dict, collections.OrderedDict) or (isinstance(obj, dict) and kind is not collections.defaultdict):
        out = collections.OrderedDict() if kind is collections.OrderedDict else {}
        for key, value in obj.items():
            if isinstance(key, np.generic):
                key = key.item()  # numpy keys become Python numbers (dict keys are not restored)
            if type(key) not in _LEAVES and not isinstance(key, tuple):
                raise TypeError(
                    f'cannot store the key {key!r} ({type(key).__name__}) at {_where(path)} in a '
                    'weights-only checkpoint; use str/int keys.'
                )
            out[key] = _encode(value, path + (key,), specs)
        return out  # ConfigDict and other dict subclasses are stored as plain dicts
    if kind in (list, tuple):
        return kind(_encode(v, path + (i,), specs) for i, v in enumerate(obj))
    if kind is set:
        before = len(specs)
        items = {_encode(v, path + (i,), specs) for i, v in enumerate(obj)}
        if len(specs) > before:
            raise TypeError(f'cannot store numpy values inside the set at {_where(path)}; use a list.')
        return items
    if kind is frozenset:
        specs.append([list(path), 'frozenset', None, None])
        return [_encode(v, path + (i,), specs) for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, path, specs)
    if isinstance(obj, np.generic):
        if obj.dtype.kind not in _TORCH_NUMPY_KINDS:
            raise TypeError(
                f'cannot store the numpy {obj.dtype} scalar at {_where(path)} in a weights-only '
                'checkpoint; store a str or number instead.'
            )
        specs.append([list(path), 'np_scalar', obj.dtype.str, None])
        return obj.item()
    if kind is _history_buffer_type():
        specs.append([list(path), 'history_buffer', None, None])
        state = dict(log_history=obj._log_history, count_history=obj._count_history, max_length=obj.max_length)
        return _encode(state, path, specs)
    raise TypeError(
        f'cannot store {kind.__module__}.{kind.__qualname__} at {_where(path)} in a weights-only '
        'checkpoint (only tensors, numbers, strings, lists, tuples, dicts and numpy values are '
        'converted); store its state as plain values instead.'
    )


def _encode_array(arr: np.ndarray, path: Tuple, specs: List[list]) -> Any:
    if arr.dtype.names is not None:
        raise TypeError(f'cannot store the structured numpy array at {_where(path)} in a weights-only checkpoint.')
    if arr.dtype.kind in _TORCH_NUMPY_KINDS:
        specs.append([list(path), 'ndarray', arr.dtype.str, list(arr.shape)])
        native = arr.astype(arr.dtype.newbyteorder('='), copy=True)  # torch needs native byte order
        return torch.from_numpy(np.ascontiguousarray(native))
    specs.append([list(path), 'ndarray_list', arr.dtype.str, list(arr.shape)])
    return [_encode(v, path + (i,), specs) for i, v in enumerate(arr.ravel().tolist())]


def _decode_one(value: Any, kind: str, dtype: str, shape: list) -> Any:
    if kind == 'ndarray':
        return value.detach().cpu().numpy().astype(np.dtype(dtype), copy=True).reshape(shape)
    if kind == 'ndarray_list':
        out = np.empty(len(value), dtype=np.dtype(dtype))
        for i, item in enumerate(value):
            out[i] = item
        return out.reshape(shape)
    if kind == 'np_scalar':
        return np.dtype(dtype).type(value)
    if kind == 'frozenset':
        return frozenset(value)
    if kind == 'history_buffer':
        return _history_buffer_type()(value['log_history'], value['count_history'], value['max_length'])
    raise ValueError(f'unknown plain-state kind {kind!r}: the checkpoint was written by a newer mcf_mm.')


def _decode(obj: Any, path: Tuple, specs: Dict[Tuple, list], prefixes: set) -> Any:
    if path in prefixes:  # something below (or at) this path was converted
        if type(obj) in (dict, collections.OrderedDict):
            obj = type(obj)((k, _decode(v, path + (k,), specs, prefixes)) for k, v in obj.items())
        elif type(obj) in (list, tuple):
            obj = type(obj)(_decode(v, path + (i,), specs, prefixes) for i, v in enumerate(obj))
    if path in specs:
        obj = _decode_one(obj, *specs[path])
    return obj


def to_plain(checkpoint: dict) -> dict:
    """Return a copy of ``checkpoint`` made of plain values only, with the manifest that :func:`from_plain` uses.

    Raises:
        TypeError: naming where the checkpoint holds an object that has no plain form.
    """
    specs: List[list] = []
    plain = _encode(checkpoint, (), specs)
    plain[MANIFEST_KEY] = dict(version=_VERSION, converted=specs)
    return plain


def _rebuild_converted_buffers(checkpoint: dict) -> dict:
    """Message-hub buffers of an old runner checkpoint re-saved by ``convert.py --trust-pickle`` (stored as
    ``{'__class__': '...HistoryBuffer', 'max_length', '_log_history', '_count_history'}``) become buffers."""
    scalars = (
        checkpoint.get('message_hub', {}).get('log_scalars')
        if isinstance(checkpoint.get('message_hub'), dict)
        else None
    )
    if not isinstance(scalars, dict):
        return checkpoint
    for key, value in scalars.items():
        if isinstance(value, dict) and str(value.get('__class__', '')).endswith('.HistoryBuffer'):
            arrays = [
                np.asarray(value[k].cpu() if isinstance(value[k], torch.Tensor) else value[k])
                for k in ('_log_history', '_count_history')
            ]
            scalars[key] = _history_buffer_type()(*arrays, int(value['max_length']))
    return checkpoint


def from_plain(checkpoint: dict) -> dict:
    """Rebuild the numpy values and ``HistoryBuffer`` objects that :func:`to_plain` converted (only buffers
    are rebuilt without a manifest, e.g. in a converted old checkpoint; a plain state dict is unchanged)."""
    manifest = checkpoint.get(MANIFEST_KEY) if isinstance(checkpoint, dict) else None
    if not manifest:
        return _rebuild_converted_buffers(checkpoint) if isinstance(checkpoint, dict) else checkpoint
    if manifest.get('version', 0) > _VERSION:
        raise ValueError(
            f'the checkpoint was written by a newer mcf_mm (plain-state version '
            f'{manifest["version"]} > {_VERSION}); upgrade mcf_mm to read it.'
        )
    specs = {tuple(p): (kind, dtype, shape) for p, kind, dtype, shape in manifest['converted']}
    prefixes = {p[:i] for p in specs for i in range(len(p))}
    out = _decode({k: v for k, v in checkpoint.items() if k != MANIFEST_KEY}, (), specs, prefixes)
    return out
