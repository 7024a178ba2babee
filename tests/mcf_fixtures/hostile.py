"""Hostile checkpoints for the safe-loading tests: each file creates :func:`marker_path` if its payload runs.

``write_hostile_checkpoints(folder)`` writes payloads at the top level, in ``meta``, in ``message_hub``, inside
a numpy object array (zip and legacy torch formats), and gadget chains that use only globals a lenient loader
might allow (``builtins.getattr``, ``mmengine.config.config.load`` / ``Config``, ``collections.OrderedDict`` and
``argparse.Namespace`` with a ``__setstate__`` planted through BUILD; three files use only allowed globals
and plant instance attributes). A safe reader must refuse every file without the marker appearing;
:func:`expected_message` says what the refusal should name. :func:`fire` loads a file the unsafe way, to prove
a payload is live.
"""

import os
import os.path as osp
import pickle
import types
from collections import OrderedDict
from typing import Any, Dict

import torch

MARKER = 'PAYLOAD_RAN'


def marker_path(folder: str) -> str:
    """The file a payload of :func:`write_hostile_checkpoints` (for ``folder``) creates when it runs."""
    return osp.join(osp.abspath(folder), MARKER)


class Global:
    """Pickles as ``GLOBAL module name`` (any name, even one that does not resolve to itself)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name


class Call:
    """Pickles as ``func(*args)`` (REDUCE); ``func`` may itself be a :class:`Global` or :class:`Call`."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args


class Build:
    """Pickles as ``cls.__new__(cls)`` (NEWOBJ) followed by one BUILD per state."""

    def __init__(self, cls: Any, *states: Any) -> None:
        self.cls, self.states = cls, states


class _Pickler(pickle._Pickler):
    """Pure-Python pickler that writes :class:`Global` / :class:`Call` / :class:`Build` nodes verbatim."""

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, Global):
            self.write(pickle.GLOBAL + f'{obj.module}\n{obj.name}\n'.encode())
        elif isinstance(obj, Call):
            self.save(obj.func)
            self.save(tuple(obj.args))
            self.write(pickle.REDUCE)
        elif isinstance(obj, Build):
            self.save(obj.cls)
            self.save(())
            self.write(pickle.NEWOBJ)
            for state in obj.states:
                self.save(state)
                self.write(pickle.BUILD)
        else:
            super().save(obj, save_persistent_id)


_PICKLE_MODULE = types.SimpleNamespace(__name__='hostile_pickle', Pickler=_Pickler, dump=pickle.dump)


def _touch_code(folder: str) -> str:
    return f'open({marker_path(folder)!r}, "w").close()'


def _exec_payload(folder: str) -> Call:
    return Call(Global('builtins', 'exec'), _touch_code(folder))


