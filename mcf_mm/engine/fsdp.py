"""Fully sharded (FSDP) training of MCF through mmengine's ``FlexibleRunner``.

Three parts, each registered so that a config names it:

- :class:`MCFShardedDataParallel` (``MODEL_WRAPPERS``): torch FSDP around an :class:`~mcf_mm.models.MCF`. Every
  transformer block (online encoder, EMA target encoder, decoder) and both projectors are FSDP units of their
  own, so each online unit and its target twin have the same flat layout and every rank holds matching shards;
  the EMA then runs shard against shard. The frozen teacher is an ignored module: replicated on every rank,
  never sharded, never given to the optimiser (its weights are re-read from its own file). Blocks are
  activation-checkpointed (non-reentrant); bf16 mixed precision runs FSDP's low-precision unit parameters
  plus an autocast region (the ignored fp32 teacher receives bf16 inputs).
- :class:`FaceFSDPStrategy` (``STRATEGIES``): mmengine's ``FSDPStrategy`` that builds the wrapper above on a
  CPU (gloo) or CUDA machine, gives the optimiser only parameters that require grad, and writes and reads
  checkpoints as plain data: ``state_dict_cfg='full'`` one file (rank 0 writes, every rank reads) whose
  ``state_dict`` has the unsharded model's keys; ``'local'`` a folder with one ``rank{i}.pth`` per rank
  (each rank's parameter shards and optimiser state, same world size needed to load). Every read is
  weights-only (:func:`~mcf_mm.engine.checkpoint_io.read_runner_checkpoint`): nothing in a file can run code.
- :class:`FaceFlexibleRunner` (``RUNNERS``): mmengine's ``FlexibleRunner`` with mcf_mm's crash-safe checkpoint
  hook and a resume that reads no config text from the checkpoint.
"""

import copy
import os
import os.path as osp
import re
from contextlib import nullcontext
from functools import partial
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmengine._strategy import FSDPStrategy
from mmengine.dist import get_rank, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import BaseDataPreprocessor, MMFullyShardedDataParallel, is_model_wrapper
from mmengine.optim import BaseOptimWrapper, OptimWrapper, OptimWrapperDict
from mmengine.registry import STRATEGIES
from mmengine.runner import FlexibleRunner
from mmengine.utils import mkdir_or_exist
from torch import Tensor, nn
from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
    CheckpointImpl,
    apply_activation_checkpointing,
    checkpoint_wrapper,
)
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
from torch.distributed.fsdp.wrap import lambda_auto_wrap_policy

from mcf_mm.checkpoint import CheckpointFormatError
from mcf_mm.registry import MODEL_WRAPPERS, RUNNERS

from .checkpoint_io import read_runner_checkpoint, save_checkpoint_file
from .hooks.checkpoint_hook import CrashSafeCheckpointHook
from .plain_state import to_plain

_PREFIXES = re.compile(r'(_fsdp_wrapped_module\.|_checkpoint_wrapped_module\.)')
_MMENGINE_CKPT_HOOK_NAMES = ('CheckpointHook', 'mmengine.CheckpointHook')


def clean_name(name: str) -> str:
    """A parameter name of the FSDP-wrapped model without FSDP's and activation checkpointing's prefixes."""
    return _PREFIXES.sub('', name)


def block_types(model: nn.Module) -> Tuple[type, ...]:
    """The classes of the transformer blocks of MCF's online encoder (``backbone.layers``) and decoder
    (``neck.decoder_blocks``): the modules that become FSDP units and are activation-checkpointed."""
    types = []
    for owner, attr in (('backbone', 'layers'), ('neck', 'decoder_blocks')):
        for block in getattr(getattr(model, owner, None), attr, None) or []:
            if type(block) not in types:
                types.append(type(block))
    if not types:
        raise TypeError(
            f'{type(model).__name__} has no `backbone.layers` / `neck.decoder_blocks`: MCFShardedDataParallel '
            'wraps an MCF model (a ViT encoder and an MAE decoder).'
        )
    return tuple(types)


