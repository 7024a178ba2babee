"""An official-format FaRL checkpoint loads into the mmpose / mmseg downstream backbones; the tiny FaRL
config trains one step through tools/train.py (the mmpretrain runner)."""

import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

import mcf_mm  # noqa: F401
from mcf_fixtures.foreign_vits import ClipViT, randomise
from mcf_mm.checkpoint import clip_style_vit_kwargs
from mcf_mm.models import CLIPTextTransformer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128)


def write_official_farl(path: str) -> ClipViT:
    """FaRL's release layout: {'state_dict': visual.* (CLIP ViT) + the CLIP text tower + logit_scale}."""
    torch.manual_seed(0)
    visual = randomise(ClipViT(input_resolution=32, patch_size=8, width=32, layers=2, heads=2, output_dim=16)).eval()
    text = CLIPTextTransformer(vocab_size=49408, context_length=77, width=16, layers=1, heads=2, embed_dim=16)
    sd = {'visual.' + k: v for k, v in visual.state_dict().items()}
    sd.update(text.state_dict())
    sd['logit_scale'] = torch.tensor(4.6052)
    torch.save({'state_dict': sd}, path)
    return visual


def backbone_cfg(path: str, img_size: int) -> dict:
    return dict(
        _scope_='mcf_mm',
        type='FaceViT',
        arch=ARCH,
        img_size=img_size,
        patch_size=8,
        out_indices=(0, 1),
        out_type='featmap',
        final_norm=False,
        **clip_style_vit_kwargs(),
        init_cfg=dict(type='Pretrained', checkpoint=path),
    )


@pytest.mark.parametrize('scope', ['mmpose', 'mmseg'])
def test_official_farl_loads_into_downstream_backbone(tmp_path, scope):
    if scope == 'mmpose':
        from mmpose.registry import MODELS
    else:
        from mmseg.registry import MODELS
    path = str(tmp_path / 'FaRL-Base-Patch16-LAIONFace20M-ep16.pth')
    ref = write_official_farl(path)
    img = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    same = MODELS.build(backbone_cfg(path, 32))
    assert type(same).__name__ == 'FaceViT'
    same.init_weights()
    same.eval()
    with torch.no_grad():
        feats = same(img)  # tuple of [N, D, h, w]
        want = ref.block_outputs(img, [0, 1])
    for f, w in zip(feats, want):
        torch.testing.assert_close(f, w[:, 1:].transpose(1, 2).reshape(2, 32, 4, 4), atol=1e-5, rtol=0)
    big = MODELS.build(backbone_cfg(path, 64))  # downstream resolution: 4x4 -> 8x8 position grid
    big.init_weights()
    from mmpretrain.models.utils import resize_pos_embed

    want_pos = resize_pos_embed(ref.positional_embedding.detach()[None], (4, 4), (8, 8), 'bicubic', 1)
    torch.testing.assert_close(big.pos_embed.detach(), want_pos)
    assert big(torch.randn(1, 3, 64, 64))[1].shape == (1, 32, 8, 8)


@pytest.mark.slow
def test_tiny_config_trains_one_step(tmp_path):
    from mcf_fixtures.tar_shards import write_shards

    shards = tmp_path / 'shards'
    shards.mkdir()
    write_shards(str(shards), n_per_shard=2, shards=1)  # 2 pairs -> one step of batch 2
    tok = str(tmp_path / 'tok.pth')
    torch.save({'state_dict': {'codebook': torch.rand(256, 8 * 8 * 3)}}, tok)
    work = str(tmp_path / 'work')
    cfg = osp.join(ROOT, 'configs', 'farl', 'farl_vit-demo-p8_1xb32-4e_utkface-captions-64px.py')
    options = [
        f'train_dataloader.dataset.data_root={shards}',
        f'model.target_generator.checkpoint={tok}',
        'train_dataloader.batch_size=2',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
        'model.backbone.arch.embed_dims=32',
        'model.backbone.arch.num_layers=2',
        'model.backbone.arch.num_heads=2',
        'model.backbone.arch.feedforward_channels=64',
        'model.head.embed_dims=32',
        'model.head.num_heads=2',
        'model.text_encoder.width=32',
        'model.embed_dim=32',
        'model.text_encoder.embed_dim=32',
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    run = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', work, '--cfg-options', *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    log = run.stdout + run.stderr
    assert 'Epoch(train) [1][1/1]' in log and 'loss_itc' in log and 'loss_mim' in log
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=True)
    keys = ckpt['state_dict']
    assert 'backbone.patch_embed.projection.weight' in keys and 'text_encoder.token_embedding.weight' in keys
    assert not any(k.startswith('target_generator.') for k in keys)  # frozen tokenizer not saved
    # the pre-trained backbone loads into a downstream FaceViT
    from mcf_mm.models.backbones import FaceViT

    vit = FaceViT(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=64,
        patch_size=8,
        final_norm=False,
        **clip_style_vit_kwargs(),
        init_cfg=dict(type='Pretrained', checkpoint=osp.join(work, 'epoch_1.pth')),
    )
    vit.init_weights()
    torch.testing.assert_close(vit.layers[1].attn.qkv.weight, keys['backbone.layers.1.attn.qkv.weight'])


def test_official_farl_converts_to_the_farl_algorithm(tmp_path):
    import importlib.util

    from mmengine.registry import DefaultScope

    from mcf_mm.registry import MODELS

    torch.manual_seed(0)
    visual = randomise(ClipViT(input_resolution=32, patch_size=8, width=32, layers=2, heads=2, output_dim=16)).eval()
    text = CLIPTextTransformer(vocab_size=49408, context_length=77, width=16, layers=1, heads=2, embed_dim=16)
    sd = {'visual.' + k: v for k, v in visual.state_dict().items()}
    sd.update(text.state_dict())
    sd['logit_scale'] = torch.tensor(3.0)
    src, dst = str(tmp_path / 'farl.pth'), str(tmp_path / 'farl_algo.pth')
    torch.save({'state_dict': sd}, src)
    spec = importlib.util.spec_from_file_location('conv', osp.join(ROOT, 'tools', 'model_converters', 'convert.py'))
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    conv.main([src, dst, '--source', 'farl'])
    cfg = dict(
        type='FaRL',
        use_mim=False,
        embed_dim=16,
        backbone=dict(
            type='FaceViT',
            arch=ARCH,
            img_size=32,
            patch_size=8,
            final_norm=True,
            out_type='cls_token',
            **clip_style_vit_kwargs(),
        ),
        text_encoder=dict(type='CLIPTextTransformer', context_length=77, width=16, layers=1, heads=2, embed_dim=16),
    )
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        model = MODELS.build(cfg)
    result = model.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=False)
    assert result.missing_keys == ['mask_token'] and result.unexpected_keys == []
    model.eval()
    img = torch.randn(2, 3, 32, 32)
    tokens = torch.zeros(2, 77, dtype=torch.long)
    tokens[:, :3] = torch.tensor([[49406, 320, 49407], [49406, 1125, 49407]])
    with torch.no_grad():
        torch.testing.assert_close(model.encode_image(img), visual(img), atol=1e-5, rtol=0)  # ln_post + proj
        torch.testing.assert_close(model.encode_text(tokens), text(tokens), atol=1e-6, rtol=0)
    assert model.itc_loss.logit_scale.item() == 3.0
