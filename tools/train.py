"""Train any mcf_mm config (pre-training in mmpretrain, fine-tuning in mmpose/mmseg) with mmengine's Runner."""
import argparse
import os
import os.path as osp
import sys

# The repository root, so that configs can `custom_imports` plugins under projects/.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mcf_mm  # noqa: E402,F401  (applies the environment fixes before mm* modules are used)
import torch
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import RUNNERS

from mcf_mm.engine import FaceRunner


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest in work_dir if no path')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision (GPU)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
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
    if not torch.cuda.is_available():
        adapt_to_cpu(cfg)
    return cfg


def adapt_to_cpu(cfg: Config) -> None:
    """CPU-only machine: gloo process groups, DDP without device ids, fp32 optimiser wrapper."""
    if cfg.launcher != 'none':
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    if cfg.get('optim_wrapper', {}).get('type') == 'AmpOptimWrapper':
        print('No CUDA device: training in fp32 (AmpOptimWrapper -> OptimWrapper).')
        cfg.optim_wrapper.type = 'OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
        cfg.optim_wrapper.pop('dtype', None)


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = FaceRunner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if not torch.cuda.is_available():
        runner.model = revert_sync_batchnorm(runner.model)  # SyncBN has no CPU kernel
    runner.train()


if __name__ == '__main__':
    main()
