"""Foreign ViTs (built here from their published definitions) -> saved in their format -> converted ->
loaded into FaceViT: the chosen blocks' outputs must agree within 1e-5."""

import argparse
import importlib.util
import os.path as osp

import pytest
import torch

import mcf_mm  # noqa: F401
from mcf_fixtures.foreign_vits import ClipViT, TimmViT, randomise
from mcf_mm.checkpoint import (
    clip_style_vit_kwargs,
    detect_format,
    infer_vit_arch,
    load_vit_weights,
    read_checkpoint,
    to_vit_state_dict,
)
from mcf_mm.models.backbones import FaceViT

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128)
BLOCKS = [0, 1]


def convert(source: str, *argv: str) -> dict:
    """Run tools/model_converters/convert.py with ``--source source``; returns what its main returns."""
    path = osp.join(ROOT, 'tools', 'model_converters', 'convert.py')
    spec = importlib.util.spec_from_file_location('convert_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main([*argv, '--source', source])


def face_vit(path: str, clip: bool = False, **extra) -> FaceViT:
    kwargs = clip_style_vit_kwargs() if clip else {}
    kwargs.update(extra)
    model = FaceViT(arch=ARCH, img_size=32, patch_size=8, init_cfg=dict(type='Pretrained', checkpoint=path), **kwargs)
    model.init_weights()
    model.eval()  # mmpretrain's ViT.train() returns None
    return model


def assert_blocks_match(ours: FaceViT, ref, img: torch.Tensor) -> None:
    with torch.no_grad():
        got = ours.get_intermediate_layers(img, BLOCKS, norm=False, reshape=False)  # [N, T, D] each
        want = ref.block_outputs(img, BLOCKS)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w, atol=1e-5, rtol=0)


@pytest.fixture
def img():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def timm_vit(seed: int) -> TimmViT:
    torch.manual_seed(seed)
    return randomise(TimmViT(img_size=32, patch=8, dim=32, depth=2, heads=2)).eval()


def test_timm_roundtrip(tmp_path, img):
    ref = timm_vit(1)
    src = str(tmp_path / 'timm.pth')
    torch.save(ref.state_dict(), src)  # timm's plain state dict
    dst = str(tmp_path / 'timm_conv.pth')
    meta = convert('timm', src, dst, '--num-heads', '2')
    assert meta['source_format'] == 'timm' and meta['vit_kwargs']['arch'] == ARCH
    assert set(meta['dropped_keys']) == {'head.weight', 'head.bias'}
    assert_blocks_match(face_vit(dst), ref, img)
    # the final norm maps too: normed CLS agrees with timm's
    ours = face_vit(src)
    with torch.no_grad():
        cls = ours.ln1(ours.get_intermediate_layers(img, [1], reshape=False)[0])[:, 0]
    torch.testing.assert_close(cls, ref.final(img), atol=1e-5, rtol=0)


def test_mae_roundtrip_with_args_namespace(tmp_path, img):
    ref = timm_vit(2)
    model = {k: v for k, v in ref.state_dict().items() if not k.startswith('head.')}
    model.update(
        {
            'mask_token': torch.zeros(1, 1, 16),
            'decoder_embed.weight': torch.randn(16, 32),
            'decoder_pred.weight': torch.randn(192, 16),
        }
    )
    src = str(tmp_path / 'mae.pth')
    torch.save(
        {
            'model': model,
            'optimizer': {'state': {}},
            'epoch': 799,
            'args': argparse.Namespace(model='mae_vit_base', mask_ratio=0.75),
        },
        src,
    )
    assert detect_format(read_checkpoint(src)) == 'timm'
    dst = str(tmp_path / 'mae_conv.pth')
    convert('timm', src, dst, '--num-heads', '2')
    assert_blocks_match(face_vit(dst), ref, img)


