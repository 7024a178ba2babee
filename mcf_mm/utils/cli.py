"""Shared pieces of the command-line tools: the exit on a bad input file, the launcher/``--cfg-options`` arguments.

Nothing heavy is imported here at module level (``mcf_mm.checkpoint`` pulls in torch): tools import this first.
"""

import argparse
import os
import sys
from typing import Any, Callable, Type


def run_cli(main: Callable[[], Any], *more_errors: Type[BaseException]) -> None:
    """Run a tool's ``main``; a wrong, unsafe or missing checkpoint or file (and any of ``more_errors``) ends it
    with ``error: <message>`` on stderr and exit status 1, not a traceback."""
    from mcf_mm.checkpoint import CheckpointFormatError

    try:
        main()
    except (CheckpointFormatError, FileNotFoundError, *more_errors) as err:
        sys.exit(f'error: {err}')


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local_rank`` (as tools/train.py and tools/test.py take them)."""
    from mmengine.config import DictAction

    from .cfg_options import HELP as CFG_OPTIONS_HELP

    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=CFG_OPTIONS_HELP)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launcher_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line; ``--local_rank`` (from ``torch.distributed.launch``) fills ``LOCAL_RANK`` if unset."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_runner(cfg):
    """Set up this machine for ``cfg`` (process group, DDP form; :func:`setup_env`), then build the runner:
    mcf_mm's FaceRunner unless the config names a ``runner_type``. On a host without CUDA, SyncBN becomes BN
    (SyncBN has no CPU kernel). A config with a ``strategy`` (FSDP) builds its ``runner_type`` in its default
    scope (mcf_mm's runners are not in mmengine's root registry); its strategy builds and wraps the model in
    ``train()``. A machine that cannot run ``cfg`` stops with the reason."""
    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import RUNNERS, init_default_scope

    from mcf_mm.engine import FaceRunner

    from .compat import setup_env

    try:
        setup_env(cfg)
    except RuntimeError as err:
        raise SystemExit(str(err))
    if cfg.get('strategy') is not None:
        if cfg.get('runner_type') is None:
            raise SystemExit("a config with `strategy` needs runner_type='FaceFlexibleRunner' (mcf_mm/engine/fsdp.py).")
        init_default_scope(cfg.get('default_scope', 'mcf_mm'))
        return RUNNERS.build(cfg)  # the model is still a config here: the strategy builds it
    runner = FaceRunner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if not torch.cuda.is_available():
        runner.model = revert_sync_batchnorm(runner.model)
    return runner
