"""Kill-and-resume trials: SIGKILL a tiny MCF pre-training run at random moments, resume it with ``--resume``,
and compare the final weights with an uninterrupted run (``torch.equal`` on every tensor). Prints k/N.

    python tools/analysis_tools/kill_resume_trials.py --trials 10

Every run keeps one checkpoint (``max_keep_ckpts=1``). To hit the moments inside checkpoint writes, the killed
runs (not the resumed ones) are started with each ``os.fsync`` delayed by ``--write-delay`` seconds: a fault
injection of this harness only, which widens the window between writing the temporary file, renaming it,
updating ``last_checkpoint`` and removing the old checkpoint. Trials cycle through three kinds of moment:
``random`` (uniform over the training phase), ``in-write`` (a temporary checkpoint file exists) and
``after-save`` (just after an epoch's checkpoint appeared: ``last_checkpoint`` update, old-file removal).
A trial counts as a success only if the kill landed before the run ended, the resume exits 0, no temporary
file is left, ``last_checkpoint`` names the final checkpoint and every tensor equals the uninterrupted run's.
"""

import argparse
import glob
import os
import os.path as osp
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import List, Tuple

# This tool's folder, so that the tiny MCF config text next to it imports (also when the file is loaded by path).
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _tiny_mcf import tiny_mcf_model  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PARTIAL_SUFFIX = '.mcf_mm-partial'  # mcf_mm.engine.checkpoint_io.PARTIAL_SUFFIX (not imported: keeps startup fast)
# Runs tools/train.py with os.fsync delayed (argv: delay, script, args...).
SLOW_DISK = (
    'import os, runpy, sys, time; d = float(sys.argv[1]); f = os.fsync; '
    'os.fsync = lambda fd: (time.sleep(d), f(fd))[1]; sys.argv = sys.argv[2:]; '
    'runpy.run_path(sys.argv[0], run_name="__main__")'
)
TINY_CONFIG = """
_base_ = [{base!r}]
{model}
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, pin_memory=False,
                        dataset=dict(data_root={faces!r}, pipeline=train_pipeline))
optim_wrapper = dict(_delete_=True, type='OptimWrapper', accumulative_counts=1,
                     optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end={epochs})]
train_cfg = dict(max_epochs={epochs})
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=True)
"""


def make_inputs(folder: str, epochs: int, images: int) -> str:
    """Tiny teacher checkpoint, real face crops (scikit-image's LFW subset) and the config; returns its path."""
    import cv2
    import numpy as np
    import torch
    from skimage import data as skdata

    import mcf_mm  # noqa: F401
    from mcf_mm.models.backbones import FaceViT

    torch.manual_seed(0)
    vit = FaceViT(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64), img_size=32, patch_size=8
    )  # random weights: the trial compares runs, not accuracy
    teacher = osp.join(folder, 'teacher.pth')
    torch.save({'state_dict': {'backbone.' + k: v for k, v in vit.state_dict().items()}}, teacher)
    faces = osp.join(folder, 'faces')
    os.makedirs(faces, exist_ok=True)
    for i, face in enumerate(skdata.lfw_subset()[:images]):
        img = cv2.resize((face * 255).round().astype(np.uint8), (40, 40))
        cv2.imwrite(osp.join(faces, f'face_{i:03d}.png'), np.repeat(img[..., None], 3, axis=2))
    config = osp.join(folder, 'tiny_mcf.py')
    with open(config, 'w') as f:
        f.write(
            TINY_CONFIG.format(
                base=osp.join(REPO, 'configs', 'mcf', 'pretrain.py'),
                model=tiny_mcf_model(teacher, "ema_update='step', accumulative_counts=1"),
                faces=faces,
                epochs=epochs,
            )
        )
    return config


def train_cmd(config: str, work_dir: str, delay: float = 0.0, resume: bool = False) -> List[str]:
    args = [osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir] + (['--resume'] if resume else [])
    return [sys.executable, '-c', SLOW_DISK, str(delay), *args] if delay > 0 else [sys.executable, *args]


def training_started(work_dir: str) -> bool:
    return bool(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))


