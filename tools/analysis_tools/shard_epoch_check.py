"""Shard epoch check: a tiny MCF trained on real face shards by 2 processes x 2 DataLoader workers, killed with
SIGKILL at a random moment after a mid-epoch checkpoint and resumed with ``--resume``; the trained sample ids
show whether each claim holds. Prints PASS/FAIL per claim with its numbers; exit status 1 if any fails.

    MCF_MM_DATA=/path/to/data nice python tools/analysis_tools/shard_epoch_check.py --num-images 400

Steps: ``make_face_shards.py`` writes ``--num-images`` UTKFace photos ($MCF_MM_DATA/utkface/data/images) as
img2dataset shards with MTCNN detections; ``--corrupt`` image members of shard 1 are overwritten with bytes that
do not decode (their json keeps the face, so they stay samples); the run uses the shard recipe
(configs/mcf/mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-shards-224px.py: FaceShardDataset in
SampleSeededDataset, ShardSampler with per-sample seeds, drop_bad_collate, ResumableEpochBasedTrainLoop,
RNGStateHook) with a tiny ViT, random flips, and ``dataset.indices`` keeps the first
N - N % nproc samples so that every sample is used in every epoch. Runs: an uninterrupted one, one killed at a
random moment after the first mid-epoch checkpoint of epoch 2, and its resume. A hook of this module (imported by
the runs through ``custom_imports``) appends every trained batch's ``sample_idx`` to ``samples_rank<r>.txt``.

Claims: (1) no sample is trained twice in an epoch across ranks and workers, every readable sample once; (2) the
skipped count (SkippedImagesHook, over ranks and workers) equals the planted count in every epoch; (3) the resumed
run starts at the batch after the checkpoint and trains exactly the samples of the uninterrupted run from there
(same iterations, batch indices and ids on every rank), reading only the rest of the epoch; (4) the resumed run's
final weights equal the uninterrupted run's (``torch.equal`` on every tensor of the last epoch checkpoint).
"""

import argparse
import glob
import io
import json
import os
import os.path as osp
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from typing import Dict, List, Tuple

import torch
from mmengine.hooks import Hook

from mcf_mm.registry import HOOKS

# This tool's folder, so that the tiny MCF config text next to it imports (also inside the training processes,
# which import this module through custom_imports).
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _tiny_mcf import tiny_mcf_model  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECIPE = osp.join(REPO, 'configs', 'mcf', 'mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-shards-224px.py')
CORRUPT_BYTES = b'\xff\xd8\xff\xe0 planted corrupt member'