def ema_pairs(model: nn.Module) -> List[Tuple[str, nn.Parameter, nn.Parameter]]:
    """(name, online, target) parameter pairs of MCF's EMA (encoder and projector against ``target``'s copies),
    matched by name: FSDP re-registers the parameters it flattens, which changes their order in a module."""
    pairs = []
    for part in ('backbone', 'projector'):
        online = {clean_name(n): p for n, p in getattr(model, part).named_parameters()}
        target = {clean_name(n): p for n, p in model.target[part].named_parameters()}
        if online.keys() != target.keys():
            raise RuntimeError(f'online and target {part} differ: {sorted(online.keys() ^ target.keys())[:5]}')
        pairs += [(f'{part}.{n}', online[n], target[n]) for n in online]
    return pairs


def _units(model: nn.Module, kinds: Tuple[type, ...], outside: Sequence[nn.Module]) -> List[nn.Module]:
    """The modules that become FSDP units: every block of ``kinds`` and the online and target projectors,
    except inside ``outside`` (the replicated teacher)."""
    skip = {id(m) for o in outside for m in o.modules()}
    projectors = {id(model.projector), id(model.target['projector'])}
    return [m for m in model.modules() if id(m) not in skip and (isinstance(m, kinds) or id(m) in projectors)]


def _wrap_units(model: nn.Module, kinds: Tuple[type, ...], outside: Sequence[nn.Module]) -> Callable:
    """FSDP auto-wrap policy wrapping exactly :func:`_units`."""
    ids = {id(m) for m in _units(model, kinds, outside)}
    return partial(lambda_auto_wrap_policy, lambda_fn=lambda m: id(m) in ids)


def _replicated_params(model: nn.Module, outside: Sequence[nn.Module], kinds: Tuple[type, ...]) -> List[nn.Parameter]:
    """Parameters FSDP leaves whole on every rank: those of ``outside`` (the teacher) and the frozen ones outside
    every unit (the EMA target's patch embedding, class token and norms, fixed position tables). So no FSDP flat
    parameter mixes trainable and frozen tensors (FSDP's full optimiser state dict mis-gathers those)."""
    in_units = {id(p) for u in _units(model, kinds, outside) for p in u.parameters()}
    teacher = [p for o in outside for p in o.parameters()]
    own = {id(p) for p in teacher}
    loose = [p for p in model.parameters() if not p.requires_grad and id(p) not in in_units and id(p) not in own]
    return teacher + loose


def _parse_dtype(dtype: Union[str, torch.dtype, None]) -> Optional[torch.dtype]:
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


