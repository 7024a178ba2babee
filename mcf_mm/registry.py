"""Registries of mcf_mm: one node per mmengine registry, each a child of mmpretrain's, scope ``mcf_mm``.

mmpretrain's names resolve inside this scope, and mmpose/mmseg configs reach mcf_mm modules with
``dict(_scope_='mcf_mm', type=...)``.
"""

from mmengine.registry import Registry
from mmpretrain import registry as pre

_LOC = 'mcf_mm'


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    """A child of ``parent`` whose lazy imports cover our modules and the parent's (mmpretrain's)."""
    own = [f'{_LOC}.{loc}' for loc in locations]
    return Registry(name, parent=parent, scope=_LOC, locations=own + list(parent._locations))


RUNNERS = _child('runner', pre.RUNNERS, 'engine')
RUNNER_CONSTRUCTORS = _child('runner constructor', pre.RUNNER_CONSTRUCTORS, 'engine')
LOOPS = _child('loop', pre.LOOPS, 'engine')
HOOKS = _child('hook', pre.HOOKS, 'engine')
LOG_PROCESSORS = _child('log processor', pre.LOG_PROCESSORS, 'engine')
OPTIMIZERS = _child('optimizer', pre.OPTIMIZERS, 'engine')
OPTIM_WRAPPERS = _child('optim_wrapper', pre.OPTIM_WRAPPERS, 'engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor', pre.OPTIM_WRAPPER_CONSTRUCTORS, 'engine')
PARAM_SCHEDULERS = _child('parameter scheduler', pre.PARAM_SCHEDULERS, 'engine')
DATASETS = _child('dataset', pre.DATASETS, 'datasets')
DATA_SAMPLERS = _child('data sampler', pre.DATA_SAMPLERS, 'datasets')
TRANSFORMS = _child('transform', pre.TRANSFORMS, 'datasets')
MODELS = _child('model', pre.MODELS, 'models')
MODEL_WRAPPERS = _child('model_wrapper', pre.MODEL_WRAPPERS, 'models')
WEIGHT_INITIALIZERS = _child('weight initializer', pre.WEIGHT_INITIALIZERS, 'models')
BATCH_AUGMENTS = _child('batch augment', pre.BATCH_AUGMENTS, 'models')
TASK_UTILS = _child('task util', pre.TASK_UTILS, 'models')
METRICS = _child('metric', pre.METRICS, 'engine')
EVALUATORS = _child('evaluator', pre.EVALUATORS, 'engine')
VISUALIZERS = _child('visualizer', pre.VISUALIZERS, 'engine')
VISBACKENDS = _child('vis_backend', pre.VISBACKENDS, 'engine')