class _Reduce:
    """A real object whose ``__reduce__`` runs the payload (the classic attack, pickled by the C pickler)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return exec, (self.code,)


def _getattr_chain(folder: str) -> Call:
    """exec reached through getattr only: Namespace.__init__.__globals__['__builtins__']['exec'](code)."""
    ga = Global('builtins', 'getattr')
    init = Call(ga, Global('argparse', 'Namespace'), '__init__')
    module_globals = Call(ga, init, '__globals__')
    builtins_dict = Call(Call(ga, module_globals, 'get'), '__builtins__')
    return Call(Call(Call(ga, builtins_dict, 'get'), 'exec'), _touch_code(folder))


def _weights() -> Dict[str, torch.Tensor]:
    return OrderedDict([('backbone.w', torch.ones(2, 2)), ('backbone.b', torch.zeros(2))])


def _save(obj: Any, path: str, legacy: bool = False, raw: bool = True) -> str:
    kwargs = dict(_use_new_zipfile_serialization=not legacy)
    if raw:
        kwargs['pickle_module'] = _PICKLE_MODULE
    torch.save(obj, path, **kwargs)
    return path


def write_hostile_checkpoints(folder: str) -> Dict[str, str]:
    """Write every hostile checkpoint into ``folder``; returns {name: path}. Helper files are written too."""
    import numpy as np

    os.makedirs(folder, exist_ok=True)
    code = _touch_code(folder)
    evil_pkl = osp.join(osp.abspath(folder), 'evil.pkl')  # read by mmengine.fileio.load -> pickle.load
    with open(evil_pkl, 'wb') as f:
        pickle.dump(_Reduce(code), f)
    evil_py = osp.join(osp.abspath(folder), 'evil_cfg.py')  # executed by Config.fromfile
    with open(evil_py, 'w') as f:
        f.write(code + '\nx = 1\n')
    pay = _exec_payload(folder)
    out = {}
    for fmt, legacy in (('zip', False), ('legacy', True)):
        cases = {
            'object': pay,  # the whole file is the payload
            'top': OrderedDict([('payload', pay), ('state_dict', _weights())]),
            'meta': {'meta': {'payload': pay, 'epoch': 1}, 'state_dict': _weights()},
            'message_hub': {'message_hub': {'log_scalars': {'train/loss': pay}}, 'state_dict': _weights()},
        }
        for name, obj in cases.items():
            out[f'{name}_{fmt}'] = _save(obj, osp.join(folder, f'{name}_{fmt}.pth'), legacy)
        # a numpy object array holding a __reduce__ payload, pickled by the ordinary (C) pickler
        arr = {'meta': {'arr': np.array([_Reduce(code)], dtype=object)}, 'state_dict': _weights()}
        out[f'numpy_object_{fmt}'] = _save(arr, osp.join(folder, f'numpy_object_{fmt}.pth'), legacy, raw=False)
        out[f'reduce_{fmt}'] = _save(
            {'state_dict': _weights(), 'x': _Reduce(code)}, osp.join(folder, f'reduce_{fmt}.pth'), legacy, raw=False
        )
    gadgets = {
        'gadget_getattr': _getattr_chain(folder),
        'gadget_config_load': Call(Global('mmengine.config.config', 'load'), evil_pkl),
        'gadget_fileio_load': Call(Global('mmengine.fileio.io', 'load'), evil_pkl),
        'gadget_config_fromfile': Call(
            Call(Global('builtins', 'getattr'), Global('mmengine.config.config', 'Config'), 'fromfile'), evil_py
        ),
        # BUILD plants __setstate__ on the instance; the second BUILD would call it with the code
        'gadget_ordereddict_setstate': Build(
            Global('collections', 'OrderedDict'), {'__setstate__': Global('builtins', 'exec')}, code
        ),
        'gadget_namespace_setstate': Build(
            Global('argparse', 'Namespace'), {'__setstate__': Global('builtins', 'exec')}, code
        ),
        'gadget_namespace_config_load': Build(
            Global('argparse', 'Namespace'), {'__setstate__': Global('mmengine.config.config', 'load')}, evil_pkl
        ),
        'gadget_os_system': Call(Global('os', 'system'), f'touch {marker_path(folder)!r}'),
        # only allowed globals: a planted __setstate__ that runs an allowed callable, and an instance attribute
        # shadowing OrderedDict.items (code calling sd.items() would get Counter() back: tensors hidden)
        'gadget_namespace_allowed_setstate': Build(
            Global('argparse', 'Namespace'), {'__setstate__': Global('collections', 'OrderedDict')}, [('a', 1)]
        ),
        'gadget_ordereddict_shadow': Build(
            Global('collections', 'OrderedDict'), {'items': Global('collections', 'Counter')}
        ),
    }
    for name, payload in gadgets.items():
        obj = {'meta': {'args': payload}, 'state_dict': _weights()}
        out[name] = _save(obj, osp.join(folder, f'{name}.pth'))
    shadowed = torch.ones(2)
    shadowed.float = torch.Size  # an instance attribute shadowing Tensor.float, pickled with allowed globals only
    out['gadget_tensor_shadow'] = _save(
        {'state_dict': {'backbone.w': shadowed}}, osp.join(folder, 'gadget_tensor_shadow.pth'), raw=False
    )
    out['gadget_getattr_legacy'] = _save(
        {'x': _getattr_chain(folder)}, osp.join(folder, 'gadget_getattr_legacy.pth'), legacy=True
    )
    return out


def expected_message(name: str) -> str:
    """A regex the refusal of hostile file ``name`` should match: the global it needs, or the planted attribute."""
    if name.startswith('numpy_object'):
        return r'numpy\.core\.multiarray\._reconstruct'
    specific = {
        'gadget_getattr': r'builtins\.getattr',
        'gadget_getattr_legacy': r'builtins\.getattr',
        'gadget_config_load': r'mmengine\.config\.config\.load',
        'gadget_fileio_load': r'mmengine\.fileio\.io\.load',
        'gadget_config_fromfile': r'builtins\.getattr, mmengine\.config\.config\.Config',
        'gadget_namespace_config_load': r'mmengine\.config\.config\.load',
        'gadget_os_system': r'\bos\.system',
        'gadget_namespace_allowed_setstate': r"plants attributes \['__setstate__'\]",
        'gadget_ordereddict_shadow': r"plants attributes \['items'\]",
        'gadget_tensor_shadow': r"plants attributes \['float'\] on a Tensor",
    }
    return specific.get(name, r'builtins\.exec')


def fire(path: str) -> None:
    """Load ``path`` the UNSAFE way (full pickle), only to prove in a test that its payload is live."""
    try:
        torch.load(path, map_location='cpu', weights_only=False)  # deliberately unsafe: our own test payload
    except Exception:  # gadgets may fail after their payload ran; only the marker matters
        pass
