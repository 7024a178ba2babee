"""mmengine's CheckpointHook with an order of operations that survives a SIGKILL at any moment."""

import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from mcf_mm.registry import HOOKS

from ..checkpoint_io import remove_partial_writes, write_text_file

_PENDING_KEY = 'ckpts_to_remove'
_LEGACY_KEEP_KEY = 'keep_ckpt_ids'  # mmengine's key, shared by all checkpoint hooks


@HOOKS.register_module()
class CrashSafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same options) whose checkpoints are complete whenever the process dies.

    - checkpoint files and ``last_checkpoint`` are written to a temporary file, fsynced and renamed (by
      ``FaceRunner.save_checkpoint``), so ``last_checkpoint`` is never empty and never names a partial file;
    - with ``max_keep_ckpts`` (and ``save_best``) an old checkpoint is removed only after the new one and
      ``last_checkpoint`` are complete; removals a kill interrupted are finished at the next start;
    - temporary files of an interrupted write are deleted at the next start;
    - each hook keeps its own list of kept checkpoints (message-hub key ``keep_ckpt_ids:<filename_tmpl>``, see
      :meth:`keep_key`), so an epoch hook and an iteration hook may both set ``max_keep_ckpts``; a checkpoint
      written before, with mmengine's one ``keep_ckpt_ids`` list, gives that list to the hook(s) of whose name
      template every listed checkpoint file exists.
    ``FaceRunner`` uses it in place of mmengine's ``CheckpointHook`` with the options of
    ``default_hooks.checkpoint``.
    """

    def checkpoint_dir(self, runner) -> str:
        """Where checkpoints go (mmengine's rule: ``out_dir`` joined with the work dir's name, or the work dir)."""
        if getattr(self, '_resolved_out_dir', None) is not None:
            return self._resolved_out_dir
        if self.out_dir is None or self.out_dir == runner.work_dir:
            return runner.work_dir
        return osp.join(self.out_dir, osp.basename(runner.work_dir.rstrip(osp.sep)))

    def _is_local(self) -> bool:
        return not hasattr(self, 'file_backend') or isinstance(self.file_backend, LocalBackend)

    def before_run(self, runner) -> None:
        """Remove temporary files of a write that a kill interrupted (before a resume looks for checkpoints)."""
        if not is_main_process():
            return
        for folder in {runner.work_dir, self.checkpoint_dir(runner)}:
            if '://' not in folder:
                for path in remove_partial_writes(folder):
                    runner.logger.warning(f'Removed {path}, left by an interrupted checkpoint write.')

    def keep_key(self) -> str:
        """The message-hub key of this hook's kept checkpoint steps (one per file name template)."""
        return f'{_LEGACY_KEEP_KEY}:{self.filename_tmpl}'

    def _own_keep_ids(self, runner) -> list:
        """This hook's kept steps: its own key, else (a checkpoint of the shared list) mmengine's list when
        every checkpoint it names is a file of this hook's name template."""
        info = runner.message_hub.runtime_info
        if self.keep_key() in info:
            return list(info[self.keep_key()])
        legacy = list(info.get(_LEGACY_KEEP_KEY) or [])
        if legacy and '://' not in self.checkpoint_dir(runner):
            folder = self.checkpoint_dir(runner)
            return legacy if all(osp.exists(osp.join(folder, self.filename_tmpl.format(s))) for s in legacy) else []
        return legacy

    def before_train(self, runner) -> None:
        info = runner.message_hub.runtime_info
        shared = info.get(_LEGACY_KEEP_KEY)
        info[_LEGACY_KEEP_KEY] = self._own_keep_ids(runner)  # mmengine's before_train reads (and trims) it there
        try:
            super().before_train(runner)
        finally:
            if shared is None:
                info.pop(_LEGACY_KEEP_KEY, None)
            else:
                info[_LEGACY_KEEP_KEY] = shared
        if self.max_keep_ckpts > 0:
            runner.message_hub.update_info(self.keep_key(), list(self.keep_ckpt_ids))
        self._resolved_out_dir = self.out_dir
        pending = runner.message_hub.get_info(_PENDING_KEY) or []
        keep = {str(self.out_dir_path(step)) for step in getattr(self, 'keep_ckpt_ids', [])}
        current = {runner.message_hub.get_info('last_ckpt'), runner.message_hub.get_info('best_ckpt')}
        current |= {p for p in getattr(self, 'best_ckpt_path_dict', {}).values() if p}
        self._remove(runner, [p for p in pending if p not in keep and p not in current])
        runner.message_hub.update_info(_PENDING_KEY, [])

    def out_dir_path(self, step: int) -> str:
        return self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))

    def _remove(self, runner, paths) -> None:
        if not is_main_process():
            return
        for path in paths:
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
                runner.logger.info(f'Removed the outdated checkpoint {path}.')
            elif self.file_backend.isdir(path):  # checkpoints saved by deepspeed are directories
                self.file_backend.rmtree(path)

    def _write_last_checkpoint(self, runner) -> None:
        if is_main_process():
            write_text_file(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))

    def _save_checkpoint_with_step(self, runner, step, meta):
        """Save first, point ``last_checkpoint`` at it, and only then delete the checkpoint it replaces."""
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.out_dir_path(self.keep_ckpt_ids.popleft()))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info(self.keep_key(), list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        pending = list(runner.message_hub.get_info(_PENDING_KEY) or [])
        runner.message_hub.update_info(_PENDING_KEY, pending + [p for p in outdated if p not in pending])
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            return
        self._write_last_checkpoint(runner)
        self._remove(runner, [p for p in runner.message_hub.get_info(_PENDING_KEY) if p != self.last_ckpt])
        runner.message_hub.update_info(_PENDING_KEY, [])

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic, but the previous best is removed after the new one is saved."""
        if not self.save_best:
            return
        cur_type, cur_time = ('epoch', runner.epoch) if self.by_epoch else ('iter', runner.iter)
        ckpt_filename = self.filename_tmpl.format(cur_time)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        single = len(self.key_indicators) == 1
        updated = False
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            score_key = 'best_score' if single else f'best_score_{key_indicator}'
            path_key = 'best_ckpt' if single else f'best_ckpt_{key_indicator}'
            previous = self.best_ckpt_path if single else self.best_ckpt_path_dict[key_indicator]
            best_score = runner.message_hub.get_info(score_key, self.init_value_map[rule])
            key_score = metrics[key_indicator]
            if key_score is None or not self.is_better_than[key_indicator](key_score, best_score):
                continue
            runner.message_hub.update_info(score_key, key_score)
            name = f'best_{key_indicator}_{ckpt_filename}'.replace('/', '_')
            path = self.file_backend.join_path(self.out_dir, name)
            if single:
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key_indicator] = path
            runner.message_hub.update_info(path_key, path)
            updated = True
            if previous and previous != path:  # removed once the new best and last checkpoint are saved
                pending = list(runner.message_hub.get_info(_PENDING_KEY) or [])
                runner.message_hub.update_info(_PENDING_KEY, pending + [previous])
            runner.save_checkpoint(
                self.out_dir,
                filename=name,
                file_client_args=self.file_client_args,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=meta,
                by_epoch=False,
                backend_args=self.backend_args,
            )
            runner.logger.info(
                f'The best checkpoint with {key_score:0.4f} {key_indicator} at {cur_time} '
                f'{cur_type} is saved to {name}.'
            )
        if updated and self.last_ckpt is not None:
            # re-save the latest checkpoint so that it records the new best (mmengine does the same)
            self._save_checkpoint_with_step(runner, cur_time, meta)
        elif updated:
            self._remove(runner, runner.message_hub.get_info(_PENDING_KEY) or [])
            runner.message_hub.update_info(_PENDING_KEY, [])