def wait_for(cond, proc: subprocess.Popen, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        if cond():
            return True
        time.sleep(0.005)
    return False


def state_of(work_dir: str) -> str:
    names = sorted(n for n in os.listdir(work_dir) if n.endswith(('.pth', PARTIAL_SUFFIX)))
    last = osp.join(work_dir, 'last_checkpoint')
    pointer = osp.basename(open(last).read().strip()) if osp.exists(last) else '-'
    return f'files={names} last_checkpoint={pointer}'


def weights(path: str) -> dict:
    import torch

    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def one_trial(
    kind: str,
    config: str,
    work_dir: str,
    epochs: int,
    delay: float,
    train_time: float,
    reference: dict,
    rng: random.Random,
    env: dict,
    log,
) -> Tuple[bool, str]:
    """Run, kill at a ``kind`` moment, resume; returns (success, what the kill left and how it ended)."""
    import torch

    for attempt in range(4):  # a kill drawn after the run's end (machine faster than the reference) is redrawn
        shutil.rmtree(work_dir, ignore_errors=True)
        proc = subprocess.Popen(
            train_cmd(config, work_dir, delay), env=env, stdout=log, stderr=log, start_new_session=True
        )
        if not wait_for(lambda: training_started(work_dir), proc, 300):
            return False, 'the run did not start training'
        epoch = rng.randint(1, epochs - 1)
        if kind == 'random':
            wait_for(lambda: False, proc, rng.uniform(0, train_time / 2**attempt))
        elif kind == 'in-write':  # while the temporary file of epoch_<epoch>.pth is being written
            wait_for(lambda: bool(glob.glob(osp.join(work_dir, f'.epoch_{epoch}.pth.*{PARTIAL_SUFFIX}'))), proc, 300)
            wait_for(lambda: False, proc, rng.uniform(0, delay))
        else:  # after epoch_<epoch>.pth appeared: directory fsync, last_checkpoint update, old-file removal
            wait_for(lambda: osp.exists(osp.join(work_dir, f'epoch_{epoch}.pth')), proc, 300)
            wait_for(lambda: False, proc, rng.uniform(0, 3 * delay))
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if not finished:
            break
    seen = f'after the kill: {state_of(work_dir)}' + (' (finished before the kill)' if finished else '')
    run = subprocess.run(train_cmd(config, work_dir, resume=True), env=env, stdout=log, stderr=log, timeout=600)
    if run.returncode != 0:
        return False, f'resume exited {run.returncode}; {seen}'
    leftovers = glob.glob(osp.join(work_dir, '.*' + PARTIAL_SUFFIX))
    final = osp.join(work_dir, f'epoch_{epochs}.pth')
    pointer = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    if leftovers or not osp.isfile(final) or osp.realpath(pointer) != osp.realpath(final):
        return False, f'bad end state: partials {leftovers}, last_checkpoint {pointer!r}; {seen}'
    resumed = weights(final)
    if resumed.keys() != reference.keys() or not all(torch.equal(reference[k], v) for k, v in resumed.items()):
        return False, f'weights differ from the uninterrupted run; {seen}'
    return not finished, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--trials', type=int, default=10)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--images', type=int, default=8, help='face crops (batch 4: images / 4 iterations/epoch)')
    parser.add_argument('--write-delay', type=float, default=0.3, help='seconds each fsync sleeps (killed runs)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', help='where runs go (default: a temporary folder, removed)')
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work_dir or tmp
        os.makedirs(root, exist_ok=True)
        config = make_inputs(root, args.epochs, args.images)
        ref_dir = osp.join(root, 'uninterrupted')
        with open(osp.join(root, 'runs.log'), 'ab') as log:
            proc = subprocess.Popen(train_cmd(config, ref_dir, args.write_delay), env=env, stdout=log, stderr=log)
            wait_for(lambda: training_started(ref_dir), proc, 300)
            start = time.time()
            if proc.wait() != 0:
                raise SystemExit(f'the uninterrupted run failed; see {osp.join(root, "runs.log")}')
            train_time = time.time() - start
            reference = weights(osp.join(ref_dir, f'epoch_{args.epochs}.pth'))
            print(
                f'uninterrupted run: {train_time:.1f} s of training ({args.epochs} epochs, write delay '
                f'{args.write_delay} s per fsync, max_keep_ckpts=1)'
            )
            ok = 0
            for i in range(args.trials):
                kind = ('random', 'in-write', 'after-save')[i % 3]
                work_dir = osp.join(root, f'trial_{i}')
                t0 = time.time()
                success, outcome = one_trial(
                    kind, config, work_dir, args.epochs, args.write_delay, train_time, reference, rng, env, log
                )
                ok += success
                print(
                    f'trial {i} [{kind}] {"OK  " if success else "FAIL"} {time.time() - t0:5.1f} s  {outcome}',
                    flush=True,
                )
        print(f'{ok}/{args.trials} trials resumed and ended with weights torch.equal to the uninterrupted run')
    if ok != args.trials:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
