"""Evaluate backbones on every face task under the same protocols and print the paper-style table.

    python tools/benchmark_backbone.py random mae=work_dirs/mae/iter_600.pth [NAME=CKPT ...] \
        --suite cpu [--tasks helen29 fasseg-v2 ...] [--protocols finetune linear lowdata] \
        [--fractions 0.1 0.3] [--seeds 0 1] [--jobs 2] [--threads 1] --work-dir work_dirs/bench

A backbone is `random` (the task config's architecture, random init) or a checkpoint of any format mcf_mm's
checkpoint reader knows (mcf_mm, MCF, MoCo-v3, timm/MAE, mmpretrain, CLIP/FaRL), optionally named NAME=CKPT;
its ViT architecture is read from the weights and each task config follows it. Finished runs (their test
metrics file exists) are reused, so an interrupted benchmark resumes by running the same command again.
Outputs in --work-dir: results.md, results.json, results_bars.png, results_lowdata.png, runs/<backbone>/<task>/
<protocol>/seed<k>/ (config.py, logs, metrics_<task>.json). Documentation: docs/benchmark.md.
"""

import argparse
import os
import os.path as osp
import shlex
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('backbones', nargs='+', help='`random`, CKPT or NAME=CKPT (any format the reader knows)')
    p.add_argument('--suite', choices=['cpu', 'paper'], default='cpu')
    p.add_argument('--tasks', nargs='+', help='task names of the suite (default: all)')
    p.add_argument('--protocols', nargs='+', default=['finetune', 'linear', 'lowdata'])
    p.add_argument('--fractions', nargs='+', type=float, default=[0.1, 0.3], help='low-data train fractions')
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    p.add_argument('--jobs', type=int, default=1, help='runs at once (worker processes)')
    p.add_argument('--threads', type=int, default=1, help='torch / OpenMP threads per run (OMP_NUM_THREADS)')
    p.add_argument(
        '--workers', type=int, help="data-loader workers per run (default: 0 for --suite cpu, the configs' for paper)"
    )
    p.add_argument(
        '--stage-time',
        nargs='*',
        default=[],
        metavar='STAGE=SECONDS',
        help='wall times of earlier stages (e.g. pre-training) to list in results.md',
    )
    p.add_argument('--report-only', action='store_true', help='write the reports from finished runs; run nothing')
    p.add_argument('--no-plots', action='store_true')
    p.add_argument('--work-dir', required=True)
    args = p.parse_args(argv)
    if args.jobs < 1 or args.threads < 1:
        p.error('--jobs and --threads must be >= 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mcf_mm.benchmark import get_tasks, make_protocols, parse_backbones, plan_runs, run_all, write_reports

    try:  # every bad input fails here, before the first run
        tasks = get_tasks(args.suite, args.tasks)
        protocols = make_protocols(args.protocols, args.fractions)
        backbones = parse_backbones(args.backbones)
        stage_times = {}
        for item in args.stage_time:
            stage, _, sec = item.rpartition('=')
            stage_times[stage] = float(sec)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f'benchmark_backbone: {err}')
    os.makedirs(args.work_dir, exist_ok=True)
    runs = plan_runs(backbones, tasks, protocols, args.seeds, osp.abspath(args.work_dir))
    workers = args.workers if args.workers is not None else (0 if args.suite == 'cpu' else None)
    results = [] if args.report_only else run_all(runs, args.jobs, args.threads, workers)
    command = 'python tools/benchmark_backbone.py ' + ' '.join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    notes = [f'- {t.name}: `{t.config}`' + (f' ({t.adjust_note})' if t.adjust_note else '') for t in tasks]
    header = '\n'.join(
        [
            f'# Backbone benchmark, suite `{args.suite}`',
            '',
            f'Command: `{command}`',
            '',
            f'Seeds {args.seeds}; {args.jobs} run(s) at a time, {args.threads} thread(s) each, on {os.cpu_count()} '
            'CPU core(s) (wall times include waiting for a shared machine). Final-epoch test metrics; '
            'mean ± sample std over seeds. Frozen backbone = mmpretrain `frozen_stages` = depth (head and, for '
            'alignment/parsing, neck trained); low-data = a seeded, nested fraction of the training set, same '
            'epochs. Tasks and their configs:',
            *notes,
        ]
    )
    settings = dict(
        suite=args.suite,
        seeds=args.seeds,
        fractions=args.fractions,
        jobs=args.jobs,
        threads=args.threads,
        command=command,
    )
    data = write_reports(
        args.work_dir, runs, backbones, protocols, tasks, header, settings, stage_times, plots=not args.no_plots
    )
    with open(osp.join(args.work_dir, 'results.md')) as f:
        print(f.read())
    missing = [r.name for r in runs if not r.finished]
    if missing:
        print(f'{len(missing)} run(s) have no results yet: {missing[:10]}{" ..." if len(missing) > 10 else ""}')
    failed = [r for r in results if not r['ok']]
    return 1 if failed or (missing and not args.report_only) else 0 if data else 1


if __name__ == '__main__':
    sys.exit(main())
