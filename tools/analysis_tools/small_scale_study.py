"""Small-scale evidence: does pre-training with mcf_mm help? MAE vs MCF at the same budget, then fine-tuning.

Stages (fixed seeds, every command printed and timed):
  1. pre-train mmpretrain's MAE on the unlabelled faces for --pretrain-iters iterations;
  2. pre-train MCF for the same iterations, its frozen teacher being the stage-1 MAE encoder (no published
     teacher exists at this size, so MCF builds on the MAE run's compute too; the table says so);
  3. fine-tune Helen-29 landmarks and FASSEG parsing from random init, from MAE and from MCF, per seed;
  4. evaluate the final checkpoints (tools/test.py) and write a Markdown table and a PNG plot.

    python tools/analysis_tools/small_scale_study.py --seeds 0 1 --work-dir work_dirs/small_scale \
        [--utkface data/utkface --helen data/helen29 --fasseg data/fasseg]

The data folders default to data/<dataset> (links to the data sets), or $MCF_MM_DATA/<dataset> when set.
"""

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List

import numpy as np

from mcf_mm.utils.fileio import atomic_write_bytes

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAIN = {
    'mae': 'configs/mcf/small_scale/mae_vit-demo-p4_1xb32-600it_utkface-64px.py',
    'mcf': 'configs/mcf/small_scale/mcf_vit-demo-p4_1xb32-600it_utkface-64px.py',
}
TASKS = {
    'helen29': dict(
        config='configs/face_alignment/vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py',
        metric='NME_inter_ocular',
        better='lower',
        label='Helen-29 NME (inter-ocular, %)',
    ),
    'fasseg': dict(
        config='configs/face_parsing/vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py',
        metric='mF1',
        better='higher',
        label='FASSEG V2 mean F1 (%)',
    ),
}
INITS = ('random', 'mae', 'mcf')


def run(cmd: List[str], log: str, threads: int = 0) -> float:
    """Run a command (output to ``log``), fail loudly, return its wall time in seconds."""
    print('$ ' + ' '.join(cmd), flush=True)
    env = dict(os.environ, **({'OMP_NUM_THREADS': str(threads)} if threads else {}))
    start = time.time()
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f'command failed ({proc.returncode}); see {log}')
    return time.time() - start


