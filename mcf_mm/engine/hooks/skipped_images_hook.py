"""Reporting of the unreadable images a training set skipped."""
from mmengine.hooks import Hook

from mcf_mm.registry import HOOKS


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """Log how many unreadable images the training set skipped, after every epoch and at the end."""

    def _report(self, runner, when: str) -> None:
        dataset = runner.train_dataloader.dataset
        while hasattr(dataset, 'dataset') and not hasattr(dataset, 'num_skipped'):
            dataset = dataset.dataset  # unwrap RepeatDataset / ConcatDataset-like wrappers
        if hasattr(dataset, 'num_skipped'):
            runner.message_hub.update_info('num_skipped_images', dataset.num_skipped)
            runner.logger.info(f'{when}: skipped {dataset.num_skipped} unreadable images of '
                               f'{dataset.num_checked} read ({len(dataset)} in the dataset).')

    def after_train_epoch(self, runner) -> None:
        self._report(runner, f'epoch {runner.epoch}')

    def after_train(self, runner) -> None:
        self._report(runner, 'training finished')
