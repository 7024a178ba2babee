"""Training speed, FLOP utilisation and peak memory of MCF against mmpretrain's MAE (same encoder, decoder and
batch), and the breakdown of MCF's step time by part. Each measurement runs in a fresh process (spawned), one after
another; ``--repeats R`` runs the MAE/MCF pair R times and reports medians (use it on a shared machine).

    python tools/analysis_tools/benchmark_pretrain.py --arch small --img-size 224 --batch 8 --steps 5 --threads 1
    python tools/analysis_tools/benchmark_pretrain.py --arch base --batch 64 --device cuda --amp bf16   # GPU

FLOP utilisation = (FLOPs of one train step, forward + backward, counted by torch's FlopCounterMode) / step time /
(dense-matmul peak: the median rate of timed N x N matmuls in the same process, same threads, sampled right after
each timed step; bf16 under ``--amp bf16``, fp16 under ``--amp fp16``, fp32 otherwise); the median over the steps.
Step times are medians over the timed steps too. The FLOPs are the model's (matmuls, convolutions and
attention; MCF counted with ``teacher_batch='separate'``, so the zero-gradient backward of 'concat' is not counted
as useful work), as in MFU. On CUDA the report calls it MFU; ``--vendor-peak-tflops`` adds MFU against the
data-sheet peak.

The MCF model is configs/mcf/pretrain.py with the encoder swapped for --arch; its frozen teacher is a
ViT-B/16 (random weights: speed does not depend on them) as in the paper. Images are random tensors.
"""

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import os.path as osp
import resource
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

PARTS = (
    'ema_update',
    'online_encoder',
    'decoder',
    'teacher_real',
    'teacher_pseudo',
    'teacher_concat',
    'target_encoder',
    'heads',
)
AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}


# ---------------------------------------------------------------------------------------------- FLOPs and peak
def sdpa_flop_mapping() -> dict:
    """FlopCounterMode formulas for the CPU flash-attention ops, which torch's counter does not cover (it counts
    the CUDA flash / efficient / cuDNN kernels). Same formulas as torch's: 2 matmuls forward, 5 backward."""
    import torch
    from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count

    aten = torch.ops.aten

    def forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)  # shapes [B, H, S, D]

    def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    return {
        aten._scaled_dot_product_flash_attention_for_cpu: forward,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: backward,
    }


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of the ops ``fn()`` dispatches (matmuls, convolutions, attention; element-wise ops count 0)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False, custom_mapping=sdpa_flop_mapping()) as counter:
        fn()
    return int(counter.get_total_flops())


def matmul_peak_flops(
    n: int,
    dtype: str = 'float32',
    device: str = 'cpu',
    repeats: int = 5,
    timer: Callable[[], float] = time.perf_counter,
) -> float:
    """Dense-matmul peak: median over ``repeats`` timed ``[n, n] @ [n, n]`` products of ``2 n³ / seconds``
    (one untimed product first). ``timer`` is read right before and after each product (synchronised on CUDA)."""
    import torch

    if n < 1 or repeats < 1:
        raise ValueError(f'matmul peak needs n >= 1 and repeats >= 1, got n={n}, repeats={repeats}.')
    a = torch.randn(n, n, device=device).to(getattr(torch, dtype))
    b = torch.randn(n, n, device=device).to(getattr(torch, dtype))
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    torch.mm(a, b)
    sync()
    rates = []
    for _ in range(repeats):
        start = timer()
        torch.mm(a, b)
        sync()
        rates.append(2 * n**3 / (timer() - start))
    return statistics.median(rates)


def utilisation(flops_per_step: float, step_s: float, peak_flops: float) -> float:
    """Fraction of the peak a step reaches: (FLOPs / step time) / peak FLOP/s."""
    if step_s <= 0 or peak_flops <= 0:
        raise ValueError(f'step_s={step_s} and peak_flops={peak_flops} must be > 0.')
    return flops_per_step / step_s / peak_flops


