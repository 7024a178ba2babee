"""Transfer protocols of the benchmark: full fine-tuning, frozen backbone (linear probe), low-data fine-tuning.

Low-data runs train on a fixed, seeded fraction of the training set (FaRL's low-data regime): the subset of
fraction ``f`` and seed ``s`` is the first ``max(1, round(f * n))`` indices of one seeded permutation of the
``n`` training samples, so the subsets of one seed are nested (1 % inside 10 % inside 100 %) and every run
with the same (fraction, seed) trains on the same samples. Low-data runs keep the task's epochs (so they
have ``fraction`` of its iterations; an EMA's window is scaled to match, see :func:`scale_ema`).
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS as ROOT_DATASETS
from mmengine.registry import DefaultScope

from mcf_mm.registry import DATASETS

PROTOCOLS = ('finetune', 'linear', 'lowdata')
WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')  # mmengine wrappers with one inner `dataset`


def subset_indices(n: int, fraction: float, seed: int) -> np.ndarray:
    """The training indices of a low-data run: a prefix of a seeded permutation of range(n)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f'fraction={fraction} must lie in (0, 1].')
    if n < 1:
        raise ValueError('the training set is empty: no low-data subset can be drawn.')
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: max(1, int(round(fraction * n)))])


@DATASETS.register_module()
class FractionSubset:
    """A fixed, seeded fraction of a dataset (see :func:`subset_indices`); metainfo and items from it.

    Args:
        dataset: the dataset or its config.
        fraction: the share of samples kept, in (0, 1].
        seed: the subset's seed.
        scope: the registry scope the inner dataset is built in (the config's ``default_scope``).
        lazy_init: build the index only on first use (as mmengine's wrappers).
    """

    def __init__(
        self, dataset, fraction: float, seed: int = 0, scope: Optional[str] = None, lazy_init: bool = False
    ) -> None:
        if isinstance(dataset, dict):  # built in the config's scope (this wrapper is built in mcf_mm's)
            with DefaultScope.overwrite_default_scope(scope):
                dataset = ROOT_DATASETS.build(dataset)
        self.dataset = dataset
        self.fraction, self.seed = float(fraction), int(seed)
        self.indices: Optional[np.ndarray] = None
        subset_indices(1, self.fraction, self.seed)  # checks the fraction now
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def full_init(self) -> None:
        if self.indices is not None:
            return
        if isinstance(self.dataset, BaseDataset):
            self.dataset.full_init()
        self.indices = subset_indices(len(self.dataset), self.fraction, self.seed)

    def __len__(self) -> int:
        self.full_init()
        return len(self.indices)

    def __getitem__(self, idx: int):
        self.full_init()
        return self.dataset[int(self.indices[idx])]


@dataclass(frozen=True)
class Protocol:
    """One transfer protocol: ``name`` in :data:`PROTOCOLS`, ``fraction`` (of the train set, 1.0 unless
    low-data)."""

    name: str
    fraction: float = 1.0

    @property
    def key(self) -> str:
        return self.name if self.name != 'lowdata' else f'lowdata{self.fraction:g}'

    @property
    def label(self) -> str:
        return {
            'finetune': 'fine-tune',
            'linear': 'frozen backbone',
            'lowdata': f'fine-tune, {self.fraction:.0%} of train',
        }[self.name]


def make_protocols(names: Sequence[str], fractions: Sequence[float]) -> List[Protocol]:
    unknown = [n for n in names if n not in PROTOCOLS]
    if unknown:
        raise ValueError(f'unknown protocol(s) {unknown}; choose from {PROTOCOLS}.')
    out = []
    for name in names:
        if name == 'lowdata':
            if not fractions:
                raise ValueError('the lowdata protocol needs --fractions (e.g. 0.1 0.3).')
            for f in fractions:
                subset_indices(1, f, 0)  # a fraction outside (0, 1] fails here, before any run
                out.append(Protocol('lowdata', float(f)))
        else:
            out.append(Protocol(name))
    return out


def _wrap_base(node: dict, wrap) -> dict:
    """Wrap the innermost dataset below mmengine's one-dataset wrappers (RepeatDataset, ...)."""
    if node.get('type') in WRAPPERS or str(node.get('type')).split('.')[-1] in WRAPPERS:
        node['dataset'] = _wrap_base(node['dataset'], wrap)
        return node
    return wrap(node)


def freeze_backbone(cfg: Config) -> None:
    """Frozen backbone: mmpretrain's ``frozen_stages`` = depth (patch/position embedding, pre-norm, every
    block, and the pooling norm stop their gradients), no stochastic depth or dropout in it."""
    from .backbones import _arch_dims

    bb = cfg.model.backbone
    bb.frozen_stages = _arch_dims(bb.arch)['num_layers']
    bb.drop_path_rate = 0.0
    bb.drop_rate = 0.0


def scale_ema(cfg: Config, fraction: float) -> None:
    """Low-data runs keep the epochs, so they have ``fraction`` of the iterations: an EMAHook's momentum
    becomes ``min(1, momentum / fraction)`` so that its averaging window stays the same share of the run
    (otherwise a 0.99 average over a few dozen steps would still be mostly the initial weights)."""
    for hook in cfg.get('custom_hooks') or []:
        if str(hook.get('type')).split('.')[-1] == 'EMAHook':
            hook['momentum'] = min(1.0, hook.get('momentum', 0.0002) / fraction)


def apply_protocol(cfg: Config, protocol: Protocol, seed: int) -> None:
    """Change ``cfg`` (a task config already following its backbone) to ``protocol``."""
    if protocol.name == 'linear':
        freeze_backbone(cfg)
    elif protocol.name == 'lowdata':
        ds = cfg.train_dataloader.dataset
        cfg.train_dataloader.dataset = _wrap_base(
            ds,
            lambda inner: dict(
                _scope_='mcf_mm',
                type='FractionSubset',
                dataset=inner,
                fraction=protocol.fraction,
                seed=seed,
                scope=cfg.get('default_scope'),
            ),
        )
        scale_ema(cfg, protocol.fraction)
        imports = list(cfg.get('custom_imports', {}).get('imports', []))
        cfg.custom_imports = dict(imports=imports + ['mcf_mm.benchmark.protocols'], allow_failed_imports=False)