def test_clip_farl_roundtrip(tmp_path, img):
    torch.manual_seed(3)
    ref = randomise(ClipViT(input_resolution=32, patch_size=8, width=32, layers=2, heads=2)).eval()
    sd = {'visual.' + k: v for k, v in ref.state_dict().items()}
    sd.update(
        {
            'token_embedding.weight': torch.randn(100, 16),
            'transformer.resblocks.0.ln_1.weight': torch.ones(16),
            'ln_final.weight': torch.ones(16),
            'logit_scale': torch.tensor(4.6),
        }
    )
    src = str(tmp_path / 'farl.pth')
    torch.save({'state_dict': sd}, src)  # FaRL's release layout
    dst = str(tmp_path / 'farl_conv.pth')
    meta = convert('clip', src, dst, '--num-heads', '2')
    assert meta['source_format'] == 'clip' and meta['dropped_keys'] == ['proj']
    assert meta['vit_kwargs']['pre_norm'] is True
    for path in (src, dst):  # the original and the converted file both load
        ours = face_vit(path, clip=True)
        assert_blocks_match(ours, ref, img)
    with torch.no_grad():  # ln_post maps to ln1: CLS embedding through proj equals CLIP's
        cls = ours.ln1(ours.get_intermediate_layers(img, [1], reshape=False)[0])[:, 0] @ ref.proj
    torch.testing.assert_close(cls, ref(img), atol=1e-5, rtol=0)


def test_mocov3_branches(tmp_path, img):
    base, momentum = timm_vit(4), timm_vit(5)
    sd = {'module.base_encoder.' + k: v for k, v in base.state_dict().items()}
    sd.update({'module.momentum_encoder.' + k: v for k, v in momentum.state_dict().items()})
    sd['module.predictor.0.weight'] = torch.randn(8, 8)
    src = str(tmp_path / 'mocov3.pth')
    torch.save({'epoch': 300, 'arch': 'vit_base', 'state_dict': sd, 'optimizer': {}}, src)
    for branch, ref in (('online', base), ('target', momentum)):
        dst = str(tmp_path / f'mocov3_{branch}.pth')
        convert('mocov3', src, dst, '--branch', branch, '--num-heads', '2')
        assert_blocks_match(face_vit(dst), ref, img)


def test_original_mcf_branches(tmp_path, img):
    online, target = timm_vit(6), timm_vit(7)
    model = {'online_encoder.' + k: v for k, v in online.state_dict().items()}
    model.update({'target_encoder.' + k: v for k, v in target.state_dict().items()})
    model.update(
        {
            'predictor.0.weight': torch.randn(8, 8),
            'decoder_embed.weight': torch.randn(16, 32),
            'mask_token': torch.zeros(1, 1, 16),
            'perceptual_loss.model.blocks.0.norm1.weight': torch.ones(32),
        }
    )
    src = str(tmp_path / 'mcf.pth')
    torch.save(
        {
            'model': model,
            'optimizer': {},
            'epoch': 15,
            'scaler': {'scale': 1024.0},
            'args': argparse.Namespace(mask_ratio=0.75),
        },
        src,
    )
    for branch, ref in (('online', online), ('target', target)):
        dst = str(tmp_path / f'mcf_{branch}.pth')
        convert('mcf', src, dst, '--branch', branch, '--num-heads', '2')
        assert_blocks_match(face_vit(dst), ref, img)
        # the original file loads directly through init_cfg too
        ours = FaceViT(
            arch=ARCH, img_size=32, patch_size=8, init_cfg=dict(type='Pretrained', checkpoint=src, branch=branch)
        )
        ours.init_weights()
        ours.eval()
        assert_blocks_match(ours, ref, img)