@MODEL_WRAPPERS.register_module()
class MCFShardedDataParallel(MMFullyShardedDataParallel):
    """FSDP of an MCF model with block-level units, a replicated frozen teacher and MCF's EMA semantics.

    Args:
        module: the MCF model (built, weights initialised).
        ignored_module_names: submodules kept out of FSDP (replicated, unsharded): the frozen teacher.
        activation_checkpointing: recompute every block (online, target, decoder and teacher) in backward
            instead of storing its activations.
        mixed_precision: FSDP ``MixedPrecision`` fields (dtype names allowed), e.g.
            ``dict(param_dtype='bfloat16', reduce_dtype='float32')``; the forward then also runs under
            ``torch.autocast`` in ``param_dtype``. None trains in fp32.
        **kwargs: other arguments of mmengine's ``MMFullyShardedDataParallel`` / torch FSDP
            (``sharding_strategy``, ``device_id``, ``backward_prefetch`` ...). ``use_orig_params`` must stay True.
    """

    def __init__(
        self,
        module: nn.Module,
        ignored_module_names: Sequence[str] = ('target_generator',),
        activation_checkpointing: bool = True,
        mixed_precision: Optional[dict] = None,
        **kwargs,
    ) -> None:
        for attr in ('before_step', 'target', 'backbone', 'projector'):
            if not hasattr(module, attr):
                raise TypeError(f'MCFShardedDataParallel wraps an MCF model; {type(module).__name__} has no {attr!r}.')
        if getattr(module, 'ema_update', 'step') != 'step':
            raise ValueError(
                f"model.ema_update={module.ema_update!r}: under FSDP use 'step'. 'micro_step' updates the target "
                "inside the forward, where FSDP's root unit holds a temporary unsharded copy of its parameters "
                "(the update would be lost). The same target at every optimiser step: ema_update='step' with "
                'momentum = m ** accumulative_counts.'
            )
        if not kwargs.pop('use_orig_params', True):
            raise ValueError('use_orig_params=False is not supported: the EMA and the optimiser need the real params.')
        if 'auto_wrap_policy' in kwargs:
            raise ValueError('auto_wrap_policy is set by MCFShardedDataParallel (block-level units); remove it.')
        names = dict(module.named_modules())
        missing = [n for n in ignored_module_names if n not in names]
        if missing:
            raise KeyError(f'ignored_module_names {missing} are not submodules of {type(module).__name__}.')
        kinds = block_types(module)
        replicated = _replicated_params(module, [names[n] for n in ignored_module_names], kinds)
        self.replicated_prefixes = tuple(n + '.' for n in ignored_module_names)
        if kwargs.get('device_id') is not None:  # FSDP moves what it shards; the replicated tensors go by hand
            for name in ignored_module_names:
                names[name].to(kwargs['device_id'])
            for param in replicated:
                param.data = param.data.to(kwargs['device_id'])
        if mixed_precision is not None:  # every unit casts its inputs (replicated fp32 tensors join the tokens)
            mixed_precision = dict(cast_forward_inputs=True, **copy.deepcopy(dict(mixed_precision)))
        self._autocast_dtype = _parse_dtype((mixed_precision or {}).get('param_dtype'))
        super().__init__(
            module,
            auto_wrap_policy=_wrap_units(module, kinds, [names[n] for n in ignored_module_names]),
            mixed_precision=mixed_precision,
            use_orig_params=True,
            ignored_states=replicated,
            **kwargs,
        )
        if activation_checkpointing:
            apply_activation_checkpointing(
                self,
                checkpoint_wrapper_fn=partial(checkpoint_wrapper, checkpoint_impl=CheckpointImpl.NO_REENTRANT),
                check_fn=lambda m: isinstance(m, kinds),
            )
        self._pairs_checked = False
        module.momentum_update = self.momentum_update  # see momentum_update

    def replicated_modules(self) -> List[nn.Module]:
        """The modules kept whole on every rank and out of checkpoints (the teacher)."""
        names = dict(self.module.named_modules())
        return [names[clean_name(p[:-1])] for p in self.replicated_prefixes]

    def _autocast(self, device: torch.device):
        if self._autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=device.type, dtype=self._autocast_dtype)

    def _check_pairs(self) -> None:
        """Each online shard and its target shard have the same size (they are the same slice of twin units)."""
        for name, online, target in ema_pairs(self.module):
            if online.shape != target.shape:
                raise RuntimeError(
                    f'{name}: online shard {tuple(online.shape)} != target shard {tuple(target.shape)}: the online '
                    'and target encoders/projectors are not twin FSDP units, so the EMA cannot run shard by shard.'
                )
        self._pairs_checked = True

    @torch.no_grad()
    def momentum_update(self) -> None:
        """MCF's EMA, target <- m * target + (1 - m) * online, over this rank's shards, pairs matched by name.

        Installed as the wrapped model's ``momentum_update`` (MCF pairs parameters by their order, which
        FSDP's re-registration changes). Runs inside :meth:`ema_context`."""
        m = self.module.momentum
        for _, online, target in ema_pairs(self.module):
            target.mul_(m).add_(online, alpha=1.0 - m)

    def ema_context(self):
        """Context for the EMA between steps: the root unit's own parameters (patch embedding, tokens, norms,
        outside the wrapped units) whole in fp32, every wrapped unit as its local shard."""
        return FSDP.summon_full_params(self, recurse=False, writeback=True)

    def train_step(self, data: Union[dict, tuple, list], optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """MCF's train step under FSDP: ``before_step`` (wrapper check, 'step' EMA), forward, backward, step.

        Gradients are reduce-scattered at every micro-step (no ``no_sync``), so they stay sharded under
        gradient accumulation; the optimiser steps when ``optim_wrapper`` says so.
        """
        with self.ema_context():
            if not self._pairs_checked:
                self._check_pairs()
            self.module.before_step(optim_wrapper)
        device = next(self.module.data_preprocessor.buffers(), torch.empty(0)).device
        with self._autocast(device):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode='loss')
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        return log_vars


