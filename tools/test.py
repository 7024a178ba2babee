"""Evaluate a checkpoint with any mcf_mm config (mmpose / mmseg / mmpretrain test loops)."""

import argparse
import os.path as osp
import sys

# The repository root, so that configs can `custom_imports` plugins under projects/.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

from mcf_mm.utils.cfg_options import merge_cfg_options  # noqa: E402
from mcf_mm.utils.cli import add_launcher_args, build_runner, parse_launcher_args  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument('--out', help='dump the metrics to this JSON/pickle file')
    parser.add_argument(
        '--show-dir',
        help='draw the predictions of every test image into this folder (landmarks: DIR/<image>_<n>.<ext>; '
        'parsing: DIR/<image>_<n>.png, ground truth | prediction; classification: DIR/<image>_<iter>.png)',
    )
    add_launcher_args(parser)
    return parse_launcher_args(parser)


def enable_show_dir(cfg: Config, show_dir: str) -> None:
    """Turn on the config's visualisation hook (mmpose's, mmseg's or mmpretrain's) for every test image."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if not hook:
        raise SystemExit(
            '--show-dir needs a visualisation hook in default_hooks (mmpose: PoseVisualizationHook, mmseg: '
            'SegVisualizationHook, mmpretrain: VisualizationHook); this config has none.'
        )
    kind = hook['type'].split('.')[-1] if isinstance(hook['type'], str) else hook['type'].__name__
    show_dir = osp.abspath(show_dir)  # the hooks join relative folders below work_dir/<timestamp>/
    if kind == 'PoseVisualizationHook':  # keeps the config's kpt_thr (face alignment: every point drawn)
        hook.update(enable=True, out_dir=show_dir, interval=1)
    elif kind in ('SegVisualizationHook', 'FaceSegVisualizationHook'):  # mcf_mm's: files named per test image
        hook.update(type='FaceSegVisualizationHook', draw=True, interval=1, out_dir=show_dir)
    elif kind == 'VisualizationHook':
        hook.update(enable=True, out_dir=show_dir, interval=1)
    else:
        raise SystemExit(f'--show-dir does not know the visualisation hook {kind!r} of this config.')


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = Config.fromfile(args.config)
    try:  # before anything expensive: a mistyped key must not start a run
        merge_cfg_options(cfg, args.cfg_options)
    except ValueError as err:
        raise SystemExit(str(err))
    cfg.launcher = args.launcher
    cfg.work_dir = (
        args.work_dir or cfg.get('work_dir') or osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    )
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_show_dir(cfg, args.show_dir)
    runner = build_runner(cfg)
    metrics = runner.test()
    if args.out:
        from mmengine.fileio import dump

        dump(metrics, args.out)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()  # join the backend's threads before the interpreter exits


if __name__ == '__main__':
    main()