# ------------------------------------------------------------------ used inside the training processes
@HOOKS.register_module()
class ShardCheckRecorderHook(Hook):
    """Append ``epoch iter batch_idx id,id,...`` per trained batch to ``<work_dir>/samples_rank<r>.txt`` (one
    ``os.write`` per line; before the checkpoint hooks of the same iteration)."""

    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        ids = ','.join(str(int(s.metainfo['sample_idx'])) for s in data_batch['data_samples'])
        fd = os.open(
            osp.join(runner.work_dir, f'samples_rank{runner.rank}.txt'), os.O_WRONLY | os.O_APPEND | os.O_CREAT
        )
        try:
            os.write(fd, f'{runner.epoch} {runner.iter} {batch_idx} {ids}\n'.encode())
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------------------ the check
CONFIG = """
_base_ = [{recipe!r}]
custom_imports = dict(imports=['mcf_mm', 'mcf_mm.models', 'mcf_mm.datasets', 'mcf_mm.engine',
                               'tools.analysis_tools.shard_epoch_check'], allow_failed_imports=False)
{model}
train_dataloader = dict(batch_size={batch}, num_workers={workers}, persistent_workers=True, pin_memory=False,
                        sampler=dict(seed={seed}, sample_seeds={sample_seeds}),
                        dataset=dict(dataset=dict(data_root={shards!r}, size=64, indices={indices},
                                                  pipeline=train_pipeline)))
optim_wrapper = dict(_delete_=True, type='OptimWrapper', accumulative_counts=1,
                     optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end={epochs})]
train_cfg = dict(max_epochs={epochs})
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=1, max_keep_ckpts=-1))
custom_hooks = [
    dict(type='RNGStateHook'), dict(type='SkippedImagesHook'), dict(type='ShardCheckRecorderHook'),
    dict(type='CrashSafeCheckpointHook', by_epoch=False, interval={interval}, max_keep_ckpts=-1, save_last=False),
]
randomness = dict(seed=0, deterministic=True)
env_cfg = dict(mp_cfg=dict(mp_start_method='fork'))
"""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = os.environ.get('MCF_MM_DATA', 'data')
    p.add_argument('--images', default=osp.join(data, 'utkface', 'data', 'images'), help='folder of face photos')
    p.add_argument('--num-images', type=int, default=400, help='photos made into shards (a seeded subset)')
    p.add_argument('--shard-size', type=int, default=50, help='samples per shard')
    p.add_argument('--corrupt', type=int, default=7, help='image members of shard 1 overwritten with junk')
    p.add_argument('--nproc', type=int, default=2, help='processes (torchrun, gloo)')
    p.add_argument('--workers', type=int, default=2, help='DataLoader workers per process')
    p.add_argument('--batch-size', type=int, default=8, help='per process')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--ckpt-interval', type=int, default=10, help='mid-epoch checkpoint every this many iterations')
    p.add_argument('--max-delay', type=float, default=1.0, help='kill up to this many seconds after the checkpoint')
    p.add_argument('--seed', type=int, default=0, help='sampler seed')
    p.add_argument(
        '--no-sample-seeds',
        action='store_true',
        help='a control: plain indices, no per-sample seeds (the flips of the resumed run then differ)',
    )
    p.add_argument('--kill-seed', type=int, default=None, help='seed of the kill moment (default: random)')
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'shard_epoch_check'))
    return p.parse_args()


def save_teacher(path: str) -> None:
    """A random tiny FaceViT, saved as an mmpretrain-format checkpoint (the teacher of the tiny MCF)."""
    from mcf_mm.models.backbones import FaceViT

    torch.manual_seed(0)
    vit = FaceViT(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64), img_size=32, patch_size=8
    )
    vit.init_weights()
    torch.save({'state_dict': {'backbone.' + k: v for k, v in vit.state_dict().items()}}, path)


def plant_corrupt(shard: str, count: int, score_thr: float = 0.9) -> List[str]:
    """Overwrite the image bytes of the first ``count`` keys of ``shard`` whose json holds a face above the
    threshold (so they stay samples); the tar is rewritten with the same member names and order."""
    with tarfile.open(shard, 'r:') as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar if m.isfile()]
    chosen = []
    for name, blob in members:
        if name.endswith('.json') and len(chosen) < count:
            faces = json.loads(blob).get('faces', [])
            if any(f.get('score', 1.0) >= score_thr for f in faces):
                chosen.append(name[: -len('.json')])
    if len(chosen) < count:
        raise SystemExit(f'{shard} has only {len(chosen)} samples with a face; lower --corrupt.')
    tmp = shard + '.partial'
    with tarfile.open(tmp, 'w', format=tarfile.GNU_FORMAT) as out:
        for name, blob in members:
            key, ext = name.split('.', 1)
            if key in chosen and ext in ('jpg', 'jpeg', 'png', 'webp'):
                blob = CORRUPT_BYTES
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            out.addfile(info, io.BytesIO(blob))
    os.replace(tmp, shard)
    return chosen


