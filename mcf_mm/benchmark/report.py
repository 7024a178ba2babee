"""The benchmark's outputs: results.json (every run and the summary), results.md (the papers' layout: one row
per backbone and protocol, one column per task, mean ± std over seeds) and PNG plots."""

import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from mcf_mm.utils.fileio import atomic_write_bytes

from .protocols import Protocol
from .runner import Run
from .tasks import Task


def metric_value(metrics: Dict[str, float], key: str) -> float:
    """The metric ``key`` of a test: the exact key, else the one key ending in ``/<key>``."""
    if key in metrics:
        return float(metrics[key])
    found = [k for k in metrics if k.endswith('/' + key)]
    if len(found) != 1:
        raise KeyError(f'metric {key!r} not found once in the test metrics {sorted(metrics)}.')
    return float(metrics[found[0]])


def collect(runs: Sequence[Run], tasks: Sequence[Task]) -> List[dict]:
    """One record per (run, tested task) with a metrics file: final value, best validation value, times."""
    records = []
    for run in runs:
        for task in [run.task, *run.also_test]:
            path = run.metrics_file(task)
            if not osp.isfile(path):
                continue
            with open(path) as f:
                data = json.load(f)
            best = None
            hist = data.get('val_history', {}).get(task.metric) if task.val_is_test else None
            if hist:
                best = float(min(hist) if task.better == 'lower' else max(hist))
            records.append(
                dict(
                    backbone=run.backbone.name,
                    task=task.name,
                    protocol=run.protocol.key,
                    fraction=run.protocol.fraction,
                    seed=run.seed,
                    value=metric_value(data['metrics'], task.metric),
                    best_val_epoch_on_test=best,
                    time_s=data['time']['total_s'] if task is run.task else 0.0,
                    work_dir=run.work_dir,
                )
            )
    return records


def mean_std(values: Sequence[float]) -> Dict[str, float]:
    """Mean and sample standard deviation (n - 1; 0 for one value) of the seeds' values."""
    v = np.asarray(values, dtype=float)
    return dict(mean=float(v.mean()), std=float(v.std(ddof=1)) if len(v) > 1 else 0.0, n=int(len(v)))


def summarise(records: List[dict], backbones: Sequence[str], protocols: Sequence[Protocol], tasks: Sequence[Task]):
    """{backbone: {protocol key: {task: {mean, std, n, values[, best_*]}}}} for the cells that have runs."""
    out = {}
    for b in backbones:
        for p in protocols:
            for t in tasks:
                rs = sorted(
                    (r for r in records if (r['backbone'], r['protocol'], r['task']) == (b, p.key, t.name)),
                    key=lambda r: r['seed'],
                )
                if not rs:
                    continue
                cell = dict(
                    mean_std([r['value'] for r in rs]), values=[r['value'] for r in rs], seeds=[r['seed'] for r in rs]
                )
                best = [r['best_val_epoch_on_test'] for r in rs if r['best_val_epoch_on_test'] is not None]
                if best:
                    cell['best_val_epoch_on_test'] = mean_std(best)
                out.setdefault(b, {}).setdefault(p.key, {})[t.name] = cell
    return out


def fmt_cell(cell: Optional[dict], digits: int = 2) -> str:
    if not cell:
        return 'n/a'
    text = f'{cell["mean"]:.{digits}f} ± {cell["std"]:.{digits}f}'
    return text if cell['n'] > 1 else f'{cell["mean"]:.{digits}f} (n=1)'  # one seed: no spread to show


def markdown(
    summary: dict,
    backbones: Sequence[dict],
    protocols: Sequence[Protocol],
    tasks: Sequence[Task],
    header: str,
    stage_times: Dict[str, float],
    run_times: Dict[str, float],
    suite: str,
) -> str:
    """results.md: the main table (final epoch), the best-epoch table, the published numbers, wall times."""
    cols = ' | '.join(f'{t.label} {"↓" if t.better == "lower" else "↑"}' for t in tasks)
    rule = '|---|---|' + '---|' * len(tasks)
    lines = [
        header,
        '',
        '## Final-epoch test results (mean ± std over seeds)',
        '',
        f'| backbone | protocol | {cols} |',
        rule,
    ]
    if suite == 'paper':
        methods = sorted({m for t in tasks for m in t.published})
        for m in methods:
            vals = ' | '.join(f'{t.published[m]:.2f}' if m in t.published else '' for t in tasks)
            lines.append(f'| *published: {m}* | fine-tune | {vals} |')
    for b in backbones:
        for p in protocols:
            row = summary.get(b['name'], {}).get(p.key, {})
            if row:
                cells = ' | '.join(fmt_cell(row.get(t.name)) for t in tasks)
                lines.append(f'| {b["name"]} | {p.label} | {cells} |')
    best_tasks = [t for t in tasks if t.val_is_test]
    best_rows = []
    for b in backbones:
        for p in protocols:
            row = summary.get(b['name'], {}).get(p.key, {})
            cells = [row.get(t.name, {}).get('best_val_epoch_on_test') for t in best_tasks]
            if any(cells):
                best_rows.append(f'| {b["name"]} | {p.label} | ' + ' | '.join(fmt_cell(c) for c in cells) + ' |')
    if best_rows:
        lines += [
            '',
            "## Best validation epoch, validated on the test split (the papers' selection; NOT the result)",
            '',
            '| backbone | protocol | ' + ' | '.join(t.label for t in best_tasks) + ' |',
            '|---|---|' + '---|' * len(best_tasks),
            *best_rows,
        ]
    lines += ['', '## Backbones', ''] + [f'- **{b["name"]}**: {b["describe"]}' for b in backbones]
    lines += ['', '## Wall time per stage', '', '| stage | wall time |', '|---|---|']
    lines += [f'| {k} | {v / 60:.1f} min |' for k, v in stage_times.items()]
    lines += [f'| benchmark runs: {k} | {v / 60:.1f} min |' for k, v in run_times.items()]
    return '\n'.join(lines) + '\n'