def test_mcf_mm_extract_backbone_and_pos_embed_resize(tmp_path, img):
    torch.manual_seed(8)
    online = FaceViT(arch=ARCH, img_size=32, patch_size=8, fixed_pos_embed=False)
    target = FaceViT(arch=ARCH, img_size=32, patch_size=8, fixed_pos_embed=False)
    for m in (online, target):
        randomise(m)
        torch.nn.init.normal_(m.pos_embed)
    sd = {'backbone.' + k: v for k, v in online.state_dict().items()}
    sd.update({'target.backbone.' + k: v for k, v in target.state_dict().items()})
    src = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': sd, 'meta': {'mcf_mm_algorithm': 'MCF'}}, src)
    for branch, ref in (('online', online), ('target', target)):
        dst = str(tmp_path / f'bb_{branch}.pth')
        convert('mcf_mm', src, dst, '--branch', branch)
        ours = face_vit(dst, fixed_pos_embed=False)
        ref.eval()
        with torch.no_grad():
            for g, w in zip(
                ours.get_intermediate_layers(img, BLOCKS, reshape=False),
                ref.get_intermediate_layers(img, BLOCKS, reshape=False),
            ):
                torch.testing.assert_close(g, w, atol=1e-5, rtol=0)
    # position embeddings resize on the way in (4x4 grid -> 8x8 grid) exactly like mmpretrain's resize
    big = FaceViT(
        arch=ARCH,
        img_size=64,
        patch_size=8,
        fixed_pos_embed=False,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'bb_online.pth')),
    )
    big.init_weights()
    from mmpretrain.models.utils import resize_pos_embed

    want = resize_pos_embed(online.pos_embed.detach(), (4, 4), (8, 8), 'bicubic', 1)
    torch.testing.assert_close(big.pos_embed.detach(), want)


def test_infer_arch_rebuilds_clip_model(tmp_path):
    torch.manual_seed(9)
    ref = ClipViT(input_resolution=32, patch_size=8, width=32, layers=2, heads=2)
    sd, fmt, _ = to_vit_state_dict({'state_dict': {'visual.' + k: v for k, v in ref.state_dict().items()}})
    kwargs = infer_vit_arch(sd, fmt, num_heads=2)
    assert kwargs['arch'] == ARCH and kwargs['img_size'] == 32 and kwargs['patch_size'] == 8
    assert kwargs['patch_cfg'] == dict(bias=False) and kwargs['pre_norm']


def test_load_report_counts(tmp_path, capsys):
    ref = timm_vit(10)
    src = str(tmp_path / 'timm.pth')
    torch.save(ref.state_dict(), src)
    model = FaceViT(arch=ARCH, img_size=32, patch_size=8)
    report = load_vit_weights(model, src)
    assert report['loaded'] == report['total'] == len(model.state_dict())
    assert report['missing'] == [] and report['unexpected'] == []
    assert f'Loaded {report["total"]}/{report["total"]} tensors' in capsys.readouterr().out


@pytest.mark.parametrize('kind', ['clip', 'mocov3'])
def test_teacher_builds_from_foreign_checkpoints(tmp_path, img, kind):
    from mcf_mm.checkpoint import CLIP_MEAN, CLIP_STD
    from mcf_mm.models.target_generators import FrozenViTTeacher

    torch.manual_seed(11)
    if kind == 'clip':
        ref = randomise(ClipViT(input_resolution=32, patch_size=8, width=32, layers=2, heads=2)).eval()
        ckpt = {'state_dict': {'visual.' + k: v for k, v in ref.state_dict().items()}}
    else:
        ref = timm_vit(12)
        ckpt = {'state_dict': {'module.base_encoder.' + k: v for k, v in ref.state_dict().items()}}
    path = str(tmp_path / f'{kind}.pth')
    torch.save(ckpt, path)
    # data in CLIP normalisation so the teacher's renormalisation is the identity for both kinds
    teacher = FrozenViTTeacher(
        path, out_indices=(0, 1), num_heads=2, data_mean=CLIP_MEAN, data_std=CLIP_STD, mean=CLIP_MEAN, std=CLIP_STD
    )
    with torch.no_grad():
        for g, w in zip(teacher(img), ref.block_outputs(img, [0, 1])):
            torch.testing.assert_close(g, w, atol=1e-5, rtol=0)
