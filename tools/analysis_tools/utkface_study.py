"""UTKFace age / gender / race from random init, from MAE and from MCF pre-training at the same budget.

Stages (fixed seeds, every command printed and timed, finished stages reused on a rerun):
  0. write the list of UTKFace *train-split* images (UTKFaceDataset's file-name hash split): the pre-training
     reads only these, so no val/test face is seen before fine-tuning;
  1. pre-train mmpretrain's MAE on that list for --pretrain-iters iterations (configs/mcf/small_scale/);
  2. pre-train MCF for the same iterations, its frozen teacher being the stage-1 MAE encoder;
  3. fine-tune each task config of configs/face_classification/utkface/ from random init, MAE and MCF, per
     seed, on the train split, at --img-size for --epochs; no model selection: the run evaluates the test split
     once, after its last epoch (its val loop is pointed at the test loader);
  4. write the metrics of each run (metrics.json) and a Markdown table (results.md).

    python tools/analysis_tools/utkface_study.py --utkface data/utkface --work-dir work_dirs/utkface_study \
        --img-size 32 --pretrain-iters 600 --epochs 2 --seeds 0 1

The data folder defaults to data/utkface, or $MCF_MM_DATA/utkface when set.
"""

import argparse
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
PRETRAIN = {
    'mae': 'configs/mcf/small_scale/mae_vit-demo-p4_1xb32-600it_utkface-64px.py',
    'mcf': 'configs/mcf/small_scale/mcf_vit-demo-p4_1xb32-600it_utkface-64px.py',
}
CFG = 'configs/face_classification/utkface/'
TASKS = {
    'age': dict(
        config=CFG + 'vit-demo-p4_reg_1xb64-4e_utkface-age-64px.py', metric='MAE_age', label='age MAE (years) ↓'
    ),
    'gender': dict(
        config=CFG + 'vit-demo-p4_linear_1xb64-4e_utkface-gender-64px.py',
        metric='accuracy/top1',
        label='gender acc (%) ↑',
    ),
    'race': dict(
        config=CFG + 'vit-demo-p4_linear_1xb64-4e_utkface-race-64px.py', metric='accuracy/top1', label='race acc (%) ↑'
    ),
}
MCA = 'mean-class-accuracy/recall'
EXTRA = {'race': [MCA]}
INITS = ('random', 'mae', 'mcf')
PATCH = 4


def run(cmd: List[str], log: str) -> float:
    """Run a command (output to ``log``), fail loudly, return its wall time in seconds."""
    print('$ ' + ' '.join(cmd), flush=True)
    start = time.time()
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=dict(os.environ))
    if proc.returncode != 0:
        raise SystemExit(f'command failed ({proc.returncode}); see {log}')
    return time.time() - start