def run_times(records: List[dict], backbones: Sequence[dict], protocols: Sequence[Protocol]) -> Dict[str, float]:
    """Summed run wall time (train + test, all tasks and seeds) per backbone and protocol."""
    out = {}
    for b in backbones:
        for p in protocols:
            t = sum(r['time_s'] for r in records if r['backbone'] == b['name'] and r['protocol'] == p.key)
            if t:
                out[f'{b["name"]}, {p.label}'] = t
    return out


def plot(summary: dict, backbones: Sequence[str], protocols: Sequence[Protocol], tasks: Sequence[Task], out: str):
    """Per-task bar charts (bars = backbones, groups = protocols, error bars = std) and low-data curves."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    paths = []
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    width = 0.8 / max(1, len(backbones))
    for ax, t in zip(axes[0], tasks):
        for i, b in enumerate(backbones):
            cells = [summary.get(b, {}).get(p.key, {}).get(t.name) for p in protocols]
            x = np.arange(len(protocols)) + (i - (len(backbones) - 1) / 2) * width
            ax.bar(
                x,
                [c['mean'] if c else np.nan for c in cells],
                width,
                yerr=[c['std'] if c else 0 for c in cells],
                capsize=3,
                label=b,
            )
        ax.set_xticks(np.arange(len(protocols)), [p.key for p in protocols], rotation=30, fontsize=7)
        ax.set_title(f'{t.label} ({t.better} is better)', fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    paths.append(osp.join(out, 'results_bars.png'))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    low = [p for p in protocols if p.name == 'lowdata']
    if low:
        curve = low + [p for p in protocols if p.name == 'finetune']
        fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False)
        for ax, t in zip(axes[0], tasks):
            for b in backbones:
                pts = [(p.fraction, summary.get(b, {}).get(p.key, {}).get(t.name)) for p in curve]
                pts = sorted((f, c) for f, c in pts if c)
                if pts:
                    ax.errorbar(
                        [f for f, _ in pts],
                        [c['mean'] for _, c in pts],
                        yerr=[c['std'] for _, c in pts],
                        marker='o',
                        capsize=3,
                        label=b,
                    )
            ax.set_xscale('log')
            ax.set_xlabel('fraction of the training set')
            ax.set_title(f'{t.label} ({t.better} is better)', fontsize=9)
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        paths.append(osp.join(out, 'results_lowdata.png'))
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def write_reports(
    out_dir: str,
    runs: Sequence[Run],
    backbones,
    protocols: Sequence[Protocol],
    tasks: Sequence[Task],
    header: str,
    settings: dict,
    stage_times: Optional[Dict[str, float]] = None,
    plots: bool = True,
) -> dict:
    """Write results.json, results.md and the plots; return the JSON object."""
    records = collect(runs, tasks)
    names = [b.name for b in backbones]
    summary = summarise(records, names, protocols, tasks)
    bdesc = [dict(name=b.name, describe=b.describe(), checkpoint=b.checkpoint, format=b.fmt) for b in backbones]
    rtimes = run_times(records, bdesc, protocols)
    data = dict(
        settings=settings,
        backbones=bdesc,
        tasks=[
            dict(
                name=t.name,
                label=t.label,
                metric=t.metric,
                better=t.better,
                config=t.config,
                published=t.published,
                suite_changes=t.adjust_note,
            )
            for t in tasks
        ],
        protocols=[dict(key=p.key, name=p.name, fraction=p.fraction, label=p.label) for p in protocols],
        summary=summary,
        runs=records,
        stage_times_s=dict(stage_times or {}),
        run_times_s=rtimes,
    )
    atomic_write_bytes(json.dumps(data, indent=2).encode(), osp.join(out_dir, 'results.json'))
    md = markdown(summary, bdesc, protocols, tasks, header, dict(stage_times or {}), rtimes, settings.get('suite'))
    atomic_write_bytes(md.encode(), osp.join(out_dir, 'results.md'))
    if plots and records:
        data['plots'] = plot(summary, names, protocols, tasks, out_dir)
    return data
