"""Refuse ``--cfg-options`` keys that do not exist in the config (typos otherwise start a full, wrong run).

A key path ``a.b.c`` is accepted when it exists in the config (lists are indexed by number: ``param_scheduler.0.end``),
or when its first missing part is an argument the object built from that dict accepts: the ``__init__`` parameters
of the class named by the dict's ``type`` (looked up in the config's registry scope; a ``type`` given by the options
themselves counts), or of what mmengine builds from a few dicts without ``type`` (top level: the Runner;
``train_cfg``/``val_cfg``/``test_cfg``: the loops; ``*_dataloader``: torch's DataLoader; ``env_cfg``, ``randomness``,
``auto_scale_lr``). Anything else is refused with the closest existing key. A leading ``+`` (``+a.b.c=1``) adds a
key on purpose, unchecked.
"""

import ast
import copy
import difflib
import importlib
import inspect
import textwrap
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from mmengine.config import Config
from mmengine.registry import Registry

OPT_IN = '+'
HELP = (
    'override config settings: key=value pairs, nested keys with dots, list items by number '
    '(train_cfg.max_epochs=2 param_scheduler.0.end=2). A key must exist in the config or be an argument of the '
    'object its dict builds (the class named by `type`, the Runner at the top level, the loops for *_cfg, '
    'DataLoader for *_dataloader); otherwise nothing runs and the closest existing key is shown. Prefix a key '
    'with "+" to add it on purpose, unchecked (+model.backbone.my_arg=1).'
)
_RUNNER_EXTRA = {
    'model_wrapper_cfg',
    'runner_type',
    'sync_bn',
    'activation_checkpointing',
    'efficient_conv_bn_eval',
    'custom_imports',
    'work_dir',
    'launcher',
}
_FIXED = {
    ('env_cfg',): {'cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'},
    ('env_cfg', 'mp_cfg'): {'mp_start_method', 'opencv_num_threads'},
    ('env_cfg', 'dist_cfg'): {
        'backend',
        'init_backend',
        'timeout',
        'port',
        'init_method',
        'world_size',
        'rank',
        'store',
        'group_name',
        'pg_options',
        'device_id',
    },
    ('randomness',): {'seed', 'diff_rank_seed', 'deterministic'},
    ('auto_scale_lr',): {'enable', 'base_batch_size'},
}
# which registry a ``type`` under this top-level key (or sub-key) names, tried first
_CONTEXT = [
    ('init_cfg', 'WEIGHT_INITIALIZERS'),
    ('pipeline', 'TRANSFORMS'),
    ('sampler', 'DATA_SAMPLERS'),
    ('batch_sampler', 'DATA_SAMPLERS'),
    ('dataset', 'DATASETS'),
    ('optimizer', 'OPTIMIZERS'),
    ('vis_backends', 'VISBACKENDS'),
    ('model', 'MODELS'),
    ('optim_wrapper', 'OPTIM_WRAPPERS'),
    ('param_scheduler', 'PARAM_SCHEDULERS'),
    ('default_hooks', 'HOOKS'),
    ('custom_hooks', 'HOOKS'),
    ('val_evaluator', 'METRICS'),
    ('test_evaluator', 'METRICS'),
    ('train_cfg', 'LOOPS'),
    ('val_cfg', 'LOOPS'),
    ('test_cfg', 'LOOPS'),
    ('visualizer', 'VISUALIZERS'),
    ('log_processor', 'LOG_PROCESSORS'),
    ('model_wrapper_cfg', 'MODEL_WRAPPERS'),
]


def split_opt_in(options: Optional[Dict[str, object]]) -> Tuple[Dict[str, object], Set[str]]:
    """Strip the ``+`` prefix: (options ready for ``Config.merge_from_dict``, the keys added on purpose)."""
    plain, opted = {}, set()
    for key, value in (options or {}).items():
        if key.startswith(OPT_IN):
            key = key[len(OPT_IN) :]
            opted.add(key)
        plain[key] = value
    return plain, opted


