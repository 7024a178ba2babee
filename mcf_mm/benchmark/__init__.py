"""One command, every face task: the backbone benchmark (tools/benchmark_backbone.py, docs/benchmark.md).

``tasks`` (the task table per suite), ``backbones`` (checkpoints -> config changes), ``protocols``
(fine-tune, frozen backbone, low-data subsets), ``runner`` (plan, run in parallel, resume), ``report``
(results.md, results.json, plots).
"""

from .backbones import Backbone, apply_backbone, parse_backbone, parse_backbones
from .protocols import PROTOCOLS, FractionSubset, Protocol, apply_protocol, make_protocols, subset_indices
from .report import collect, metric_value, summarise, write_reports
from .runner import Run, derive_config, plan_runs, run_all
from .tasks import SUITES, Task, get_tasks

__all__ = [
    'PROTOCOLS',
    'SUITES',
    'Backbone',
    'FractionSubset',
    'Protocol',
    'Run',
    'Task',
    'apply_backbone',
    'apply_protocol',
    'collect',
    'derive_config',
    'get_tasks',
    'make_protocols',
    'metric_value',
    'parse_backbone',
    'parse_backbones',
    'plan_runs',
    'run_all',
    'subset_indices',
    'summarise',
    'write_reports',
]