def set_key(node, key: str, value) -> None:
    """Set every ``key`` entry of a config tree to ``value``."""
    if isinstance(node, dict):
        for k in list(node):
            if k == key:
                node[k] = value
            else:
                set_key(node[k], key, value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            set_key(item, key, value)


def set_resize(node, size: int) -> None:
    """Every ``Resize`` transform of a config tree to ``size`` x ``size``."""
    if isinstance(node, dict):
        if node.get('type') == 'Resize':
            node['scale'] = (size, size)
        for v in node.values():
            set_resize(v, size)
    elif isinstance(node, (list, tuple)):
        for item in node:
            set_resize(item, size)


def write_train_list(args) -> str:
    from mcf_mm.downstream.classification.datasets.utkface import scan_utkface, utkface_split

    good, bad = scan_utkface(args.utkface)
    train = [g for g in good if utkface_split(g) == 'train']
    path = osp.abspath(osp.join(args.work_dir, 'pretrain_train_list.txt'))
    with open(path, 'w') as f:
        f.write('# UTKFace train split (utkface_split(name) == "train"), paths relative to data_root\n')
        f.writelines(t + '\n' for t in train)
    print(f'{len(train)} train-split images of {len(good)} well-formed ({len(bad)} malformed) -> {path}')
    return path


def train_count(root: str) -> int:
    from mcf_mm.downstream.classification.datasets.utkface import scan_utkface, utkface_split

    return sum(utkface_split(g) == 'train' for g in scan_utkface(root)[0])


def last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def pretrain(args, times: Dict[str, float]) -> Dict[str, str]:
    from mmengine.config import Config

    ann_file = write_train_list(args)
    ckpts = {}
    for name in ('mae', 'mcf'):
        cfg = Config.fromfile(osp.join(REPO, PRETRAIN[name]))
        set_key(cfg.train_dataloader, 'data_root', args.utkface)
        cfg.train_dataloader.dataset.ann_file = ann_file
        set_resize(cfg.train_dataloader, args.img_size)
        cfg.model.backbone.img_size = args.img_size
        cfg.model.neck.num_patches = (args.img_size // PATCH) ** 2
        n = args.pretrain_iters
        cfg.train_cfg.max_iters = n
        cfg.param_scheduler[1].update(T_max=n - 50, end=n)
        cfg.default_hooks.checkpoint.interval = n
        cfg.randomness = dict(seed=args.pretrain_seed)
        if name == 'mcf':
            cfg.model.target_generator.update(checkpoint=ckpts['mae'], img_size=args.img_size)
        work = osp.join(args.work_dir, name)
        os.makedirs(work, exist_ok=True)
        done = osp.join(work, f'iter_{n}.pth')
        if osp.isfile(done):
            print(f'reusing {done}')
            ckpts[name] = done
            continue
        derived = osp.join(work, f'{name}_pretrain.py')
        cfg.dump(derived)
        t = run([sys.executable, 'tools/train.py', derived, '--work-dir', work], osp.join(work, 'train.log'))
        record_time(args, f'pretrain {name}', t, times)
        ckpts[name] = last_checkpoint(work)
    return ckpts


def finetune(args, task: str, init: str, seed: int, ckpts: Dict[str, str], times: Dict[str, float]) -> dict:
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(REPO, TASKS[task]['config']))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):  # (a Config is not a dict: walk these)
        set_key(cfg[loader], 'data_root', args.utkface)
        set_resize(cfg[loader], args.img_size)
    cfg.model.backbone.img_size = args.img_size
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_epochs = args.epochs
    # The config's schedule by iteration: warm-up for one epoch (at most a fifth of the run), cosine to 1e-6.
    total = args.epochs * math.ceil(train_count(args.utkface) / cfg.train_dataloader.batch_size)
    warm = max(1, min(total // args.epochs, total // 5))
    if total < 2:
        raise SystemExit(f'{total} training iteration(s): too few for a warm-up and a schedule')
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=warm),
        dict(type='CosineAnnealingLR', by_epoch=False, begin=warm, end=total, T_max=total - warm, eta_min=1e-6),
    ]
    for key in ('save_best', 'rule'):
        cfg.default_hooks.checkpoint.pop(key, None)
    cfg.default_hooks.checkpoint.update(interval=args.epochs, max_keep_ckpts=1)
    # No model selection: the training run itself evaluates the TEST split once, after the last epoch (its "val"
    # loop is pointed at the test loader; same weights as tools/test.py on the last checkpoint, one process less).
    cfg.val_dataloader, cfg.val_evaluator = cfg.test_dataloader, cfg.test_evaluator
    cfg.train_cfg.val_interval = args.epochs
    cfg.model.backbone.init_cfg = (
        None
        if init == 'random'
        else dict(type='Pretrained', checkpoint=ckpts[init], source='auto', branch='online', min_matched=0.9)
    )
    work = osp.join(args.work_dir, 'finetune', f'{task}_{init}_seed{seed}')
    os.makedirs(work, exist_ok=True)
    out = osp.join(work, 'metrics.json')
    if osp.isfile(out):
        print(f'reusing {out}')
        return read_metric(out, task, init, seed)
    derived = osp.join(work, 'config.py')
    cfg.dump(derived)
    t = run([sys.executable, 'tools/train.py', derived, '--work-dir', work], osp.join(work, 'train.log'))
    with open(out, 'w') as f:
        json.dump(last_eval(work, TASKS[task]['metric']), f, indent=2)
    record_time(args, f'finetune+test {task} {init} seed{seed}', t, times)
    return read_metric(out, task, init, seed)


def last_eval(work: str, key: str) -> dict:
    """The last evaluation logged by the run (mmengine's LocalVisBackend: <run>/vis_data/scalars.json)."""
    found = None
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if key in row:
                    found = row
    if found is None:
        raise SystemExit(f'no evaluation with {key!r} in {work}/*/vis_data/scalars.json')
    return found