def _params(target) -> Optional[Set[str]]:
    """Keyword names ``target(...)`` accepts; None if it takes any keyword (``**kwargs`` it keeps itself)."""
    import torch.nn as nn

    if not inspect.isclass(target):
        sig = inspect.signature(target)
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return None
        return {p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    names: Set[str] = set()
    for klass in target.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is nn.Module:  # **kwargs passed up to nn.Module end there: nothing more is accepted
            return names
        if klass is object:  # the class keeps its **kwargs itself (e.g. CheckpointHook)
            return None
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {'self'}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return names


def _registries(scope: str, first: Optional[str]) -> List[Registry]:
    """Registries to look a ``type`` up in, already in ``scope``: the context's first, then all the others.

    ``{scope}.registry`` holds the scope's child of every registry it uses; ``get`` on a child also searches its
    parents up to mmengine's root, which covers the rest.
    """
    import mmengine.registry as root

    try:
        found = [v for v in vars(importlib.import_module(f'{scope}.registry')).values() if isinstance(v, Registry)]
    except ImportError:
        found = []
    found += [v for v in vars(root).values() if isinstance(v, Registry)]
    context = getattr(root, first, None) if first is not None else None
    if isinstance(context, Registry):
        found.sort(key=lambda reg: reg.name != context.name)  # stable: the context's registries first
    return found


def _lookup(type_, scope: str, path: Sequence[str]):
    """The class or function that ``type_`` names at ``path``, or None."""
    if not isinstance(type_, str):
        return type_ if callable(type_) else None
    context = next((reg for key, reg in _CONTEXT if key in path), None)
    for registry in _registries(scope, context):
        try:
            target = registry.get(type_)
        except (KeyError, ImportError):
            target = None
        if target is not None:
            return target
    return None


def _closest_in_registry(part: str, path: Sequence[str], scope: str) -> Optional[str]:
    """For a new dict without ``type``: the closest argument of any class the context's registry holds, as a hint."""
    context = next((reg for key, reg in _CONTEXT if key in path), None)
    if context is None:
        return None
    node = _registries(scope, context)[0]
    node.import_from_location()
    owners: Dict[str, str] = {}
    while node is not None:  # the scope's registry and its parents up to mmengine's root
        for name, target in sorted(node.module_dict.items()):
            for param in _params(target) or ():
                owners.setdefault(param, name)
        node = node.parent
    close = difflib.get_close_matches(part, sorted(owners), n=1, cutoff=0.6)
    if not close:
        return None
    where = '.'.join(path)
    if close[0] == part:
        return f'add `{where}.type={owners[part]}` (which takes `{part}`). '
    return f'did you mean `{where}.{close[0]}` (with `{where}.type={owners[close[0]]}`)? '


def _init_weights_keys(owner) -> Set[str]:
    """String keys the module's own ``init_weights`` reads (``cfg.get('branch')``, ``cfg['source']``).

    Some backbones (FaceViT) interpret extra ``init_cfg`` keys themselves; those are accepted too.
    """
    keys: Set[str] = set()
    for klass in getattr(owner, '__mro__', ()):
        fn = klass.__dict__.get('init_weights')
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn))) if fn is not None else None
        except (OSError, TypeError, SyntaxError):
            tree = None
        for n in ast.walk(tree) if tree is not None else ():
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ('get', 'pop'):
                arg = n.args[0] if n.args else None
            else:
                arg = n.slice if isinstance(n, ast.Subscript) else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                keys.add(arg.value)
    return keys


def _accepted(path: Tuple[str, ...], node: dict, scope: str, owner: Optional[dict]) -> Tuple[Optional[Set[str]], str]:
    """(keys the object built from ``node`` at ``path`` accepts, or None for any; what defined them).

    ``owner`` is the dict that holds ``node`` (for an ``init_cfg``: the module it initialises).
    """
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, Runner, TestLoop, ValLoop
    from torch.utils.data import DataLoader

    if not path:
        return _params(Runner) | _RUNNER_EXTRA, 'the Runner'
    if 'type' in node:
        target = _lookup(node['type'], node.get('_scope_', scope), path)
        if target is None:
            return set(), f'type={node["type"]!r}, which is not registered in scope {scope!r}'
        params = _params(target)
        if params is not None and path[-1] == 'init_cfg' and isinstance(owner, dict) and 'type' in owner:
            params |= _init_weights_keys(_lookup(owner['type'], owner.get('_scope_', scope), path[:-1]))
        return (params | {'type', '_scope_'} if params is not None else None), getattr(target, '__name__', 'type')
    if path in _FIXED:
        return _FIXED[path], f"mmengine's `{'.'.join(path)}`"
    implied = {
        ('train_cfg',): EpochBasedTrainLoop if node.get('by_epoch', True) else IterBasedTrainLoop,
        ('val_cfg',): ValLoop,
        ('test_cfg',): TestLoop,
    }.get(path)
    if len(path) == 1 and path[0].endswith('_dataloader'):
        implied = DataLoader
    if implied is None:
        return set(), "no `type` (the dict's keys cannot be checked against a class)"
    return (_params(implied) or set()) | {'type', 'by_epoch'}, implied.__name__


