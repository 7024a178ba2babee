"""GPU memory estimate per GPU of an MCF config under FSDP (docs/fsdp.md), from real parameter counts and a
measurement of the activations autograd saves.

    python -m mcf_mm.engine.fsdp_memory CONFIG [--world-size 8] [--measure-batch 2] [--no-measure]

Counts come from the config's model built on the meta device (no memory). Activations are measured on the CPU
by building the model for real (the teacher from a random ViT file of the config's teacher size when its file is
absent), running one MCF loss forward under bf16 autocast with a ``saved_tensors_hooks`` pack hook that adds up
the bytes of every tensor autograd keeps for backward (each storage once), with and without activation
checkpointing of the blocks, at two batch sizes: the difference per image is the activation memory (the bf16
weight copies autocast saves do not grow with the batch, and under FSDP they are the gathered units). Under
checkpointing a block keeps only its input ([N, T, D] in bf16): those bytes are added by formula, since
non-reentrant checkpointing holds them outside the hooks.
"""

import argparse
import gc
import os.path as osp
import tempfile
from typing import Dict

import torch
from torch import nn

GIB = 1024**3


def part_counts(model: nn.Module) -> Dict[str, int]:
    """Parameter counts of MCF's parts: trainable (online encoder, decoder, projector, predictor), frozen."""

    def n(module: nn.Module, trainable=None) -> int:
        return sum(p.numel() for p in module.parameters() if trainable is None or p.requires_grad == trainable)

    return dict(
        encoder=n(model.backbone),
        decoder=n(model.neck),
        projector=n(model.projector),
        predictor=n(model.contrast_head),
        trainable=sum(p.numel() for p in model.parameters() if p.requires_grad),
        target=n(model.target),
        teacher=n(model.target_generator),
    )


def state_bytes(counts: Dict[str, int], world_size: int, largest_block: int) -> Dict[str, float]:
    """Bytes per GPU of the model states under FULL_SHARD over ``world_size`` GPUs, bf16 compute.

    fp32 master weights, fp32 gradients and AdamW's two fp32 moments of the trainable parameters, and the fp32
    EMA target, all sharded; the fp32 teacher replicated; bf16 copies of the two units being gathered at a time
    (the one computing and the one prefetched), taken as two of the largest block.
    """
    t, w = counts['trainable'], world_size
    return dict(
        weights=4 * t / w,
        grads=4 * t / w,
        adamw=8 * t / w,
        ema_target=4 * counts['target'] / w,
        teacher=4 * counts['teacher'],
        gathered_units=2 * 2 * largest_block,
    )


def _teacher_file(cfg, folder: str) -> str:
    """A random ViT with the teacher's arch, in the format FrozenViTTeacher reads (keys ``backbone.*``)."""
    from mcf_mm.models.backbones import FaceViT

    teacher = cfg.model.target_generator
    vit = FaceViT(arch=teacher.get('arch', 'base'), img_size=teacher.get('img_size', 224), patch_size=16)
    path = osp.join(folder, 'teacher.pth')
    torch.save({'state_dict': {'backbone.' + k: v for k, v in vit.state_dict().items()}}, path)
    return path


def saved_activation_bytes(model: nn.Module, batch: int, img_size: int, checkpointing: bool) -> int:
    """Bytes autograd saves for one MCF loss forward of ``batch`` images (bf16 autocast, CPU)."""
    from mcf_mm.engine.fsdp import block_types

    seen, total = set(), [0]

    def pack(t: torch.Tensor):
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key not in seen:
            seen.add(key)
            total[0] += t.untyped_storage().nbytes()
        return t

    if checkpointing:
        from functools import partial

        from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
            CheckpointImpl,
            apply_activation_checkpointing,
            checkpoint_wrapper,
        )

        kinds = block_types(model)
        apply_activation_checkpointing(
            model,
            checkpoint_wrapper_fn=partial(checkpoint_wrapper, checkpoint_impl=CheckpointImpl.NO_REENTRANT),
            check_fn=lambda m: isinstance(m, kinds),
        )
    model.train()
    img = torch.randn(batch, 3, img_size, img_size)  # [N, 3, H, W]
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(img, [])
    del losses
    if checkpointing:
        total[0] += _block_input_bytes(model, batch)
    return total[0]


