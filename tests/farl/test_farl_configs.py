"""The FaRL configs state the paper's numbers (CLIP ViT-B/16 towers, 40 % blockwise MIM, DALL-E tokens) and build."""

import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_vit_b16_recipe_numbers():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'farl', 'farl_vit-base-p16_8xb64-amp-16e_laion-face-224px.py'))
    m = cfg.model
    assert (m.backbone.arch, m.backbone.patch_size, m.backbone.img_size) == ('base', 16, 224)
    assert m.backbone.pre_norm and m.backbone.patch_cfg == dict(bias=False)
    assert m.backbone.layer_cfgs.act_cfg.type == 'mmpretrain.QuickGELU' and m.backbone.norm_cfg.eps == 1e-5
    t = m.text_encoder
    assert (t.vocab_size, t.context_length, t.width, t.layers, t.heads, t.embed_dim) == (49408, 77, 512, 12, 8, 512)
    assert m.head.vocab_size == 8192 and m.target_generator.encoder.type == 'DALL-E'
    mask = next(p for p in cfg.train_dataloader.dataset.pipeline if p['type'] == 'BEiTMaskGenerator')
    assert abs(mask['num_masking_patches'] / 196 - 0.4) < 0.02  # ~40 % blockwise masking
    assert m.target_generator.input_size * 2 == 224  # DALL-E grid (112/8) == ViT grid (224/16)
    assert cfg.train_cfg.max_epochs == 16


def test_cpu_demo_builds(tmp_path):
    import torch
    from mmengine.registry import DefaultScope

    import mcf_mm.models  # noqa: F401
    from mcf_mm.registry import MODELS

    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'farl', 'farl_vit-demo-p8_1xb32-4e_utkface-captions-64px.py'))
    path = str(tmp_path / 'tok.pth')
    torch.save({'state_dict': {'codebook': torch.rand(256, 192)}}, path)
    cfg.model.target_generator.checkpoint = path
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        model = MODELS.build(cfg.model)
    assert model.backbone.patch_resolution == (8, 8) and model.head.vocab_size == 256
