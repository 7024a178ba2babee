"""mcf_mm's runner: mmengine's Runner with weights-only checkpoint reading and crash-safe checkpoint writing."""

import os.path as osp
import re
import time
import warnings
from typing import Optional

import mmengine
from mmengine.dist import master_only
from mmengine.fileio import FileClient, get_file_backend, join_path
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model, save_checkpoint, weights_to_cpu
from mmengine.utils import apply_to, get_git_hash

from mcf_mm.checkpoint import CheckpointFormatError, check_fits
from mcf_mm.registry import RUNNERS

from .checkpoint_io import find_resumable_checkpoint, read_runner_checkpoint, save_checkpoint_file
from .hooks.checkpoint_hook import CrashSafeCheckpointHook
from .plain_state import to_plain

_MMENGINE_CKPT_HOOK_NAMES = ('CheckpointHook', 'mmengine.CheckpointHook')


def _to_cpu(state):
    return apply_to(state, lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())


@RUNNERS.register_module()
class FaceRunner(Runner):
    """mmengine ``Runner`` used by ``tools/train.py`` and ``tools/test.py`` for every mcf_mm config.

    Differences from mmengine's ``Runner``, all about checkpoints:

    - files are written in a plain form that ``torch.load(weights_only=True)`` reads with no extra globals
      (message hub, numpy values and RNG states converted, rebuilt exactly on load), via a temporary file,
      fsync and rename; ``default_hooks.checkpoint`` builds :class:`CrashSafeCheckpointHook` (same options),
      which removes outdated checkpoints only after the new one is complete;
    - resume, ``load_from`` and testing read checkpoints weights-only: a file whose pickle needs any code is
      refused with a message naming it (nothing in it runs);
    - ``--resume`` without a path picks the newest complete checkpoint when ``last_checkpoint`` is stale.
    """

    _resuming = False

    def register_default_hooks(self, hooks: Optional[dict] = None) -> None:
        """Register mmengine's default hooks with the crash-safe checkpoint hook in place of ``CheckpointHook``."""
        hooks = dict(hooks) if hooks is not None else {}
        defaults = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler', 'checkpoint')
        hooks = {k: v for k, v in hooks.items() if v is not None or k in defaults}  # `name=None`: no such hook
        ckpt = hooks.get('checkpoint', dict(type='CheckpointHook', interval=1))
        if isinstance(ckpt, dict) and (
            ckpt.get('type') in _MMENGINE_CKPT_HOOK_NAMES or ckpt.get('type') is CheckpointHook
        ):
            ckpt = dict(ckpt, type=CrashSafeCheckpointHook)
        elif isinstance(ckpt, Hook) and type(ckpt) is CheckpointHook:
            warnings.warn(
                'default_hooks.checkpoint is a built mmengine CheckpointHook: its writes are not '
                'crash-safe; give its options as a dict instead.'
            )
        hooks['checkpoint'] = ckpt
        super().register_default_hooks(hooks)

    def _checkpoint_location(self):
        """(folder, file name template) of the checkpoints the checkpoint hook writes."""
        for hook in self._hooks:
            if isinstance(hook, CrashSafeCheckpointHook):
                return hook.checkpoint_dir(self), hook.filename_tmpl
            if isinstance(hook, CheckpointHook):
                out_dir = hook.out_dir
                folder = (
                    self.work_dir
                    if out_dir in (None, self.work_dir)
                    else osp.join(out_dir, osp.basename(self.work_dir.rstrip(osp.sep)))
                )
                return folder, hook.filename_tmpl
        return self.work_dir, 'epoch_{}.pth'

    def load_or_resume(self) -> None:
        """Load ``load_from`` or resume; auto-resume uses the newest complete checkpoint."""
        if self._has_loaded:
            return
        if self._resume and self._load_from is None:
            folder, tmpl = self._checkpoint_location()
            resume_from = find_resumable_checkpoint(self.work_dir, folder, tmpl, logger=self.logger)
            if resume_from is None:
                self.logger.info(f'No complete checkpoint in {folder} to resume from: training starts anew.')
                return
            self.logger.info(f'Auto resumed from the latest checkpoint {resume_from}.')
            self.resume(resume_from)
        elif self._resume:
            self.resume(self._load_from)
        elif self._load_from is not None:
            self.load_checkpoint(self._load_from)
        else:
            return
        self._has_loaded = True

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's resume, through the weights-only reader; the file must be a runner checkpoint."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(
        self, filename: str, map_location='cpu', strict: bool = False, revise_keys: list = [(r'^module.', '')]
    ) -> dict:
        """Load weights (and return the whole checkpoint) without running code from the file."""
        checkpoint = read_runner_checkpoint(filename, map_location=map_location)
        if self._resuming and not {'meta', 'message_hub'} <= set(checkpoint):
            raise CheckpointFormatError(
                f'{filename!r} is not a training checkpoint (no `meta`/`message_hub`, keys {list(checkpoint)[:5]}); '
                '--resume needs a file written by tools/train.py. To start from these weights use `load_from`.'
            )
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        state = checkpoint.get('state_dict', checkpoint)
        for pattern, repl in revise_keys:
            state = {re.sub(pattern, repl, k): v for k, v in state.items()}
        # a checkpoint of another model is refused, not loaded half with a warning
        check_fits(model.state_dict(), state, checkpoint, filename, f'a {type(model).__name__} of this config')
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    @master_only
    def save_checkpoint(
        self,
        out_dir: str,
        filename: str,
        file_client_args: Optional[dict] = None,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        meta: Optional[dict] = None,
        by_epoch: bool = True,
        backend_args: Optional[dict] = None,
    ) -> None:
        """mmengine's checkpoint content, stored as plain data and written crash-safely (local paths)."""
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            raise TypeError(f'meta should be a dict or None, but got {type(meta)}')
        meta.setdefault('epoch', self.epoch + 1 if by_epoch else self.epoch)
        meta.setdefault('iter', self.iter if by_epoch else self.iter + 1)
        if file_client_args is not None:
            filepath = FileClient.infer_client(file_client_args, out_dir).join_path(out_dir, filename)
        else:
            filepath = join_path(out_dir, filename, backend_args=backend_args)
        meta.update(
            cfg=self.cfg.pretty_text,
            seed=self.seed,
            experiment_name=self.experiment_name,
            time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
            mmengine_version=mmengine.__version__ + get_git_hash(),
        )
        if hasattr(self.train_dataloader.dataset, 'metainfo'):
            meta.update(dataset_meta=self.train_dataloader.dataset.metainfo)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = dict(
            meta=meta, state_dict=weights_to_cpu(model.state_dict()), message_hub=_to_cpu(self.message_hub.state_dict())
        )
        if save_optimizer:
            if not isinstance(self.optim_wrapper, OptimWrapper):
                raise TypeError(
                    f'self.optim_wrapper should be an `OptimWrapper` or `OptimWrapperDict` instance, '
                    f'but got {self.optim_wrapper}'
                )
            checkpoint['optimizer'] = _to_cpu(self.optim_wrapper.state_dict())
        if save_param_scheduler and self.param_schedulers is None:
            self.logger.warning(
                '`save_param_scheduler` is True but `self.param_schedulers` is None, so skip '
                'saving parameter schedulers'
            )
            save_param_scheduler = False
        if save_param_scheduler:
            if isinstance(self.param_schedulers, dict):
                checkpoint['param_schedulers'] = {
                    name: [s.state_dict() for s in schedulers] for name, schedulers in self.param_schedulers.items()
                }
            else:
                checkpoint['param_schedulers'] = [s.state_dict() for s in self.param_schedulers]
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        plain = to_plain(checkpoint)
        if file_client_args is None and isinstance(get_file_backend(filepath, backend_args=backend_args), LocalBackend):
            save_checkpoint_file(plain, filepath)
        else:  # object stores: one put per file, already all-or-nothing
            save_checkpoint(plain, filepath, file_client_args=file_client_args, backend_args=backend_args)
