"""Checks of the training set-up that fail before the first iteration, with the fix.

BatchNorm in training mode needs more than one value per channel. Layers that see one value per channel and
sample -- ``BatchNorm1d`` on ``[N, C]`` features (MCF's projector/predictor MLPs, mmpretrain's ``NonLinearNeck``)
and BatchNorm after a global pooling (the scale-1 branch of UPer/PSP pyramid pooling, ASPP's image pool) -- crash
(``Expected more than 1 value per channel when training``) on a batch of one sample. A batch of one comes from
``batch_size=1`` per GPU or from the last, partial batch of an epoch. :class:`BatchNormBatchCheckHook` finds both
in ``before_train`` and refuses with the fix, instead of crashing at the end of the first epoch.
"""

from typing import List, Optional, Tuple

from mmengine.dataset import InfiniteSampler
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mcf_mm.registry import HOOKS


def _is_batchnorm(module: nn.Module) -> bool:
    return isinstance(module, _BatchNorm) or type(module).__name__ == 'SyncBatchNorm'  # mmcv's is no _BatchNorm


def _global_pool(module: nn.Module) -> bool:
    size = getattr(module, 'output_size', None)
    return isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) and size in (1, (1, 1))


def one_value_batchnorms(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """(name, layer) of the BatchNorm layers in training mode that see one value per channel and sample."""
    found = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm1d):
            found[name] = module
        if isinstance(module, nn.Sequential):
            children = list(module.named_children())
            pools = [i for i, (_, child) in enumerate(children) if _global_pool(child)]
            for child_name, child in children[pools[0] + 1 :] if pools else []:
                for sub_name, sub in child.named_modules():
                    if _is_batchnorm(sub):
                        found['.'.join(filter(None, (name, child_name, sub_name)))] = sub
    return [(name, bn) for name, bn in sorted(found.items()) if bn.training]


def train_batches(dataloader) -> Tuple[int, Optional[int], int]:
    """(batch size per process, size of the last partial batch or None, samples per process per epoch)."""
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    batch_size = getattr(dataloader, 'batch_size', None) or getattr(batch_sampler, 'batch_size', None)
    drop_last = bool(getattr(dataloader, 'drop_last', False) or getattr(batch_sampler, 'drop_last', False))
    sampler = getattr(batch_sampler, 'sampler', None) or getattr(dataloader, 'sampler', None)
    if batch_size is None or sampler is None or isinstance(sampler, InfiniteSampler):
        return batch_size or 0, None, 0  # an endless sampler always fills its batches
    samples = len(sampler)
    last = samples % batch_size
    return batch_size, (last if last and not drop_last else None), samples


def check_batchnorm_batches(model: nn.Module, dataloader, world_size: int = 1) -> None:
    """Raise ``ValueError`` if a training batch would give a one-value BatchNorm a single sample."""
    module = model.module if is_model_wrapper(model) else model
    modes = {m: m.training for m in module.modules()}
    module.train()  # the mode the loop trains in (a model's own train() keeps its frozen parts in eval)
    layers = one_value_batchnorms(module)
    for m, mode in modes.items():
        m.training = mode
    if not layers:
        return
    batch_size, last, samples = train_batches(dataloader)
    # SyncBatchNorm pools the batch statistics over the processes (ranks get equal shares from DefaultSampler)
    synced = world_size > 1 and all('Sync' in type(bn).__name__ for _, bn in layers)
    scale = world_size if synced else 1
    names = ', '.join(name for name, _ in layers[:4]) + (f' and {len(layers) - 4} more' if len(layers) > 4 else '')
    where = f'BatchNorm layers that see one value per channel and sample ({names})'
    if 0 < batch_size * scale < 2:
        raise ValueError(
            f'train_dataloader.batch_size={batch_size} per GPU gives the {where} a batch of 1, '
            'which fails in training: use batch_size >= 2 (--cfg-options train_dataloader.batch_size=2).'
        )
    if last is not None and last * scale < 2:
        raise ValueError(
            f'The last batch of each epoch has {last} sample ({samples} samples per GPU, '
            f'batch_size={batch_size}), which fails in the {where}: set '
            'train_dataloader.drop_last=True (--cfg-options train_dataloader.drop_last=True) or '
            'choose a batch size that leaves no single sample.'
        )


@HOOKS.register_module()
class BatchNormBatchCheckHook(Hook):
    """Refuse, before the first iteration, a batch size or last partial batch that gives BatchNorm one sample."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        check_batchnorm_batches(runner.model, runner.train_dataloader, runner.world_size)
