"""Plan, run and resume the benchmark's runs: one run = (backbone, task, protocol, seed), trained and tested
in its own folder through mcf_mm's runner; a run is finished when its test metrics files exist.

Runs execute in worker processes (``jobs`` at a time, ``threads`` torch/OpenMP threads each); each worker
imports the toolboxes once and trains its runs one after another (no per-run interpreter start-up).
"""

import json
import os
import os.path as osp
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from mcf_mm.utils.fileio import atomic_write_bytes

from .backbones import Backbone, apply_backbone
from .protocols import Protocol, apply_protocol
from .tasks import Task

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@dataclass
class Run:
    """One run: trains ``task`` from ``backbone`` under ``protocol`` with ``seed``, tests it on ``task`` and
    on the test-only tasks in ``also_test``."""

    backbone: Backbone
    task: Task
    protocol: Protocol
    seed: int
    work_dir: str
    also_test: List[Task] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f'{self.backbone.name}/{self.task.name}/{self.protocol.key}/seed{self.seed}'

    def metrics_file(self, task: Task) -> str:
        return osp.join(self.work_dir, f'metrics_{task.name}.json')

    @property
    def finished(self) -> bool:
        return all(osp.isfile(self.metrics_file(t)) for t in [self.task, *self.also_test])


def derive_config(
    task: Task,
    backbone: Backbone,
    protocol: Protocol,
    seed: int,
    work_dir: str,
    workers: Optional[int] = None,
    data_root: Optional[Dict[str, str]] = None,
) -> Config:
    """The config of one run: the task's config, its suite adjustment, the backbone, the protocol, the seed."""
    path = osp.join(REPO, task.config)
    if not osp.isfile(path):
        raise FileNotFoundError(f'task {task.name}: config {task.config} does not exist (the task table is stale).')
    cfg = Config.fromfile(path)
    if task.adjust is not None:
        task.adjust(cfg)
    notes = apply_backbone(cfg, backbone)
    apply_protocol(cfg, protocol, seed)
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.experiment_name = f'bench_{backbone.name}_{task.name}_{protocol.key}_seed{seed}'
    if workers is not None:
        for loader in LOADERS:
            if cfg.get(loader) is not None:
                cfg[loader].num_workers = workers
                cfg[loader].persistent_workers = workers > 0
    if data_root:
        _set_data_roots(cfg._cfg_dict, data_root)
    cfg.benchmark_notes = notes
    return cfg


def _set_data_roots(node, roots: Dict[str, str]) -> None:
    """Tests: every dataset ``data_root`` whose folder name is a key of ``roots`` points at its value."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'data_root' and isinstance(value, str):
                name = osp.basename(value.rstrip('/'))
                if name in roots:
                    node[key] = roots[name]
            else:
                _set_data_roots(value, roots)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _set_data_roots(item, roots)


def plan_runs(
    backbones: Sequence[Backbone],
    tasks: Sequence[Task],
    protocols: Sequence[Protocol],
    seeds: Sequence[int],
    work_dir: str,
) -> List[Run]:
    """Every run, in a stable order; test-only tasks ride on the run of the task that trains their model."""
    trained = [t for t in tasks if t.trained_by is None]
    names = {t.name for t in trained}
    orphans = [t.name for t in tasks if t.trained_by is not None and t.trained_by not in names]
    if orphans:
        raise ValueError(f'test-only task(s) {orphans} need their training task in --tasks.')
    runs = []
    for protocol in protocols:  # protocol-major: a benchmark cut short has whole protocols, not whole tasks
        for task in trained:
            extra = [t for t in tasks if t.trained_by == task.name]
            for seed in seeds:
                for backbone in backbones:
                    folder = osp.join(work_dir, 'runs', backbone.name, task.name, protocol.key, f'seed{seed}')
                    runs.append(Run(backbone, task, protocol, seed, folder, extra))
    return runs


def prepare(run: Run, workers: Optional[int] = None, data_root: Optional[Dict[str, str]] = None) -> dict:
    """Write the run's configs (its own, and one per test-only task); return what the worker needs."""
    os.makedirs(run.work_dir, exist_ok=True)
    cfg = derive_config(run.task, run.backbone, run.protocol, run.seed, run.work_dir, workers, data_root)
    main = osp.join(run.work_dir, 'config.py')
    cfg.dump(main)
    tests = {}
    for extra in run.also_test:
        ecfg = derive_config(extra, run.backbone, run.protocol, run.seed, run.work_dir, workers, data_root)
        tests[extra.name] = osp.join(run.work_dir, f'test_{extra.name}.py')
        ecfg.dump(tests[extra.name])
    return dict(
        name=run.name,
        config=main,
        work_dir=run.work_dir,
        task=run.task.name,
        metric=run.task.metric,
        tests=tests,
        notes=list(cfg.benchmark_notes),
    )


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _dump(obj, path: str) -> None:
    atomic_write_bytes(json.dumps(obj, indent=2, default=float).encode(), path)


