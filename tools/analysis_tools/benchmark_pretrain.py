"""Training speed and peak memory of MCF against mmpretrain's MAE (same encoder, decoder and batch), and the
breakdown of MCF's step time by part. Each measurement runs in a fresh process (spawned), one after another.

    python tools/analysis_tools/benchmark_pretrain.py --arch small --img-size 224 --batch 8 --steps 5
    python tools/analysis_tools/benchmark_pretrain.py --arch base --batch 64 --device cuda --amp   # GPU

The MCF model is configs/mcf/pretrain.py with the encoder swapped for --arch; its frozen teacher is a
ViT-B/16 (random weights: speed does not depend on them) as in the paper. Images are random tensors.
"""

import argparse
import json
import multiprocessing as mp
import os
import os.path as osp
import resource
import tempfile
import time

PARTS = ('ema_update', 'online_encoder', 'decoder', 'teacher_real', 'teacher_pseudo', 'target_encoder', 'heads')


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
    if not args.amp:
        optim_cfg.update(type='OptimWrapper')
        optim_cfg.pop('loss_scale', None)
    return model, build_optim_wrapper(model, optim_cfg)


def measure(kind: str, args, teacher_path: str, queue) -> None:
    import torch
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(args.threads)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model, optim = build(kind, args, teacher_path)
    cuda = args.device.startswith('cuda')
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    img = torch.randn(args.batch, 3, args.img_size, args.img_size, device=args.device)

    def step():
        with optim.optim_context(model):
            losses = model.loss(img, None)
        t = time.perf_counter()
        optim.update_params(sum(losses.values()))
        sync()
        return time.perf_counter() - t

    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sync()
    start, backward = time.perf_counter(), 0.0
    for _ in range(args.steps):
        backward += step()
    sync()
    elapsed = time.perf_counter() - start
    result = dict(
        model=kind,
        images_per_s=args.batch * args.steps / elapsed,
        step_s=elapsed / args.steps,
        backward_and_optimizer_s=backward / args.steps,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        rss_before_model_mb=base_rss,
    )
    if cuda:
        result['peak_cuda_mb'] = torch.cuda.max_memory_allocated() / 2**20
    if kind == 'mcf':
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--arch', default='small', choices=['tiny', 'small', 'base', 'large'])
    p.add_argument('--img-size', type=int, default=224)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--profile-steps', type=int, default=2)
    p.add_argument('--device', default='cpu')
    p.add_argument('--amp', action='store_true', help='AmpOptimWrapper (GPU)')
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--out', help='also write the results as JSON')
    args = p.parse_args()
    ctx = mp.get_context('spawn')
    with tempfile.TemporaryDirectory() as tmp:
        teacher_path = osp.join(tmp, 'teacher_vit-base-p16.pth')
        writer = ctx.Process(target=write_teacher, args=(teacher_path, args.img_size))
        writer.start()
        writer.join()
        results = []
        for kind in ('mae', 'mcf'):
            queue = ctx.Queue()
            proc = ctx.Process(target=measure, args=(kind, args, teacher_path, queue))
            proc.start()
            results.append(queue.get())
            proc.join()
    report(results, args)


def write_teacher(path: str, img_size: int) -> None:
    import torch

    import mcf_mm  # noqa: F401
    from mcf_mm.models.backbones import FaceViT

    vit = FaceViT(arch='base', img_size=img_size, patch_size=16)
    torch.save({'state_dict': {'backbone.' + k: v for k, v in vit.state_dict().items()}}, path)


def report(results: list, args) -> None:
    print(
        f'\nViT-{args.arch[0].upper()}/16 encoder at {args.img_size} px, batch {args.batch}, {args.device}'
        f'{" AMP" if args.amp else ""}, {args.threads} threads, {args.steps} timed steps'
    )
    print(
        f'{"model":6} {"images/s":>9} {"step s":>8} {"peak RSS MB":>12} {"RSS before model MB":>20}'
        + (f' {"peak CUDA MB":>13}' if 'peak_cuda_mb' in results[0] else '')
    )
    for r in results:
        print(
            f'{r["model"]:6} {r["images_per_s"]:9.2f} {r["step_s"]:8.3f} {r["peak_rss_mb"]:12.0f} '
            f'{r["rss_before_model_mb"]:20.0f}' + (f' {r["peak_cuda_mb"]:13.0f}' if 'peak_cuda_mb' in r else '')
        )
    mcf = results[-1]
    print(f'MCF / MAE step time: {mcf["step_s"] / results[0]["step_s"]:.2f}x')
    print(
        'MCF step breakdown (s per step, profiler): '
        + ', '.join(f'{k} {v:.3f}' for k, v in mcf['breakdown_s'].items())
        + f', backward+optimizer {mcf["backward_and_optimizer_s"]:.3f}'
    )
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=2)


if __name__ == '__main__':
    main()