def set_data_root(node, root: str) -> None:
    """Point every `data_root` entry of a config tree at ``root``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'data_root':
                node[key] = root
            else:
                set_data_root(value, root)
    elif isinstance(node, (list, tuple)):
        for item in node:
            set_data_root(item, root)


_TIMES_LOCK = threading.Lock()


def record_time(args, stage: str, seconds: float, times: Dict[str, float]) -> None:
    """Keep stage wall times in <work-dir>/times.json so that a resumed study still reports them."""
    with _TIMES_LOCK:  # fine-tuning jobs finish in parallel threads
        times[stage] = seconds
        atomic_write_bytes(json.dumps(times, indent=2).encode(), osp.join(args.work_dir, 'times.json'))


def last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def pretrain(args, times: Dict[str, float]) -> Dict[str, str]:
    from mmengine.config import Config

    ckpts = {}
    for name in ('mae', 'mcf'):
        cfg = Config.fromfile(osp.join(REPO, PRETRAIN[name]))
        set_data_root(cfg.train_dataloader, args.utkface)
        n = args.pretrain_iters
        cfg.train_cfg.max_iters = n
        cfg.param_scheduler[1].update(T_max=n - 50, end=n)
        cfg.default_hooks.checkpoint.interval = n
        cfg.randomness = dict(seed=args.pretrain_seed)
        if name == 'mcf':
            cfg.model.target_generator.checkpoint = ckpts['mae']
        work = osp.join(args.work_dir, name)
        os.makedirs(work, exist_ok=True)
        derived = osp.join(work, f'{name}_pretrain.py')
        done = osp.join(work, f'iter_{n}.pth')
        if osp.isfile(done):  # a finished stage of an earlier, interrupted study
            print(f'reusing {done}')
            ckpts[name] = done
            continue
        cfg.dump(derived)
        record_time(
            args,
            f'pretrain {name}',
            run([sys.executable, 'tools/train.py', derived, '--work-dir', work], osp.join(work, 'train.log')),
            times,
        )
        ckpts[name] = last_checkpoint(work)
    return ckpts


def finetune(args, task: str, init: str, seed: int, ckpts: Dict[str, str], times: Dict[str, float]) -> dict:
    from mmengine.config import Config

    spec = TASKS[task]
    cfg = Config.fromfile(osp.join(REPO, spec['config']))
    set_data_root(cfg, getattr(args, task.replace('29', '')))
    cfg.randomness = dict(seed=seed)
    cfg.model.backbone.init_cfg = (
        None
        if init == 'random'
        else dict(type='Pretrained', checkpoint=ckpts[init], source='auto', branch='online', min_matched=0.9)
    )
    work = osp.join(args.work_dir, 'finetune', f'{task}_{init}_seed{seed}')
    os.makedirs(work, exist_ok=True)
    derived = osp.join(work, 'config.py')
    out = osp.join(work, 'metrics.json')
    if osp.isfile(out):  # finished in an earlier, interrupted study
        print(f'reusing {out}')
        return read_metric(out, task, init, seed)
    cfg.dump(derived)
    threads = 1 if args.jobs > 1 else 0
    t = run([sys.executable, 'tools/train.py', derived, '--work-dir', work], osp.join(work, 'train.log'), threads)
    t += run(
        [sys.executable, 'tools/test.py', derived, last_checkpoint(work), '--work-dir', work, '--out', out],
        osp.join(work, 'test.log'),
        threads,
    )
    record_time(args, f'finetune {task} {init} seed{seed}', t, times)
    return read_metric(out, task, init, seed)


def read_metric(path: str, task: str, init: str, seed: int) -> dict:
    with open(path) as f:
        metrics = json.load(f)
    wanted = TASKS[task]['metric']
    key = next((k for k in metrics if k.split('/')[-1] == wanted), None)
    if key is None:
        raise SystemExit(f'metric {wanted} not in {sorted(metrics)} ({path})')
    return dict(task=task, init=init, seed=seed, value=float(metrics[key]), key=key)


def summarise(results: List[dict], times: Dict[str, float], args) -> str:
    heads = [TASKS[t]['label'] + (' ↓' if TASKS[t]['better'] == 'lower' else ' ↑') for t in TASKS]
    lines = [f'| pre-training | {" | ".join(heads)} |', '|---|' + '---|' * len(TASKS)]
    names = dict(
        random='none (random init)',
        mae=f'MAE, {args.pretrain_iters} it',
        mcf=f'MCF, {args.pretrain_iters} it (teacher: the MAE encoder)',
    )
    for init in INITS:
        cells = []
        for task in TASKS:
            vals = [r['value'] for r in results if r['task'] == task and r['init'] == init]
            cells.append(f'{np.mean(vals):.2f} ± {np.std(vals):.2f} (n={len(vals)})' if vals else 'n/a')
        lines.append(f'| {names[init]} | ' + ' | '.join(cells) + ' |')
    per_seed = ['', '| run | value |', '|---|---|'] + [
        f'| {r["task"]} {r["init"]} seed {r["seed"]} | {r["value"]:.3f} |' for r in results
    ]
    wall = ['', '| stage | wall time (s) |', '|---|---|'] + [f'| {k} | {v:.0f} |' for k, v in times.items()]
    return '\n'.join(lines + per_seed + wall)


def plot(results: List[dict], path: str) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(5 * len(TASKS), 3.6))
    for ax, task in zip(np.atleast_1d(axes), TASKS):
        means, stds = [], []
        for init in INITS:
            vals = [r['value'] for r in results if r['task'] == task and r['init'] == init]
            means.append(np.mean(vals) if vals else np.nan)
            stds.append(np.std(vals) if vals else 0.0)
            ax.scatter([init] * len(vals), vals, color='k', s=12, zorder=3)
        ax.bar(INITS, means, yerr=stds, color=['#bbbbbb', '#6a9fd4', '#e07b39'], capsize=4)
        ax.set_title(
            TASKS[task]['label']
            + (' (lower is better)' if TASKS[task]['better'] == 'lower' else ' (higher is better)'),
            fontsize=9,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = os.environ.get('MCF_MM_DATA', 'data')  # the configs' convention: data/<dataset> or $MCF_MM_DATA
    p.add_argument('--utkface', default=osp.join(data, 'utkface'), help='unlabelled face folder')
    p.add_argument('--helen', default=osp.join(data, 'helen29'), help='Helen-29 folder')
    p.add_argument('--fasseg', default=osp.join(data, 'fasseg'), help='FASSEG folder')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1], help='fine-tuning seeds')
    p.add_argument('--pretrain-seed', type=int, default=0)
    p.add_argument('--pretrain-iters', type=int, default=600)
    p.add_argument('--tasks', nargs='+', default=list(TASKS), choices=list(TASKS))
    p.add_argument('--work-dir', default='work_dirs/small_scale')
    p.add_argument('--pretrain-only', action='store_true', help='stop after the two pre-training stages')
    p.add_argument(
        '--jobs', type=int, default=1, help='fine-tuning runs at once (each then uses one thread: OMP_NUM_THREADS=1)'
    )
    args = p.parse_args()
    for name in ('utkface', 'helen', 'fasseg'):
        if not osp.isdir(getattr(args, name)):
            raise SystemExit(f'--{name} {getattr(args, name)!r} is not a folder')
    os.makedirs(args.work_dir, exist_ok=True)
    times_file = osp.join(args.work_dir, 'times.json')
    times: Dict[str, float] = json.load(open(times_file)) if osp.isfile(times_file) else {}
    ckpts = pretrain(args, times)
    if args.pretrain_only:
        print(f'pre-training done: {ckpts}; times {times}')
        return
    jobs = [(task, init, seed) for task in args.tasks for init in INITS for seed in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each job is a subprocess
        results = list(pool.map(lambda job: finetune(args, *job, ckpts, times), jobs))
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, times=times), f, indent=2)
    table = summarise(results, times, args)
    header = (
        f'Pre-training: {args.pretrain_iters} iterations × 32 images of {args.utkface} at 64 px, '
        f'seed {args.pretrain_seed}; fine-tuning seeds {args.seeds} ({args.jobs} at a time); CPU, '
        f'{os.cpu_count()} cores. Mean ± std over seeds. Wall times include waiting for a shared CPU.\n\n'
    )
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(header + table + '\n')
    plot(results, osp.join(args.work_dir, 'results.png'))
    print(header + table)


if __name__ == '__main__':
    main()
