"""MCF initialisation: the teacher stays the checkpoint's, the projector takes init_cfg, xavier Linears."""

import math

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

import mcf_mm  # noqa: F401
from mcf_mm.registry import MODELS

XAVIER = dict(type='Xavier', layer='Linear', distribution='uniform')


def build(config_path: str, **model_overrides):
    cfg = Config.fromfile(config_path)
    cfg.merge_from_dict({f'model.{k}': v for k, v in model_overrides.items()})
    init_default_scope('mcf_mm')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def checkpoint_tensors(path: str) -> dict:
    """The teacher checkpoint's tensors under the teacher's own names (it is saved as `backbone.*`)."""
    sd = torch.load(path, map_location='cpu')['state_dict']
    return {k[len('backbone.') :]: v for k, v in sd.items()}


@pytest.mark.parametrize('init_cfg', [XAVIER, dict(type='Constant', layer=['Linear', 'LayerNorm'], val=0.5)])
def test_model_level_init_cfg_never_touches_the_teacher(tiny_config, tiny_teacher, init_cfg):
    model = build(tiny_config(), init_cfg=init_cfg, linear_init='default')
    saved = checkpoint_tensors(tiny_teacher)
    teacher = model.target_generator.vit.state_dict()
    common = [k for k in teacher if k in saved]
    assert len(common) == len(teacher)  # every teacher tensor comes from the checkpoint
    assert all(torch.equal(teacher[k], saved[k]) for k in common)
    # ...while the init_cfg did reach the trainable parts, and the module order is unchanged
    assert list(dict(model.named_children())).index('target_generator') == 4
    if init_cfg['type'] == 'Constant':
        assert torch.all(model.projector.fc0.weight == 0.5)


def test_projector_and_predictor_accept_init_cfg(tiny_config):
    const = dict(type='Constant', layer='Linear', val=0.25)
    overrides = {'projector.init_cfg': const, 'contrast_head.predictor.init_cfg': const, 'linear_init': 'default'}
    model = build(tiny_config(), **overrides)
    for mlp in (model.projector, model.target['projector'], model.contrast_head.predictor):
        linears = [m for m in mlp.modules() if isinstance(m, nn.Linear)]
        assert linears and all(torch.all(m.weight == 0.25) for m in linears)


def assert_xavier_uniform(linear: nn.Linear, name: str) -> None:
    """Weights within ±sqrt(6/(fan_in+fan_out)), near that bound, variance bound²/3 (±25 %), zero bias."""
    fan_out, fan_in = linear.weight.shape
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    w = linear.weight.detach().double()
    assert w.abs().max() <= bound + 1e-7, name
    assert w.abs().max() >= 0.9 * bound, name
    assert abs(w.var().item() / (bound**2 / 3) - 1) < 0.25, (name, w.var().item(), bound**2 / 3)
    assert linear.bias is None or torch.all(linear.bias == 0), name


def test_xavier_linear_init_reaches_every_part_but_the_teacher(tiny_config, tiny_teacher):
    model = build(tiny_config(), linear_init='xavier_uniform')
    parts = dict(
        backbone=model.backbone,
        decoder=model.neck,
        projector=model.projector,
        predictor=model.contrast_head.predictor,
    )
    count = 0
    for part_name, part in parts.items():
        for name, module in part.named_modules():
            if isinstance(module, nn.Linear):
                assert_xavier_uniform(module, f'{part_name}.{name}')
                count += 1
    # tiny ViT: 2 blocks x 4 Linears; decoder: embed + 1 block x 4 + pred; 2 + 2 MLP Linears
    assert count == 2 * 4 + (1 + 4 + 1) + 2 + 2
    assert any('decoder_blocks' in n for n, m in model.neck.named_modules() if isinstance(m, nn.Linear))
    saved = checkpoint_tensors(tiny_teacher)
    assert all(torch.equal(v, saved[k]) for k, v in model.target_generator.vit.state_dict().items())
    for online, target in zip(model.backbone.parameters(), model.target['backbone'].parameters()):
        assert torch.equal(online, target)  # the target starts as a copy of the re-initialised encoder


def test_default_linear_init_leaves_the_decoder_blocks_as_built(tiny_config):
    model = build(tiny_config(), linear_init='default')
    fc = model.neck.decoder_blocks[0].ffn.layers[0][0]
    assert isinstance(fc, nn.Linear) and not torch.all(fc.bias == 0)  # PyTorch's default init, never re-done


def test_bad_linear_init_is_refused(tiny_config):
    with pytest.raises(ValueError, match='linear_init'):
        build(tiny_config(), linear_init='kaiming')


def test_vit_small_recipe_uses_the_original_small_decoder(repo_root):
    cfg = Config.fromfile(f'{repo_root}/configs/mcf/mcf_vit-small-p16_8xb64-accum8-amp-16e_laion-face-224px.py')
    init_default_scope('mcf_mm')
    decoder = MODELS.build(cfg.model.neck)
    assert len(decoder.decoder_blocks) == 2
    # mae_vit_small_patch16_dec256d2b: decoder_num_heads=16, i.e. 16-dim heads
    assert all(b.attn.num_heads == 16 and b.attn.head_dims == 16 for b in decoder.decoder_blocks)
    assert (decoder.decoder_embed.in_features, decoder.decoder_embed.out_features) == (384, 256)
    assert decoder.decoder_pred.out_features == 16 * 16 * 3 and decoder.sincos_layout == 'mae'
    tokens = torch.randn(1, 1 + 49, 384)  # CLS + 25 % of 196 patches
    ids_restore = torch.argsort(torch.rand(1, 196), dim=1)
    assert decoder(tokens, ids_restore).shape == (1, 196, 768)
