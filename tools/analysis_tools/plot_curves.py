"""Plot the curves of mmengine's JSON logs: one PNG per logged key (loss, loss_mim, lr, NME, mIoU, ...).

python tools/analysis_tools/plot_curves.py work_dirs/demo/mcf --out-dir work_dirs/demo/mcf/curves
python tools/analysis_tools/plot_curves.py RUN_A/.../vis_data/scalars.json RUN_B --keys loss --legend A B

Each input is a ``scalars.json`` (mmengine's LocalVisBackend: ``<work_dir>/<timestamp>/vis_data/``) or a work
dir, whose runs (timestamp folders, e.g. a run and its resumption) are read in time order; a later record of the
same step replaces an earlier one. Training records (they carry ``iter``) are plotted against the iteration;
evaluation records against their ``step`` (the epoch of epoch-based loops, else the iteration). Several inputs
are overlaid, one line each.
"""

import argparse
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

# Bookkeeping fields of mmengine's records: axes, not curves.
AXIS_KEYS = ('epoch', 'iter', 'step')
Curve = Tuple[List[float], List[float]]  # (x, y)


def scalar_files(path: str) -> List[str]:
    """The scalars.json files of one input: the file itself, or every run below a work dir in time order."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'no such log file or work dir: {path}')
    files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not files:
        files = sorted(glob.glob(osp.join(path, '**', 'scalars.json'), recursive=True))
    if not files:
        raise FileNotFoundError(
            f'no scalars.json below {path}: mmengine writes <work_dir>/<timestamp>/vis_data/scalars.json '
            '(LocalVisBackend, in every mcf_mm config); pass that file or the work dir'
        )
    return files


def read_scalars(path: str) -> Dict[str, Dict[str, Curve]]:
    """{'train': {key: (iters, values)}, 'val': {key: (steps, values)}} of one input, sorted by x."""
    phases: Dict[str, Dict[str, Dict[float, float]]] = {'train': {}, 'val': {}}
    for file in scalar_files(path):
        with open(file) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{file}:{n} is not a JSON record ({err}); is this an mmengine scalars.json?')
                phase, x = ('train', record['iter']) if 'iter' in record else ('val', record.get('step'))
                if x is None:
                    continue
                for key, value in record.items():
                    if key in AXIS_KEYS or not isinstance(value, (int, float)) or isinstance(value, bool):
                        continue
                    phases[phase].setdefault(key, {})[float(x)] = float(value)
    return {
        phase: {key: (sorted(pts), [pts[x] for x in sorted(pts)]) for key, pts in curves.items()}
        for phase, curves in phases.items()
    }


def plot_key(ax, runs: Sequence[Dict[str, Dict[str, Curve]]], key: str, labels: Sequence[str]) -> None:
    """Draw ``key`` of every run on ``ax`` (training against iterations, evaluation against steps)."""
    for run, label in zip(runs, labels):
        for phase in ('train', 'val'):
            if key in run[phase]:
                xs, ys = run[phase][key]
                style = dict(marker='o', markersize=3) if phase == 'val' or len(xs) < 3 else {}
                ax.plot(xs, ys, label=label if len(runs) > 1 else None, **style)
    phase = 'train' if any(key in run['train'] for run in runs) else 'val'
    ax.set_xlabel('iteration' if phase == 'train' else 'evaluation step (epoch or iteration)')
    ax.set_ylabel(key)
    ax.set_title(key)
    ax.grid(alpha=0.3)
    if len(runs) > 1:
        ax.legend()


def plot_curves(
    inputs: Sequence[str], out_dir: str, keys: Optional[Sequence[str]] = None, labels: Optional[Sequence[str]] = None
) -> List[str]:
    """Write ``<out_dir>/<key>.png`` for each key (all logged keys by default); returns the paths written."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = list(labels) if labels else [osp.normpath(p) for p in inputs]
    if len(labels) != len(inputs):
        raise ValueError(f'{len(labels)} legend labels for {len(inputs)} inputs: give one label per input')
    runs = [read_scalars(p) for p in inputs]  # reads (and checks) every input before drawing
    found = sorted({k for run in runs for phase in run.values() for k in phase})
    if keys:
        missing = [k for k in keys if k not in found]
        if missing:
            raise ValueError(f'keys {missing} are not in the logs; logged keys: {found}')
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for key in keys or found:
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        plot_key(ax, runs, key, labels)
        fig.tight_layout()
        path = osp.join(out_dir, key.replace('/', '_') + '.png')
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('inputs', nargs='+', help='scalars.json files or work dirs')
    p.add_argument('--out-dir', default='curves', help='folder of the PNGs (default: ./curves)')
    p.add_argument('--keys', nargs='+', help='keys to plot (default: every logged key)')
    p.add_argument('--legend', nargs='+', help='one label per input (default: the paths)')
    args = p.parse_args()
    try:
        written = plot_curves(args.inputs, args.out_dir, args.keys, args.legend)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'error: {err}')
    print(f'wrote {len(written)} PNGs to {args.out_dir}: {", ".join(osp.basename(w) for w in written)}')


if __name__ == '__main__':
    main()