def trainable_only(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """Drop every parameter that does not require grad from ``optimizer``'s groups (and empty groups).

    Args:
        optimizer: a freshly built optimiser (no state yet).
    """
    if optimizer.state:
        raise RuntimeError('trainable_only needs an optimiser without state (call it right after building).')
    groups = []
    for group in optimizer.param_groups:
        group['params'] = [p for p in group['params'] if p.requires_grad]
        if group['params']:
            groups.append(group)
    optimizer.param_groups = groups
    return optimizer


@STRATEGIES.register_module()
class FaceFSDPStrategy(FSDPStrategy):
    """mmengine's ``FSDPStrategy`` for mcf_mm: CPU (gloo) or CUDA, trainable-only optimiser, plain-data
    checkpoints read weights-only.

    Args:
        state_dict_cfg: 'full' (one file, the unsharded model's keys; loadable by ``FaceRunner``/``load_from``
            of a non-FSDP config) or 'local' (a folder of ``rank{i}.pth`` shards; same world size to load).
        **kwargs: mmengine ``FSDPStrategy`` arguments (``model_wrapper`` ...).
    """

    def __init__(self, *, state_dict_cfg: str = 'full', **kwargs) -> None:
        if state_dict_cfg not in ('full', 'local'):
            raise ValueError(f"state_dict_cfg={state_dict_cfg!r}: choose 'full' or 'local'.")
        if kwargs.get('activation_checkpointing') is not None:
            raise ValueError('set activation checkpointing in model_wrapper (MCFShardedDataParallel), not here.')
        super().__init__(state_dict_cfg=state_dict_cfg, **kwargs)

    # ------------------------------------------------------------- model / optimiser
    def _wrap_model(self, model: nn.Module) -> nn.Module:
        for module in model.modules():
            if isinstance(module, BaseDataPreprocessor):
                module.to(self._device())
        if is_model_wrapper(model):
            return model
        wrapper = copy.deepcopy(self.model_wrapper) or dict(type='MCFShardedDataParallel')
        wrapper.setdefault('device_id', self._device())
        model = MODEL_WRAPPERS.build(wrapper, default_args=dict(module=model))
        model.set_state_dict_type(model, self.state_dict_type, self.state_dict_config, self.optim_state_dict_config)
        return model

    @staticmethod
    def _device() -> torch.device:
        if torch.cuda.is_available():
            return torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0)))
        return torch.device('cpu')

    def build_optim_wrapper(self, optim_wrapper, model: Optional[nn.Module] = None) -> BaseOptimWrapper:
        """mmengine's construction, then only parameters that require grad stay in the optimiser (the frozen
        teacher and the EMA target never enter it)."""
        built = super().build_optim_wrapper(optim_wrapper, model)
        for wrapper in built.values() if isinstance(built, OptimWrapperDict) else [built]:
            trainable_only(wrapper.optimizer)
        return built

    # ------------------------------------------------------------- state dicts
    def _is_local(self) -> bool:
        return not self._is_full_state_dict()

    def _local_items(self) -> Iterator[Tuple[str, Tensor]]:
        """(clean name, local tensor) of every parameter shard, replicated parameter and buffer, but the
        teacher's (re-read from its own file)."""
        for name, tensor in [*self.model.named_parameters(), *self.model.named_buffers()]:
            if not clean_name(name).startswith(self.model.replicated_prefixes):
                yield clean_name(name), tensor

    def model_state_dict(self) -> dict:
        """'full': the unsharded model's state dict on rank 0 (empty elsewhere); 'local': this rank's shards."""
        if self._is_local():
            return {name: t.detach().clone() for name, t in self._local_items()}
        return self.model.state_dict()

    def optim_state_dict(self) -> dict:
        """'local': this rank's optimiser state as torch keeps it; 'full': see :func:`full_optim_state_dict`."""
        if self._is_local():
            return self.optim_wrapper.state_dict()
        return full_optim_state_dict(self.model, self.optim_wrapper.optimizer)

    def load_model_state_dict(self, state_dict: dict, *, strict: bool = False, revise_keys: list = None) -> None:
        """Load a state dict of the matching kind: 'local' shards copied in place (names and shapes must be
        those of this run); 'full' through FSDP (the teacher's keys come from its own file)."""
        if revise_keys:
            for pattern, repl in revise_keys:
                state_dict = {re.sub(pattern, repl, k): v for k, v in state_dict.items()}
        if not self._is_local():
            result = self.model.load_state_dict(state_dict, strict=strict)
            if result.missing_keys or result.unexpected_keys:
                self.logger.warning(
                    f'missing keys {result.missing_keys[:5]}, unexpected keys {result.unexpected_keys[:5]}'
                )
            return
        own = dict(self._local_items())
        bad = sorted(set(own) ^ set(state_dict))
        bad += [k for k in own if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)]
        if bad:
            raise CheckpointFormatError(
                f'sharded checkpoint does not fit this model on this rank (first mismatches: {bad[:5]}): a '
                "'local' checkpoint loads only into the same config on the same number of processes."
            )
        with torch.no_grad():
            for name, tensor in own.items():
                tensor.copy_(state_dict[name])

    def load_optim_state_dict(self, state_dict: dict) -> None:
        if self._is_local():
            self.optim_wrapper.load_state_dict(state_dict)
        else:
            load_full_optim_state_dict(self.model, self.optim_wrapper.optimizer, state_dict)

    # ------------------------------------------------------------- files
    def checkpoint_file(self, filename: str) -> str:
        """The file this rank writes/reads: ``filename`` ('full') or ``filename/rank{rank}.pth`` ('local')."""
        return osp.join(filename, f'rank{get_rank()}.pth') if self._is_local() else filename

    def save_checkpoint(
        self,
        filename: str,
        *,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        extra_ckpt: Optional[dict] = None,
        callback: Optional[Callable] = None,
    ) -> None:
        """Gather (every rank), then write plain data crash-safely: rank 0 alone ('full') or each rank its
        ``rank{i}.pth`` in the folder ``filename`` ('local')."""
        checkpoint = dict(state_dict=self.model_state_dict())
        if save_optimizer and hasattr(self, 'optim_wrapper'):
            checkpoint['optimizer'] = self.optim_state_dict()
        if save_param_scheduler and hasattr(self, 'param_schedulers'):
            checkpoint['param_schedulers'] = self.scheduler_state_dict()
        checkpoint.update(extra_ckpt or {})
        meta = checkpoint.setdefault('meta', {})
        meta.update(seed=self.seed, world_size=get_world_size(), state_dict_cfg='local' if self._is_local() else 'full')
        if callback is not None:
            callback(checkpoint)
        if self._is_local():
            mkdir_or_exist(filename)
            meta['rank'] = get_rank()
        elif not is_main_process():
            return
        save_checkpoint_file(to_plain(_to_cpu(checkpoint)), self.checkpoint_file(filename))

    def load_checkpoint(
        self,
        filename: str,
        *,
        map_location: Union[str, Callable] = 'cpu',
        strict: bool = False,
        revise_keys: list = [(r'^module.', '')],
        callback: Optional[Callable] = None,
    ) -> dict:
        """Read this rank's file weights-only (a file that needs code is refused, nothing in it runs) and
        load the model state; returns the rest of the checkpoint."""
        path = self.checkpoint_file(filename)
        if self._is_local() and not osp.isdir(filename):
            raise CheckpointFormatError(
                f"{filename!r} is not a folder of rank files: state_dict_cfg='local' reads <folder>/rank<i>.pth; "
                "a single-file checkpoint needs state_dict_cfg='full'."
            )
        self.logger.info(f'Load checkpoint from {path}')
        checkpoint = read_runner_checkpoint(path, map_location='cpu' if map_location == 'default' else map_location)
        saved = checkpoint.get('meta', {}).get('world_size')
        if self._is_local() and saved != get_world_size():
            raise CheckpointFormatError(
                f'{filename!r} holds shards of {saved} processes, this run has {get_world_size()}: load it on '
                "the same number, or save with state_dict_cfg='full'."
            )
        if callback is not None:
            callback(checkpoint)
        if 'state_dict' not in checkpoint:
            raise CheckpointFormatError(f'{path!r} has no `state_dict` (keys {list(checkpoint)[:5]}).')
        self.load_model_state_dict(checkpoint.pop('state_dict'), strict=strict, revise_keys=revise_keys)
        return checkpoint