def _problem(key: str, original, merged, opted_in: Set[str], scope: str) -> Optional[str]:
    """Why ``key`` is refused, or None."""
    parts = key.split('.')
    node, new, owner = original, False, None
    for i, part in enumerate(parts):
        where = '.'.join(parts[:i]) or 'the config'
        if isinstance(merged, (list, tuple)):
            if not part.isdigit() or int(part) >= len(merged):
                return f'`{where}` is a list of {len(merged)}: index it with 0..{len(merged) - 1}, not `{part}`'
            node, merged = (node[int(part)] if not new else None), merged[int(part)]
            continue
        if not isinstance(merged, dict):
            return None  # the option replaces a value that is not a dict: mmengine's merge reports it
        if not new and isinstance(node, dict) and part in node:
            scope = merged.get('_scope_', scope)  # children are built in their parent's scope
            node, merged, owner = node[part], merged[part], merged
            continue
        if key in opted_in:
            return None
        accepted, source = _accepted(tuple(parts[:i]), merged, scope, owner)
        if accepted is None or part in accepted or (part == 'type' and i > 0):
            scope = merged.get('_scope_', scope)
            node, merged, owner, new = None, merged.get(part), merged, True
            continue
        existing = list(node.keys()) if isinstance(node, dict) else []
        close = difflib.get_close_matches(part, existing + sorted(accepted), n=1, cutoff=0.6)
        hint = f'did you mean `{".".join(parts[:i] + close)}`? ' if close else ''
        listed = f'(existing keys: {", ".join(map(str, existing[:12]))}). ' if existing else ''
        if new and 'type' not in merged:
            why = f'`{where}` is new and the options give it no `type`, so `{part}` cannot be checked; '
            why += _closest_in_registry(part, parts[:i], scope) or f'add `{where}.type=...`. '
        else:
            why = f'`{part}` is not a key of {where} and not an argument of {source}; {hint}{listed}'
        return why + f'To add it on purpose, write `{OPT_IN}{key}=...`.'
    return None


def check_cfg_options(cfg: Config, options: Dict[str, object], opted_in: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` naming every key of ``options`` (already stripped of ``+``) that cannot be applied.

    ``cfg`` is the config before the options are merged; it is not modified.
    """
    if not options:
        return
    merged, merge_error = copy.deepcopy(cfg), None
    try:
        merged.merge_from_dict(options)
    except (KeyError, TypeError, ValueError, IndexError) as err:  # checked below against the unmerged config
        merged, merge_error = cfg, err
    scope = merged.get('default_scope') or 'mmengine'
    original, merged_dict = cfg._cfg_dict.to_dict(), merged._cfg_dict.to_dict()
    problems = [
        f'  {key}: {why}'
        for key in options
        if (why := _problem(key, original, merged_dict, set(opted_in), scope)) is not None
    ]
    if merge_error is not None and not problems:
        problems = [f'  {merge_error}']
    if problems:
        raise ValueError('--cfg-options refused (nothing was run):\n' + '\n'.join(problems))


def merge_cfg_options(cfg: Config, options: Optional[Dict[str, object]]) -> None:
    """Check ``--cfg-options`` (``+`` keys go unchecked), then merge them into ``cfg``; ``ValueError`` if refused."""
    plain, opted_in = split_opt_in(options)
    check_cfg_options(cfg, plain, opted_in)
    cfg.merge_from_dict(plain)