def use_ema_weights(runner) -> None:
    """Put an EMAHook's averaged weights into the model for good before ``runner.test()``.

    ``Runner.test`` calls ``before_run`` again, where EMAHook copies the *model* as its new average: without
    this, the test after ``train()`` would score the raw weights, while tools/test.py on the saved
    checkpoint (whose state_dict holds the average) scores the average.
    """
    from mmengine.hooks import EMAHook

    for hook in runner.hooks:
        if isinstance(hook, EMAHook):
            hook._swap_ema_parameters()


def _fast_pretty_text() -> None:
    """In a worker only: the run's config files are self-contained dumps (already formatted), so the text the
    runner logs and re-dumps is the file itself (mmengine's ``text`` = file name line + content); this skips
    yapf's seconds-long reformatting in every run."""
    Config.pretty_text = property(lambda self: self.text.split('\n', 1)[1])


def execute(spec: dict) -> dict:
    """Train and test one run (in a worker process). Writes metrics_<task>.json last: the 'finished' mark."""
    import torch  # noqa: F401

    import mcf_mm  # noqa: F401
    from mcf_mm.utils.cli import build_runner

    start = time.time()
    log = open(osp.join(spec['work_dir'], 'run.log'), 'a')  # the run's console output; progress stays clean
    saved = os.dup(1), os.dup(2)
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(log.fileno(), 1), os.dup2(log.fileno(), 2)
    try:
        _fast_pretty_text()
        cfg = Config.fromfile(spec['config'])
        runner = build_runner(cfg)
        runner.train()
        train_s = time.time() - start
        history = {
            k[len('val/') :]: [float(v) for v in buf.data[0]]
            for k, buf in runner.message_hub.log_scalars.items()
            if k.startswith('val/')
        }
        t0 = time.time()
        use_ema_weights(runner)
        metrics = {k: float(v) for k, v in runner.test().items() if isinstance(v, (int, float))}
        out = {spec['task']: metrics}
        for name, path in spec['tests'].items():
            ecfg = Config.fromfile(path)
            runner._test_dataloader = ecfg.test_dataloader
            runner._test_evaluator = ecfg.test_evaluator
            runner._test_loop = dict(ecfg.get('test_cfg') or {})
            out[name] = {k: float(v) for k, v in runner.test().items() if isinstance(v, (int, float))}
        test_s = time.time() - t0
        timing = dict(train_s=train_s, test_s=test_s, total_s=time.time() - start)
        for name in [n for n in out if n != spec['task']] + [spec['task']]:  # the run's own file last
            record = dict(
                run=spec['name'],
                metrics=out[name],
                val_history=history if name == spec['task'] else {},
                time=timing,
                notes=spec['notes'],
            )
            _dump(record, osp.join(spec['work_dir'], f'metrics_{name}.json'))
        return dict(name=spec['name'], ok=True, time=timing)
    except Exception:  # one failed run must not stop the others; its error is kept and reported
        err = traceback.format_exc()
        with open(osp.join(spec['work_dir'], 'error.txt'), 'w') as f:
            f.write(err)
        return dict(name=spec['name'], ok=False, error=err.strip().splitlines()[-1])
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        os.close(saved[0]), os.close(saved[1])
        log.close()


def _fmt(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f'{h}h{m:02d}m{s:02d}s' if h else f'{m}m{s:02d}s'


def run_all(
    runs: Sequence[Run],
    jobs: int = 1,
    threads: int = 1,
    workers: Optional[int] = None,
    data_root: Optional[Dict[str, str]] = None,
    log=print,
    interval: float = 30.0,
) -> List[dict]:
    """Run every unfinished run (finished ones are reused), ``jobs`` at a time, printing progress."""
    todo = [r for r in runs if not r.finished]
    reused = len(runs) - len(todo)
    log(
        f'[bench] {len(runs)} runs: {reused} finished earlier (reused), {len(todo)} to run, {jobs} at a time, '
        f'{threads} thread(s) each'
    )
    if not todo:
        return []
    specs = [prepare(r, workers, data_root) for r in todo]  # every config is built before the first run
    os.environ['OMP_NUM_THREADS'] = str(threads)  # inherited by the workers (and their data loaders)
    results, start, last = [], time.time(), 0.0
    ctx = get_context('spawn')
    # no max_tasks_per_child: with it, CPython 3.11's pool can stop replacing exited workers and hang
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(execute, s): s for s in specs}
        pending = set(futures)
        while pending:
            finished = {f for f in pending if f.done()}
            for f in finished:
                res = f.result()
                results.append(res)
                status = f'{res["time"]["total_s"]:.0f}s' if res['ok'] else f'FAILED: {res["error"]}'
                log(f'[bench] finished {res["name"]} ({status})')
            pending -= finished
            now = time.time()
            if finished or now - last >= interval:
                running = min(jobs, sum(f.running() for f in pending))  # the pool pre-queues one more
                log(
                    f'[bench] done {reused + len(results)}/{len(runs)} | running {running} | '
                    f'left {len(pending) - running} | elapsed {_fmt(now - start)}'
                )
                last = now
            time.sleep(0.5)
    failed = [r for r in results if not r['ok']]
    if failed:
        log(f'[bench] {len(failed)} run(s) failed; see error.txt in their folders: {[r["name"] for r in failed]}')
    return results
