"""Train any mcf_mm config (pre-training in mmpretrain, fine-tuning in mmpose/mmseg) with mcf_mm's FaceRunner."""

import argparse
import os.path as osp
import sys

# The repository root, so that configs can `custom_imports` plugins under projects/.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

from mcf_mm.engine.hooks.config_checks import BatchNormBatchCheckHook  # noqa: E402
from mcf_mm.utils.cfg_options import merge_cfg_options  # noqa: E402
from mcf_mm.utils.cli import add_launcher_args, build_runner, parse_launcher_args  # noqa: E402


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
    add_launcher_args(parser)
    return parse_launcher_args(parser)


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
    if args.amp and cfg.get('strategy') is not None:
        raise SystemExit(
            '--amp is for the Runner configs; this config trains through a strategy (e.g. FSDP in bf16: its '
            'model_wrapper.mixed_precision sets the precision). Drop --amp.'
        )
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


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = build_runner(cfg)
    if not any(isinstance(hook, BatchNormBatchCheckHook) for hook in runner.hooks):
        runner.register_hook(BatchNormBatchCheckHook())  # refuses a BatchNorm batch of 1 before iteration 1
    runner.train()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()  # join the backend's threads before the interpreter exits


if __name__ == '__main__':
    main()