def train_cmd(config: str, work_dir: str, nproc: int, port: int, *extra: str) -> List[str]:
    return [
        sys.executable,
        '-m',
        'torch.distributed.run',
        f'--nproc_per_node={nproc}',
        f'--master_port={port}',
        osp.join(REPO, 'tools', 'train.py'),
        config,
        '--launcher',
        'pytorch',
        '--work-dir',
        work_dir,
        *extra,
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def process_tree(root: int) -> List[int]:
    """``root`` and all its descendants (torchrun starts each rank in a session of its own, so a process-group
    kill would leave the ranks running)."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = open(f'/proc/{entry}/stat').read()
            except OSError:
                continue
            ppid = int(stat.rsplit(')', 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _state(pid: int) -> str:
    try:
        return open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return 'Z'


def run_env() -> Dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')


def read_records(work_dir: str, nproc: int) -> List[List[Tuple[int, int, int, List[int]]]]:
    """Per rank: (epoch, iter, batch_idx, ids) per trained batch (a line cut by the kill is ignored)."""
    out = []
    for r in range(nproc):
        path = osp.join(work_dir, f'samples_rank{r}.txt')
        rows = []
        for line in open(path).read().splitlines() if osp.isfile(path) else []:
            parts = line.split(' ')
            if len(parts) == 4 and all(parts[:3]) and parts[3]:
                rows.append((int(parts[0]), int(parts[1]), int(parts[2]), [int(i) for i in parts[3].split(',')]))
        out.append(rows)
    return out


def skip_reports(work_dir: str) -> List[Tuple[int, int, int, int]]:
    """(epoch, distinct skipped, failed reads, reads) of the 'epoch k: skipped' lines of the newest log."""
    logs = sorted(osp.join(d, f) for d, _, fs in os.walk(work_dir) for f in fs if f.endswith('.log'))
    pat = r'epoch (\d+): skipped (\d+) unreadable images \((\d+) failed reads of (\d+)'
    return [tuple(map(int, m)) for m in re.findall(pat, open(logs[-1]).read())] if logs else []


class Claims:
    def __init__(self) -> None:
        self.failed = 0

    def __call__(self, ok: bool, claim: str, numbers: str) -> None:
        self.failed += not ok
        print(f'{"PASS" if ok else "FAIL"}  {claim}: {numbers}', flush=True)


def epoch_checks(claims: Claims, name: str, recs, n_used: int, planted: set, reports, epochs: List[int]) -> None:
    """Claims (1) and (2) for the given epochs of one run's records and skip reports."""
    by_epoch = {e: (s, f, r) for e, s, f, r in reports}
    for e in epochs:
        ids = [i for rank in recs for ep, _, _, batch in rank if ep == e for i in batch]
        dup = len(ids) - len(set(ids))
        readable = set(range(n_used)) - planted
        claims(
            dup == 0 and set(ids) == readable,
            f'{name} epoch {e + 1}: no sample twice across ranks, every readable sample once',
            f'{len(ids)} trained ({" + ".join(str(sum(len(b) for ep, *_, b in rank if ep == e)) for rank in recs)}'
            f' per rank), {dup} duplicates, {len(readable)} readable of {n_used}, '
            f'{len(readable - set(ids))} readable missed, {len(set(ids) & planted)} planted trained',
        )
        skipped = by_epoch.get(e + 1, (None,))[0]
        claims(
            skipped == len(planted),
            f'{name} epoch {e + 1}: skipped count == planted',
            f'skipped {skipped} (SkippedImagesHook, distinct over ranks/workers), planted {len(planted)}',
        )


def main() -> None:
    args = parse_args()
    rng = random.Random(args.kill_seed)
    work = osp.abspath(args.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    shards = osp.join(work, 'shards')
    t0 = time.time()
    make = [
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', 'make_face_shards.py'),
        args.images,
        shards,
        '--captions',
        'utkface',
        '--limit',
        str(args.num_images),
        '--shard-size',
        str(args.shard_size),
    ]
    made = subprocess.run(make, env=run_env(), capture_output=True, text=True)
    if made.returncode != 0:
        raise SystemExit(f'make_face_shards.py failed:\n{made.stderr[-2000:]}')
    print(made.stdout.strip().splitlines()[-1], f'({time.time() - t0:.0f} s)')
    shard_paths = sorted(osp.join(shards, f) for f in os.listdir(shards) if f.endswith('.tar'))
    chosen = plant_corrupt(shard_paths[1], args.corrupt)

    from mmengine.logging import MMLogger

    from mcf_mm.datasets import FaceShardDataset

    MMLogger.get_instance('shard_epoch_check', log_level='WARNING')  # quiet index and weight-init logs

    ds = FaceShardDataset(data_root=shards, shards='*.tar', size=64)  # the recipe's face selection
    n_all = len(ds)
    n_used = n_all - n_all % args.nproc
    planted = {i for i in range(n_used) if ds.get_data_info(i)['key'] in chosen}
    n_rank = n_used // args.nproc
    ipe = -(-n_rank // args.batch_size)  # iterations per epoch
    print(
        f'{len(shard_paths)} shards, {n_all} samples ({n_used} used: {n_rank} per rank, {ipe} iterations per epoch '
        f'of {args.batch_size}); planted {len(chosen)} corrupt image members in {osp.basename(shard_paths[1])}: '
        f'sample ids {sorted(planted)}'
    )
    teacher = osp.join(work, 'teacher.pth')
    save_teacher(teacher)
    config = osp.join(work, 'run.py')
    with open(config, 'w') as f:
        f.write(
            CONFIG.format(
                recipe=RECIPE,
                model=tiny_mcf_model(teacher),
                batch=args.batch_size,
                workers=args.workers,
                seed=args.seed,
                shards=shards,
                indices=n_used,
                epochs=args.epochs,
                interval=args.ckpt_interval,
                sample_seeds=not args.no_sample_seeds,
            )
        )
    straight, killed = osp.join(work, 'straight'), osp.join(work, 'killed')

    t0 = time.time()
    run = subprocess.run(
        train_cmd(config, straight, args.nproc, free_port()), env=run_env(), capture_output=True, text=True
    )
    if run.returncode != 0:
        raise SystemExit(f'the uninterrupted run failed:\n{run.stderr[-3000:]}')
    print(f'uninterrupted run: {args.epochs} epochs in {time.time() - t0:.0f} s')

    # the killed run: SIGKILL to every process at a random moment after the first mid-epoch checkpoint of epoch 2
    mid = next(k for k in range(ipe + 1, args.epochs * ipe) if k % args.ckpt_interval == 0 and k % ipe)
    delay = rng.uniform(0, args.max_delay)
    proc = subprocess.Popen(
        train_cmd(config, killed, args.nproc, free_port()),
        env=run_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    target = osp.join(killed, f'iter_{mid}.pth')
    deadline = time.time() + 600
    while not osp.isfile(target) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    alive = proc.poll() is None
    tree = process_tree(proc.pid)
    for pid in tree:  # every process at once: torchrun, the ranks, their DataLoader workers
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    sizes = [osp.getsize(p) for p in glob.glob(osp.join(killed, 'samples_rank*.txt'))]
    time.sleep(2.0)
    survivors = [pid for pid in tree[1:] if osp.exists(f'/proc/{pid}') and 'Z' not in _state(pid)]
    grew = sizes != [osp.getsize(p) for p in glob.glob(osp.join(killed, 'samples_rank*.txt'))]
    killed_recs = read_records(killed, args.nproc)
    last_iter = max((x[1] for rank in killed_recs for x in rank), default=-1)
    claims = Claims()
    claims(
        alive and not survivors and not grew,
        f'the kill landed during training and stopped all {len(tree)} processes',
        f'SIGKILL {delay:.2f} s after iter_{mid}.pth appeared, last recorded iteration {last_iter + 1}',
    )
    resume_from = open(osp.join(killed, 'last_checkpoint')).read().strip()
    meta = torch.load(resume_from, map_location='cpu', weights_only=True)['meta']
    k_iter, rec = int(meta['iter']), meta['train_sampler']
    consumed, epoch = int(rec['consumed_batches']), int(rec['epoch'])
    claims(
        consumed > 0,
        'the checkpoint resumed from is mid-epoch',
        f'{osp.basename(resume_from)}: iteration '
        f'{k_iter}, epoch {epoch + 1}, {consumed} of {rec["epoch_batches"]} batches done',
    )

    t0 = time.time()
    run = subprocess.run(
        train_cmd(config, killed, args.nproc, free_port(), '--resume'), env=run_env(), capture_output=True, text=True
    )
    if run.returncode != 0:
        raise SystemExit(f'the resumed run failed:\n{run.stderr[-3000:]}')
    print(f'resumed run: {time.time() - t0:.0f} s')
    picked = re.search(r'Auto resumed from the latest checkpoint (\S+?)\.?$', run.stdout + run.stderr, re.M)
    claims(
        picked is not None and picked.group(1) == resume_from,
        '--resume picked the newest checkpoint',
        f'{picked and picked.group(1)} (last_checkpoint: {resume_from})',
    )

    recs = read_records(straight, args.nproc)
    epoch_checks(claims, 'uninterrupted', recs, n_used, planted, skip_reports(straight), list(range(args.epochs)))
    final = skip_reports(straight)[-1][1] if skip_reports(straight) else None
    all_recs = read_records(killed, args.nproc)
    resumed = [all_recs[r][len(killed_recs[r]) :] for r in range(args.nproc)]
    combined = [[x for x in killed_recs[r] if x[1] < k_iter] + resumed[r] for r in range(args.nproc)]
    for e in range(args.epochs):
        ids = [i for rank in combined for ep, _, _, b in rank if ep == e for i in b]
        claims(
            len(ids) == len(set(ids)) == n_used - len(planted),
            f'killed+resumed epoch {e + 1}: no sample twice across ranks, every readable sample once',
            f'{len(ids)} trained, {len(ids) - len(set(ids))} duplicates, {n_used - len(planted)} readable',
        )
    for r in range(args.nproc):
        first_a = next((x for x in recs[r] if x[1] == k_iter), None)
        first_c = resumed[r][0] if resumed[r] else None
        claims(
            combined[r] == recs[r] and first_c == first_a,
            f'rank {r}: the resumed run continues at the right sample',
            f'resumed at iteration {first_c and first_c[1]} batch {first_c and first_c[2]} ids '
            f'{first_c and first_c[3]}; uninterrupted run there: {first_a and first_a[3]}; whole sequence '
            f'({len(combined[r])} batches: {sum(x[1] < k_iter for x in combined[r])} before the checkpoint, '
            f'{len(resumed[r])} after) {"equal" if combined[r] == recs[r] else "DIFFERENT"}',
        )
    reports = skip_reports(killed)
    tail_reads = args.nproc * (n_rank - consumed * args.batch_size)
    first = next((x for x in reports if x[0] == epoch + 1), None)
    trained_tail = sum(len(b) for rank in resumed for ep, _, _, b in rank if ep == epoch)
    claims(
        first is not None and first[3] == tail_reads and first[1] + trained_tail == tail_reads,
        f'resumed epoch {epoch + 1}: only the rest of the epoch is read, skips counted exactly',
        f'{first and first[3]} reads (expected {args.nproc} x ({n_rank} - {consumed} x {args.batch_size}) = '
        f'{tail_reads}), {first and first[1]} skipped + {trained_tail} trained',
    )
    final_ckpt = f'epoch_{args.epochs}.pth'
    a, b = (
        torch.load(osp.join(d, final_ckpt), map_location='cpu', weights_only=True)['state_dict']
        for d in (straight, killed)
    )
    differ = [k for k in a if k not in b or not torch.equal(a[k], b[k])]
    claims(
        a.keys() == b.keys() and not differ,
        "the resumed run's final weights equal the uninterrupted run's",
        f'{final_ckpt}: {len(a) - len(differ)} of {len(a)} tensors equal (torch.equal)'
        + (f'; differ: {", ".join(differ[:5])}' if differ else ''),
    )
    claims(
        final == len(planted),
        'uninterrupted run, whole training: distinct skipped == planted',
        f'{final} vs {len(planted)}',
    )
    print(f'{"ALL PASS" if not claims.failed else f"{claims.failed} FAILED"}; files under {work}')
    sys.exit(1 if claims.failed else 0)


if __name__ == '__main__':
    main()