def shard_layout(model: nn.Module) -> Dict[int, Tuple[torch.Size, int, int]]:
    """For every parameter FSDP shards (by ``id``): its unsharded shape and the range ``[start, end)`` of its
    flattened elements that this rank's view holds (``start == end``: none)."""
    layout = {}
    for unit in FSDP.fsdp_modules(model):
        if unit._handle is None:
            continue
        flat = unit._handle.flat_param
        for param, info, shape in zip(flat._params, flat._shard_param_infos, flat._shapes):
            start, end = (info.intra_param_start_idx, info.intra_param_end_idx + 1) if info.in_shard else (0, 0)
            layout[id(param)] = (torch.Size(shape), start, end)
    return layout


def full_optim_state_dict(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The optimiser state of the unsharded model, keyed by parameter name, on rank 0 ({} elsewhere).

    Per-element states (AdamW's moments) are assembled from every rank's slice by a sum all-reduce of
    zero-padded full tensors, one parameter at a time; scalar states (``step``) by a max. (torch's
    ``FSDP.optim_state_dict`` on gloo returned ``exp_avg`` equal to ``exp_avg_sq`` in this torch.)
    Collective: every rank calls it.
    """
    layout = shard_layout(model)
    names = {id(p): clean_name(n) for n, p in model.named_parameters()}
    kinds = {}  # name -> {state key: (scalar?, dtype)}, from the ranks that hold state
    for group in optimizer.param_groups:
        for p in group['params']:
            for key, value in optimizer.state.get(p, {}).items():
                if torch.is_tensor(value):
                    kinds.setdefault(names[id(p)], {})[key] = (value.dim() == 0, str(value.dtype)[6:])
    every = [None] * get_world_size()
    torch.distributed.all_gather_object(every, kinds)
    for other in every:
        for name, keys in other.items():
            kinds.setdefault(name, {}).update(keys)
    keep = is_main_process()
    state, groups = {}, []
    for group in optimizer.param_groups:
        groups.append(
            dict({k: v for k, v in group.items() if k != 'params'}, params=[names[id(p)] for p in group['params']])
        )
        for p in group['params']:
            name = names[id(p)]
            shape, start, end = layout[id(p)]
            local = optimizer.state.get(p, {})
            full = {}
            for key, (scalar, dtype) in sorted(kinds.get(name, {}).items()):
                if scalar:
                    value = local.get(key, torch.zeros((), dtype=getattr(torch, dtype))).detach().clone().cpu()
                    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
                else:
                    value = torch.zeros(shape.numel(), dtype=getattr(torch, dtype))
                    if end > start:
                        value[start:end] = local[key].detach().flatten().cpu()
                    torch.distributed.all_reduce(value)
                    value = value.view(shape)
                if keep:
                    full[key] = value
            for key, value in local.items():  # non-tensor states are the same on every rank
                if not torch.is_tensor(value) and keep:
                    full[key] = value
            if keep and full:
                state[name] = full
    return dict(state=state, param_groups=groups) if keep else {}


def load_full_optim_state_dict(model: nn.Module, optimizer: torch.optim.Optimizer, state_dict: dict) -> None:
    """Give each rank its slices of a :func:`full_optim_state_dict` (every rank passes the whole dict)."""
    layout = shard_layout(model)
    names = {id(p): clean_name(n) for n, p in model.named_parameters()}
    saved = state_dict['param_groups']
    if [g['params'] for g in saved] != [[names[id(p)] for p in g['params']] for g in optimizer.param_groups]:
        raise CheckpointFormatError(
            'the optimiser state in the checkpoint is for other parameters or parameter groups than this '
            "config's optimiser (check paramwise_cfg and the model)."
        )
    for group, saved_group in zip(optimizer.param_groups, saved):
        group.update({k: v for k, v in saved_group.items() if k != 'params'})
        for p in group['params']:
            full = state_dict['state'].get(names[id(p)])
            _, start, end = layout[id(p)]
            if full is None or end == start:  # nothing of it on this rank: no state, as before saving
                optimizer.state.pop(p, None)
                continue
            optimizer.state[p] = {
                k: (v.flatten()[start:end].clone().to(p.device) if torch.is_tensor(v) and v.dim() else v)
                for k, v in full.items()
            }


def _to_cpu(state):
    from mmengine.utils import apply_to

    return apply_to(state, lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())


@RUNNERS.register_module()
class FaceFlexibleRunner(FlexibleRunner):
    """mmengine's ``FlexibleRunner`` (strategies: FSDP ...) with mcf_mm's checkpoint rules.

    - ``default_hooks.checkpoint`` builds :class:`CrashSafeCheckpointHook` (old checkpoints removed only after
      the new one is complete; sharded checkpoints are folders);
    - resume and ``load_from`` go through the strategy's weights-only reader; resume takes no config text from
      the file (mmengine's ``FlexibleRunner.resume`` would ``Config.fromstring`` ``meta['config']``).
    """

    def register_default_hooks(self, hooks: Optional[dict] = None) -> None:
        hooks = dict(hooks) if hooks is not None else {}
        ckpt = hooks.get('checkpoint', dict(type='CheckpointHook', interval=1))
        if isinstance(ckpt, dict) and (
            ckpt.get('type') in _MMENGINE_CKPT_HOOK_NAMES or ckpt.get('type') is CheckpointHook
        ):
            ckpt = dict(ckpt, type=CrashSafeCheckpointHook)
        elif isinstance(ckpt, Hook) and type(ckpt) is CheckpointHook:
            raise TypeError('default_hooks.checkpoint must be a dict (mcf_mm builds its crash-safe hook from it).')
        hooks['checkpoint'] = ckpt
        super().register_default_hooks(hooks)

    def resume(
        self,
        filename: str,
        resume_optimizer: bool = True,
        resume_param_scheduler: bool = True,
        map_location: Union[str, Callable] = 'default',
    ) -> None:
        """Resume model, optimiser, schedulers, loop position and message hub from a training checkpoint."""
        checkpoint = self.strategy.resume(
            filename,
            resume_optimizer=resume_optimizer,
            resume_param_scheduler=resume_param_scheduler,
            map_location=map_location,
            callback=lambda ckpt: self.call_hook('after_load_checkpoint', checkpoint=ckpt),
        )
        if not {'meta', 'message_hub'} <= set(checkpoint):
            raise CheckpointFormatError(
                f'{filename!r} is not a training checkpoint (no `meta`/`message_hub`); use `load_from` for weights.'
            )
        self.train_loop._epoch = checkpoint['meta']['epoch']
        self.train_loop._iter = checkpoint['meta']['iter']
        self.message_hub.load_state_dict(checkpoint['message_hub'])
        self.logger.info(f'resumed epoch: {self.epoch}, iter: {self.iter}')