def read_metric(path: str, task: str, init: str, seed: int) -> dict:
    with open(path) as f:
        metrics = json.load(f)
    values = {}
    for wanted in [TASKS[task]['metric']] + EXTRA.get(task, []):
        key = next((k for k in metrics if k == wanted or k.endswith('/' + wanted)), None)
        if key is None:
            raise SystemExit(f'metric {wanted} not in {sorted(metrics)} ({path})')
        values[wanted] = float(metrics[key])
    return dict(task=task, init=init, seed=seed, value=values[TASKS[task]['metric']], extra=values)


def record_time(args, stage: str, seconds: float, times: Dict[str, float]) -> None:
    times[stage] = round(seconds, 1)
    with open(osp.join(args.work_dir, 'times.json'), 'w') as f:
        json.dump(times, f, indent=2)


def summarise(results: List[dict], times: Dict[str, float], args) -> str:
    tasks = [t for t in TASKS if any(r['task'] == t for r in results)]
    heads = [TASKS[t]['label'] for t in tasks] + (['race mean class acc (%) ↑'] if 'race' in tasks else [])
    lines = [f'| pre-training | {" | ".join(heads)} |', '|---|' + '---|' * len(heads)]
    names = dict(
        random='none (random init)',
        mae=f'MAE, {args.pretrain_iters} it',
        mcf=f'MCF, {args.pretrain_iters} it (teacher: the MAE encoder)',
    )

    def cell(vals: List[float]) -> str:
        per_seed = ', '.join(f'{v:.2f}' for v in vals)
        return f'{np.mean(vals):.2f} ({per_seed})' if vals else 'n/a'

    for init in INITS:
        cells = [cell([r['value'] for r in results if r['task'] == t and r['init'] == init]) for t in tasks]
        if 'race' in tasks:
            cells.append(cell([r['extra'][MCA] for r in results if r['task'] == 'race' and r['init'] == init]))
        lines.append(f'| {names[init]} | ' + ' | '.join(cells) + ' |')
    wall = ['', '| stage | wall time (s) |', '|---|---|'] + [f'| {k} | {v:.0f} |' for k, v in times.items()]
    return '\n'.join(lines + wall)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = os.environ.get('MCF_MM_DATA', 'data')
    p.add_argument('--utkface', default=osp.join(data, 'utkface'), help='UTKFace folder (*.jpg.chip.jpg at any depth)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1], help='fine-tuning seeds')
    p.add_argument('--pretrain-seed', type=int, default=0)
    p.add_argument('--pretrain-iters', type=int, default=600)
    p.add_argument('--img-size', type=int, default=64, help='image side for pre-training and fine-tuning')
    p.add_argument('--epochs', type=int, default=4, help='fine-tuning epochs')
    p.add_argument('--tasks', nargs='+', default=list(TASKS), choices=list(TASKS))
    p.add_argument('--inits', nargs='+', default=list(INITS), choices=list(INITS))
    p.add_argument('--work-dir', default='work_dirs/utkface_study')
    p.add_argument('--pretrain-only', action='store_true', help='stop after the two pre-training stages')
    args = p.parse_args()
    if not osp.isdir(args.utkface):
        raise SystemExit(f'--utkface {args.utkface!r} is not a folder')
    if args.img_size % PATCH or args.pretrain_iters <= 50:
        raise SystemExit(f'--img-size must be a multiple of {PATCH} and --pretrain-iters > 50 (the warm-up)')
    args.utkface = osp.abspath(args.utkface)
    os.makedirs(args.work_dir, exist_ok=True)
    times_file = osp.join(args.work_dir, 'times.json')
    times: Dict[str, float] = json.load(open(times_file)) if osp.isfile(times_file) else {}
    ckpts = pretrain(args, times)
    if args.pretrain_only:
        print(f'pre-training done: {ckpts}; times {times}')
        return
    # Seeds outermost: a study stopped early still has every cell for the first seed.
    results = [
        finetune(args, task, init, seed, ckpts, times)
        for seed in args.seeds
        for task in args.tasks
        for init in args.inits
    ]
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, times=times), f, indent=2)
    header = (
        f'Pre-training: {args.pretrain_iters} iterations x 32 train-split images at {args.img_size} px, seed '
        f'{args.pretrain_seed}; fine-tuning: {args.epochs} epochs at {args.img_size} px, seeds {args.seeds}; '
        'test split, last checkpoint. Cells: mean (per seed). Wall times include waiting for a shared CPU.\n\n'
    )
    table = summarise(results, times, args)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(header + table + '\n')
    print(header + table)


if __name__ == '__main__':
    main()
