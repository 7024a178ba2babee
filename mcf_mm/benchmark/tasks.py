"""The benchmark's task table: one :class:`Task` entry per face task (config, metric, direction), per suite.

A new task is one more entry in :data:`SUITES`. ``cpu`` runs on the small real data sets (Helen-29, FASSEG,
UTKFace) with the CPU demo configs, shortened by each entry's ``adjust``; ``paper`` points at the published
benchmarks' ``data/`` layouts with the ViT-B/16 configs, unchanged.
"""

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from mmengine.config import Config

FAMILIES = ('alignment', 'parsing', 'classification')


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    Attributes:
        name: short id (work-dir and table column).
        config: the task config to start from, relative to the repository root.
        metric: key of the test metric to report (exact key, else the key ending in ``/<metric>``).
        better: 'lower' | 'higher'.
        label: column title (metric and unit).
        family: one of :data:`FAMILIES`.
        trained_by: for a test-only task, the task whose trained model it evaluates with its own
            ``test_dataloader``/``test_evaluator`` (e.g. FASSEG V3 poses for a V2-trained model).
        val_is_test: the config validates on the test split (then a best-validation-epoch column is the
            papers' "best epoch on test"; it is reported separately, never as the result).
        published: published numbers for this task, {method: value} (the papers' best epoch on test).
        adjust: config changes for this suite (epochs, image size), applied before backbone and protocol.
        adjust_note: the same changes in words, for results.md.
    """

    name: str
    config: str
    metric: str
    better: str
    label: str
    family: str
    trained_by: Optional[str] = None
    val_is_test: bool = False
    published: Dict[str, float] = field(default_factory=dict)
    adjust: Optional[Callable[[Config], None]] = None
    adjust_note: str = ''

    def __post_init__(self) -> None:
        if self.better not in ('lower', 'higher'):
            raise ValueError(f'task {self.name}: better={self.better!r} must be "lower" or "higher".')
        if self.family not in FAMILIES:
            raise ValueError(f'task {self.name}: family={self.family!r} must be one of {FAMILIES}.')


def set_resize(node, size: int) -> None:
    """Every ``Resize`` transform in a config tree to ``size`` x ``size``."""
    if isinstance(node, dict):
        if node.get('type') == 'Resize':
            node['scale'] = (size, size)
        for value in node.values():
            set_resize(value, size)
    elif isinstance(node, (list, tuple)):
        for item in node:
            set_resize(item, size)


def set_epochs(cfg: Config, epochs: int) -> None:
    """Shorten an epoch-based schedule to ``epochs``: the loop, the validation interval, the checkpoint
    interval, and every scheduler's begin/end/milestones/T_max scaled by epochs / old epochs (exactly for
    schedulers counted in iterations, ``convert_to_iter_based``; else rounded to whole epochs, a warm-up of
    at most one epoch kept in place)."""
    old = cfg.train_cfg.max_epochs
    ratio = epochs / old
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = max(1, min(epochs, round(cfg.train_cfg.get('val_interval', old) * ratio)))
    if cfg.get('max_epochs') is not None:
        cfg.max_epochs = epochs
    for sched in cfg.get('param_scheduler') or []:
        if not sched.get('by_epoch', True):
            continue
        if sched.get('convert_to_iter_based'):  # counted in iterations: fractional epochs are exact
            for key in ('begin', 'end'):
                if isinstance(sched.get(key), (int, float)) and sched[key] < 10**8:
                    sched[key] = sched[key] * ratio
            if 'T_max' in sched:
                sched['T_max'] = sched['T_max'] * ratio
            continue
        begin = sched.get('begin', 0)
        if begin > 1:  # a warm-up of <= 1 epoch keeps its place; later phases move with the schedule
            sched['begin'] = begin = round(begin * ratio)
        if isinstance(sched.get('end'), (int, float)) and sched['end'] < 10**8:
            sched['end'] = max(begin + 1, round(sched['end'] * ratio))
        if 'T_max' in sched:
            sched['T_max'] = max(1, round(sched['T_max'] * ratio))
        if 'milestones' in sched:
            sched['milestones'] = [max(1, round(m * ratio)) for m in sched['milestones']]
    ckpt = cfg.default_hooks.get('checkpoint')
    if ckpt is not None:
        ckpt['interval'] = epochs
        ckpt['max_keep_ckpts'] = 1


UTK_CPU_FRACTION, UTK_CPU_SEED = 1 / 3, 1234


def _utkface_cpu(cfg: Config) -> None:
    """UTKFace in the CPU suite: 32 px (the pre-training size of the small-scale study), 1 epoch over a fixed
    third of the train split (seed 1234; low-data runs take their fractions of this third)."""
    set_resize(cfg, 32)
    cfg.model.backbone.img_size = 32
    set_epochs(cfg, 1)
    cfg.train_dataloader.dataset = dict(
        _scope_='mcf_mm',
        type='FractionSubset',
        dataset=cfg.train_dataloader.dataset,
        fraction=UTK_CPU_FRACTION,
        seed=UTK_CPU_SEED,
        scope=cfg.get('default_scope'),
    )
    imports = list(cfg.get('custom_imports', {}).get('imports', []))
    cfg.custom_imports = dict(imports=imports + ['mcf_mm.benchmark.protocols'], allow_failed_imports=False)


def _helen_cpu(cfg: Config) -> None:
    set_epochs(cfg, 8)


def _fasseg_cpu(cfg: Config) -> None:
    set_epochs(cfg, 6)


ALIGN, PARSE, CLS = 'configs/face_alignment/', 'configs/face_parsing/', 'configs/face_classification/'
UTK = CLS + 'utkface/'
FARL_NOTE = 'FaRL ViT-B/16 LAION-Face 16 ep (best epoch on test)'
MCF_NOTE = 'MCF ViT-B/16 (best epoch on test)'

CPU_TASKS: List[Task] = [
    Task(
        'helen29',
        ALIGN + 'vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py',
        'NME_inter_ocular',
        'lower',
        'Helen-29 NME io',
        'alignment',
        val_is_test=True,
        adjust=_helen_cpu,
        adjust_note='8 epochs (config: 20), validation every 2 epochs on the test split',
    ),
    Task(
        'fasseg-v2',
        PARSE + 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py',
        'mF1',
        'higher',
        'FASSEG V2 F1',
        'parsing',
        val_is_test=True,
        adjust=_fasseg_cpu,
        adjust_note='6 epochs of the 5x repeated 20 train images (config: 20), lr x0.1 after epoch 4',
    ),
    Task(
        'fasseg-v3pose',
        PARSE + 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v3pose-test-128px.py',
        'mF1',
        'higher',
        'FASSEG V3 poses F1',
        'parsing',
        trained_by='fasseg-v2',
        adjust=_fasseg_cpu,
        adjust_note='the fasseg-v2 model tested on the V3 multi-pose test set',
    ),
    Task(
        'utkface-age',
        UTK + 'vit-demo-p4_reg_1xb64-4e_utkface-age-64px.py',
        'MAE_age',
        'lower',
        'UTKFace age MAE (y)',
        'classification',
        adjust=_utkface_cpu,
        adjust_note='32 px, 1 epoch over a fixed third (seed 1234) of the train split (config: 64 px, 4 epochs, all)',
    ),
    Task(
        'utkface-gender',
        UTK + 'vit-demo-p4_linear_1xb64-4e_utkface-gender-64px.py',
        'accuracy/top1',
        'higher',
        'UTKFace gender acc',
        'classification',
        adjust=_utkface_cpu,
        adjust_note='32 px, 1 epoch over a fixed third (seed 1234) of the train split (config: 64 px, 4 epochs, all)',
    ),
    Task(
        'utkface-race',
        UTK + 'vit-demo-p4_linear_1xb64-4e_utkface-race-64px.py',
        'accuracy/top1',
        'higher',
        'UTKFace race acc',
        'classification',
        adjust=_utkface_cpu,
        adjust_note='32 px, 1 epoch over a fixed third (seed 1234) of the train split (config: 64 px, 4 epochs, all)',
    ),
]

EXPR = CLS + 'expression/'
PAPER_TASKS: List[Task] = [
    Task(
        'aflw19',
        ALIGN + 'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py',
        'NME_diag',
        'lower',
        'AFLW-19 NME diag',
        'alignment',
        val_is_test=True,
        published={FARL_NOTE: 0.943, MCF_NOTE: 0.932},
    ),
    Task(
        '300w',
        ALIGN + 'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-250e_300w-512px.py',
        'NME_inter_ocular',
        'lower',
        '300W NME io (full)',
        'alignment',
        val_is_test=True,
        published={FARL_NOTE: 2.93},
    ),
    Task(
        'wflw',
        ALIGN + 'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_wflw-512px.py',
        'NME_inter_ocular',
        'lower',
        'WFLW NME io',
        'alignment',
        val_is_test=True,
        published={FARL_NOTE: 3.96},
    ),
    Task(
        'lapa',
        PARSE + 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py',
        'mF1',
        'higher',
        'LaPa F1',
        'parsing',
        val_is_test=True,
        published={FARL_NOTE: 93.88, MCF_NOTE: 93.96},
    ),
    Task(
        'celebamask-hq',
        PARSE + 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_celebamask-hq-512px.py',
        'mF1',
        'higher',
        'CelebAMask-HQ F1',
        'parsing',
        val_is_test=True,
        published={FARL_NOTE: 89.56},
    ),
    Task(
        'raf-db',
        EXPR + 'vit-base-p16_mcf-16e-pre_linear_8xb32-30e_raf-db-224px.py',
        'accuracy/top1',
        'higher',
        'RAF-DB acc',
        'classification',
        published={'MCF ViT-B/16 (as reported by later papers)': 86.86},
    ),
    Task(
        'affectnet-7',
        EXPR + 'vit-base-p16_mcf-16e-pre_linear_8xb32-10e_affectnet-7-224px.py',
        'accuracy/top1',
        'higher',
        'AffectNet-7 acc',
        'classification',
        published={'MCF ViT-B/16 (as reported by later papers)': 60.98},
    ),
    Task(
        'affectnet-8',
        EXPR + 'vit-base-p16_mcf-16e-pre_linear_8xb32-10e_affectnet-8-224px.py',
        'accuracy/top1',
        'higher',
        'AffectNet-8 acc',
        'classification',
    ),
    Task(
        'celeba-attr',
        CLS + 'attributes/vit-base-p16_mcf-16e-pre_linear_8xb32-20e_celeba-224px.py',
        'attr/mean_accuracy',
        'higher',
        'CelebA 40-attr mean acc',
        'classification',
        published={'MCF ViT-B/16 (as reported by later papers)': 91.33},
    ),
    Task(
        'head-pose',
        CLS + 'head_pose/vit-base-p16_mcf-16e-pre_reg_8xb32-30e_300w-lp-aflw2000-224px.py',
        'MAE',
        'lower',
        'AFLW2000 pose MAE (deg)',
        'classification',
    ),
]

FAS = CLS + 'anti_spoofing/vit-base-p16_mcf-16e-pre_linear_4xb32-20e_fas-{}-224px.py'
FAS_PUBLISHED = {'oci2m': 4.0, 'ocm2i': 8.02, 'icm2o': 10.7}  # MCF as reported by later papers (HTER, %)
PAPER_TASKS += [
    Task(
        f'fas-{split}',
        FAS.format(split),
        'HTER',
        'lower',
        f'FAS {split.upper().replace("2", "->")} HTER',
        'classification',
        published={'MCF ViT-B/16 (as reported by later papers)': FAS_PUBLISHED[split]}
        if split in FAS_PUBLISHED
        else {},
    )
    for split in ('oci2m', 'omi2c', 'ocm2i', 'icm2o')
]

SUITES: Dict[str, List[Task]] = {'cpu': CPU_TASKS, 'paper': PAPER_TASKS}


def get_tasks(suite: str, names: Optional[List[str]] = None) -> List[Task]:
    """The tasks of ``suite`` (all, or those named, in table order); test-only tasks bring their trainer."""
    if suite not in SUITES:
        raise ValueError(f'--suite {suite!r} is unknown; choose one of {sorted(SUITES)}.')
    table = {t.name: t for t in SUITES[suite]}
    if names:
        unknown = [n for n in names if n not in table]
        if unknown:
            raise ValueError(f'unknown task(s) {unknown} in suite {suite!r}; choose from {list(table)}.')
        wanted = set(names) | {table[n].trained_by for n in names if table[n].trained_by}
    else:
        wanted = set(table)
    return [t for t in SUITES[suite] if t.name in wanted]
