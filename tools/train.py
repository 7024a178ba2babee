"""Train any mcf_mm config (pre-training in mmpretrain, fine-tuning in mmpose/mmseg) with mcf_mm's FaceRunner."""

import argparse
import os
import os.path as osp
import sys

# The repository root, so that configs can `custom_imports` plugins under projects/.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402

from mcf_mm.engine import FaceRunner  # noqa: E402
from mcf_mm.engine.hooks.config_checks import BatchNormBatchCheckHook  # noqa: E402
from mcf_mm.utils import setup_env  # noqa: E402
from mcf_mm.utils.cfg_options import HELP as CFG_OPTIONS_HELP  # noqa: E402
from mcf_mm.utils.cfg_options import merge_cfg_options  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest in work_dir if no path',
    )
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision (GPU)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=CFG_OPTIONS_HELP)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    try:  # before anything expensive: a mistyped key must not start a run
        merge_cfg_options(cfg, args.cfg_options)
    except ValueError as err:
        raise SystemExit(str(err))
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a CUDA GPU; drop --amp to train on the CPU.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if not torch.cuda.is_available() and cfg.get('optim_wrapper', {}).get('type') == 'AmpOptimWrapper':
        print('No CUDA device: training in fp32 (AmpOptimWrapper -> OptimWrapper).')
        cfg.optim_wrapper.type = 'OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
        cfg.optim_wrapper.pop('dtype', None)
    return cfg


def build_runner(cfg: Config):
    """Set up this machine for ``cfg`` (process group, DDP form), then build the runner."""
    try:
        setup_env(cfg)
    except RuntimeError as err:
        raise SystemExit(str(err))
    runner = FaceRunner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if not torch.cuda.is_available():
        runner.model = revert_sync_batchnorm(runner.model)  # SyncBN has no CPU kernel
    return runner


def main() -> None:
    args = parse_args()
    runner = build_runner(merge_args(Config.fromfile(args.config), args))
    if not any(isinstance(hook, BatchNormBatchCheckHook) for hook in runner.hooks):
        runner.register_hook(BatchNormBatchCheckHook())  # refuses a BatchNorm batch of 1 before iteration 1
    runner.train()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()  # join the backend's threads before the interpreter exits


if __name__ == '__main__':
    main()