def summarise(runs: List[dict]) -> Dict[str, dict]:
    """Per model, the median of each number over repeated runs (``runs``: one dict per run and model)."""
    out: Dict[str, dict] = {}
    for model in dict.fromkeys(r['model'] for r in runs):
        mine = [r for r in runs if r['model'] == model]
        keys = [k for k, v in mine[0].items() if isinstance(v, (int, float))]
        med = {k: statistics.median(r[k] for r in mine) for k in keys}
        parts = [r['breakdown_s'] for r in mine if 'breakdown_s' in r]
        if parts:
            med['breakdown_s'] = {k: statistics.median(p[k] for p in parts) for k in parts[0]}
        out[model] = dict(model=model, runs=len(mine), **med)
    return out


def utilisation_ratio(runs: List[dict]) -> float:
    """MCF's FLOP utilisation over MAE's: the median over repeats of each pair's ratio (runs in pair order)."""
    mae = [r['utilisation'] for r in runs if r['model'] == 'mae']
    mcf = [r['utilisation'] for r in runs if r['model'] == 'mcf']
    if not mae or len(mae) != len(mcf):
        raise ValueError('the utilisation ratio needs one MCF run per MAE run.')
    return statistics.median(c / a for c, a in zip(mcf, mae))


# ---------------------------------------------------------------------------------------------- models
def build(kind: str, args, teacher_path: str):
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import mcf_mm  # noqa: F401
    from mcf_mm.models.backbones import FACE_VIT_ARCHS
    from mcf_mm.registry import MODELS

    init_default_scope('mcf_mm')
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(repo, 'configs', 'mcf', 'pretrain.py'))
    arch = FACE_VIT_ARCHS[args.arch]
    dims, patches = arch['embed_dims'], (args.img_size // 16) ** 2
    neck = dict(cfg.model.neck, num_patches=patches, embed_dim=dims)
    if kind == 'mcf':
        model_cfg = cfg.model
        model_cfg.backbone.update(arch=arch, img_size=args.img_size)
        model_cfg.neck = neck
        model_cfg.projector.in_channels = dims
        model_cfg.target_generator.update(checkpoint=teacher_path, img_size=args.img_size)
        model_cfg.ema_update = 'step'
        if args.teacher_batch:
            model_cfg.teacher_batch = args.teacher_batch
    else:
        model_cfg = dict(
            type='MAE',
            data_preprocessor=cfg.model.data_preprocessor,
            backbone=dict(type='MAEViT', arch=arch, img_size=args.img_size, patch_size=16, mask_ratio=0.75),
            neck=neck,
            head=dict(
                type='MAEPretrainHead',
                norm_pix=True,
                patch_size=16,
                loss=dict(type='PixelReconstructionLoss', criterion='L2'),
            ),
        )
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).to(args.device)
    model.init_weights()
    model.train()
    optim_cfg = dict(cfg.optim_wrapper, accumulative_counts=1)
    if args.amp and args.device.startswith('cuda'):
        optim_cfg.update(type='AmpOptimWrapper', dtype=AMP_DTYPES[args.amp])
    else:  # fp32, or CPU autocast around the forward (mmengine's AmpOptimWrapper needs CUDA)
        optim_cfg.update(type='OptimWrapper')
        optim_cfg.pop('loss_scale', None)
    return model, build_optim_wrapper(model, optim_cfg)


def _counted_step_flops(model, img, autocast) -> int:
    """FLOPs of one forward + backward, MCF with its teacher in two passes (the model's FLOPs)."""
    mode = getattr(model, 'teacher_batch', None)
    if mode is not None:
        model.teacher_batch = 'separate'

    def step():
        with autocast():
            losses = model.loss(img, None)
        sum(losses.values()).backward()

    try:
        flops = count_flops(step)
    finally:
        if mode is not None:
            model.teacher_batch = mode
    model.zero_grad(set_to_none=True)
    return flops