def _block_input_bytes(model: nn.Module, batch: int) -> int:
    """bf16 bytes of the inputs that checkpointed blocks keep: online encoder and decoder blocks (the teacher's
    pseudo-image pass also keeps its blocks' inputs; the target encoder and the real-image teacher pass run
    without grad and keep nothing)."""
    enc = model.backbone
    visible = int(round(enc.patch_resolution[0] * enc.patch_resolution[1] * (1 - enc.mask_ratio))) + 1
    dec_tokens = enc.patch_resolution[0] * enc.patch_resolution[1] + 1
    teacher = model.target_generator.vit
    t_tokens = teacher.patch_resolution[0] * teacher.patch_resolution[1] + 1
    t_blocks = max(model.target_generator.out_indices) + 1
    elements = (
        len(enc.layers) * visible * enc.embed_dims
        + len(model.neck.decoder_blocks) * dec_tokens * model.neck.decoder_blocks[0].embed_dims
        + t_blocks * t_tokens * teacher.embed_dims
    )
    return 2 * batch * elements


def main() -> None:
    import warnings

    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import mcf_mm  # noqa: F401
    from mcf_mm.registry import MODELS

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--world-size', type=int, default=8)
    parser.add_argument('--measure-batch', type=int, default=2)
    parser.add_argument('--no-measure', action='store_true', help='parameter and state counts only')
    args = parser.parse_args()
    if args.measure_batch < 2:
        raise SystemExit("--measure-batch must be >= 2 (the projectors' BatchNorm needs 2 images).")
    warnings.filterwarnings('ignore')  # meta-device loads and init reports: not what this prints
    MMLogger.get_instance('fsdp_memory', log_level='ERROR')
    cfg = Config.fromfile(args.config)
    init_default_scope('mcf_mm')
    with tempfile.TemporaryDirectory() as folder:
        if not osp.isfile(cfg.model.target_generator.checkpoint):
            cfg.model.target_generator.checkpoint = _teacher_file(cfg, folder)
        with torch.device('meta'):
            meta = MODELS.build(cfg.model)
        counts = part_counts(meta)
        largest = max(sum(p.numel() for p in b.parameters()) for b in meta.backbone.layers)
        states = state_bytes(counts, args.world_size, largest)
        batch = cfg.train_dataloader.batch_size
        print('parameters:', ', '.join(f'{k} {v / 1e6:.1f} M' for k, v in counts.items()))
        shares = ', '.join(f'{k} {v / GIB:.2f}' for k, v in states.items())
        print(f'model states per GPU ({args.world_size} GPUs), GiB: {shares}')
        print(f'model states total per GPU: {sum(states.values()) / GIB:.2f} GiB')
        if args.no_measure:
            return
        img = cfg.model.backbone.get('img_size', 224)
        b = args.measure_batch
        rows = []
        for ckpt in (False, True):
            measured = []
            for n in (b, 2 * b):
                torch.manual_seed(0)
                model = MODELS.build(cfg.model)
                model.init_weights()
                measured.append(saved_activation_bytes(model, n, img, ckpt))
                del model  # one full-size model in host memory at a time
                gc.collect()
            per_sample = (measured[1] - measured[0]) / b  # the batch-independent part (bf16 weight copies) cancels
            rows.append((ckpt, per_sample * batch))
            print(
                f'activations, checkpointing={ckpt}: {measured[0] / 2**20:.1f} MiB at batch {b}, '
                f'{measured[1] / 2**20:.1f} MiB at batch {2 * b}: {per_sample / 2**20:.2f} MiB per image; '
                f'x {batch} = {per_sample * batch / GIB:.2f} GiB per GPU'
            )
        for ckpt, per_gpu in rows:
            print(f'estimate per GPU, checkpointing={ckpt}: {(sum(states.values()) + per_gpu) / GIB:.1f} GiB')


if __name__ == '__main__':
    main()