def measure(kind: str, args, teacher_path: str, queue) -> None:
    import torch
    from mmengine.logging import MMLogger
    from torch.profiler import ProfilerActivity, profile

    MMLogger.get_instance('benchmark_pretrain', log_level='ERROR')  # quiet the per-parameter init logs
    torch.set_num_threads(args.threads)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model, optim = build(kind, args, teacher_path)
    cuda = args.device.startswith('cuda')
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    img = torch.randn(args.batch, 3, args.img_size, args.img_size, device=args.device)
    if args.amp and not cuda:
        dtype = getattr(torch, AMP_DTYPES[args.amp])
        autocast = lambda: torch.autocast('cpu', dtype=dtype)  # noqa: E731
    else:
        autocast = contextlib.nullcontext
    peak_dtype = args.peak_dtype or (AMP_DTYPES[args.amp] if args.amp else 'float32')
    peak_n = args.peak_n or (8192 if cuda else 2048)
    peak_fn = lambda: matmul_peak_flops(peak_n, peak_dtype, args.device, args.peak_repeats)  # noqa: E731
    flops = _counted_step_flops(model, img, autocast)  # eager, before any compile
    loss_fn = torch.compile(model.loss, backend=args.compile) if args.compile else model.loss

    def step() -> Tuple[float, float]:
        """One train step; returns (its seconds, the seconds of backward + optimiser)."""
        start = time.perf_counter()
        with optim.optim_context(model), autocast():
            losses = loss_fn(img, None)
        t = time.perf_counter()
        optim.update_params(sum(losses.values()))
        sync()
        end = time.perf_counter()
        return end - start, end - t

    compile_start = time.perf_counter()
    for _ in range(args.warmup):
        step()
    sync()
    warmup_s = time.perf_counter() - compile_start
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    # The peak is sampled right after every timed step: on a shared machine each step is compared with the
    # matmul rate of its own moment, and the medians over steps are reported.
    steps, backward, peaks = [], [], []
    for _ in range(args.steps):
        step_s, back_s = step()
        steps.append(step_s)
        backward.append(back_s)
        peaks.append(peak_fn())
    step_s = statistics.median(steps)
    result = dict(
        model=kind,
        images_per_s=args.batch / step_s,
        step_s=step_s,
        step_times_s=steps,
        backward_and_optimizer_s=statistics.median(backward),
        warmup_s=warmup_s,
        flops_per_step=flops,
        achieved_flops=flops / step_s,
        peak_flops=statistics.median(peaks),
        peak_samples=peaks,
        utilisation=statistics.median(utilisation(flops, t, p) for t, p in zip(steps, peaks)),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        rss_before_model_mb=base_rss,
    )
    if cuda:
        result['peak_cuda_mb'] = torch.cuda.max_memory_allocated() / 2**20
    if args.vendor_peak_tflops:
        result['mfu_vendor'] = utilisation(flops, step_s, args.vendor_peak_tflops * 1e12)
    if kind == 'mcf' and args.profile_steps > 0:
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            for _ in range(args.profile_steps):
                step()
        events = {e.key: e for e in prof.key_averages()}
        parts = {}
        for part in PARTS:
            e = events.get(f'mcf/{part}')
            if e is not None:
                t = getattr(e, 'device_time_total', 0) if cuda else e.cpu_time_total
                parts[part] = t / 1e6 / args.profile_steps
        result['breakdown_s'] = parts
    queue.put(result)


def write_teacher(path: str, img_size: int) -> None:
    import torch

    import mcf_mm  # noqa: F401
    from mcf_mm.models.backbones import FaceViT

    vit = FaceViT(arch='base', img_size=img_size, patch_size=16)
    torch.save({'state_dict': {'backbone.' + k: v for k, v in vit.state_dict().items()}}, path)


# ---------------------------------------------------------------------------------------------- CLI
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--arch', default='small', choices=['tiny', 'small', 'base', 'large'])
    p.add_argument('--img-size', type=int, default=224)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, help='untimed steps first (default 1; 3 with --compile: compile, recompile)')
    p.add_argument('--repeats', type=int, default=1, help='run the MAE/MCF pair this many times; report medians')
    p.add_argument('--profile-steps', type=int, default=2, help='profiled MCF steps for the breakdown (0: none)')
    p.add_argument('--device', default='cpu')
    p.add_argument(
        '--amp',
        nargs='?',
        const='fp16',
        choices=sorted(AMP_DTYPES),
        help='mixed precision: CUDA AmpOptimWrapper(dtype=...), CPU torch.autocast; bare --amp means fp16',
    )
    p.add_argument('--compile', nargs='?', const='inductor', help='torch.compile the loss with this backend')
    p.add_argument('--teacher-batch', choices=['separate', 'concat'], help="MCF's teacher_batch (default: config)")
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--peak-n', type=int, help='matrix size of the matmul peak (default 2048 CPU, 8192 CUDA)')
    p.add_argument('--peak-dtype', choices=['float32', 'bfloat16', 'float16'], help='default: the AMP dtype')
    p.add_argument('--peak-repeats', type=int, default=3, help='timed matmuls per peak sample (one after each step)')
    p.add_argument('--vendor-peak-tflops', type=float, help='also report MFU against this data-sheet peak')
    p.add_argument('--models', default='mae,mcf', help='comma-separated subset of mae,mcf')
    p.add_argument('--out', help='also write the results as JSON')
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = 3 if args.compile else 1
    models = args.models.split(',')
    if not set(models) <= {'mae', 'mcf'} or not models:
        p.error(f'--models {args.models!r}: choose from mae, mcf')
    if args.amp and not (args.device == 'cpu' or args.device.startswith('cuda')):
        p.error(f'--amp on device {args.device!r}: only cpu and cuda are supported')
    if args.steps < 1 or args.repeats < 1:
        p.error('--steps and --repeats must be >= 1')
    return args


def main() -> None:
    args = parse_args()
    ctx = mp.get_context('spawn')
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        teacher_path = osp.join(tmp, 'teacher_vit-base-p16.pth')
        if 'mcf' in args.models:
            writer = ctx.Process(target=write_teacher, args=(teacher_path, args.img_size))
            writer.start()
            writer.join()
        for _ in range(args.repeats):
            for kind in args.models.split(','):
                queue = ctx.Queue()
                proc = ctx.Process(target=measure, args=(kind, args, teacher_path, queue))
                proc.start()
                runs.append(queue.get())
                proc.join()
    report(runs, args)


def report(runs: List[dict], args) -> None:
    results = summarise(runs)
    cuda = args.device.startswith('cuda')
    label = 'MFU' if cuda else 'util'
    print(
        f'\nViT-{args.arch[0].upper()}/16 encoder at {args.img_size} px, batch {args.batch}, {args.device}'
        f'{" AMP " + args.amp if args.amp else ""}{" compile " + args.compile if args.compile else ""}'
        f'{" teacher_batch " + args.teacher_batch if args.teacher_batch else ""}, {args.threads} threads, '
        f'{args.steps} timed steps, medians of {args.repeats} run(s)'
    )
    print(
        f'{"model":6} {"images/s":>9} {"step s":>8} {"GFLOP/step":>11} {"GFLOP/s":>8} {"peak GFLOP/s":>13} '
        f'{label:>6} {"peak RSS MB":>12}' + (f' {"peak CUDA MB":>13}' if cuda else '')
    )
    for r in results.values():
        print(
            f'{r["model"]:6} {r["images_per_s"]:9.2f} {r["step_s"]:8.3f} {r["flops_per_step"] / 1e9:11.1f} '
            f'{r["achieved_flops"] / 1e9:8.1f} {r["peak_flops"] / 1e9:13.1f} {100 * r["utilisation"]:5.1f}% '
            f'{r["peak_rss_mb"]:12.0f}' + (f' {r["peak_cuda_mb"]:13.0f}' if cuda else '')
        )
        if 'mfu_vendor' in r:
            print(f'{"":6} MFU vs {args.vendor_peak_tflops} TFLOP/s data-sheet peak: {100 * r["mfu_vendor"]:.1f}%')
    ratio = None
    if set(results) == {'mae', 'mcf'}:
        ratio = utilisation_ratio(runs)
        print(f'MCF / MAE step time: {results["mcf"]["step_s"] / results["mae"]["step_s"]:.2f}x')
        print(f'MCF / MAE FLOP utilisation: {ratio:.2f}')
    if 'mcf' in results and 'breakdown_s' in results['mcf']:
        mcf = results['mcf']
        print(
            'MCF step breakdown (s per step, profiler): '
            + ', '.join(f'{k} {v:.3f}' for k, v in mcf['breakdown_s'].items())
            + f', backward+optimizer {mcf["backward_and_optimizer_s"]:.3f}'
        )
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(args=vars(args), runs=runs, medians=results, utilisation_ratio=ratio), f, indent=2)


if __name__ == '__main__':
    main()
