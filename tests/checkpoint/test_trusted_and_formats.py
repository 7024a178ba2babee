"""The explicit --trust-pickle conversion of one's own old files, the plain form it writes, and the format
registry (a new format is one entry)."""

import argparse
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mcf_fixtures.foreign_vits import ClipViT, TimmViT, randomise
from mcf_mm.checkpoint import (
    REGISTRY,
    Format,
    UnsafeCheckpointError,
    clip_style_vit_kwargs,
    convert_checkpoint,
    read_checkpoint,
    to_plain,
)
from mcf_mm.checkpoint.formats import TIMM_RULES, rename, state_dict_of, strip_prefix, tensors
from mcf_mm.models.backbones import FaceViT

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128)


def convert_tool():
    spec = importlib.util.spec_from_file_location(
        'convert_tool', osp.join(ROOT, 'tools', 'model_converters', 'convert.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def blocks_match(path: str, ref, clip: bool = False) -> None:
    model = FaceViT(
        arch=ARCH,
        img_size=32,
        patch_size=8,
        init_cfg=dict(type='Pretrained', checkpoint=path),
        **(clip_style_vit_kwargs() if clip else {}),
    )
    model.init_weights()
    model.eval()
    img = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got = model.get_intermediate_layers(img, [0, 1], norm=False, reshape=False)  # [N, T, D] each
        want = ref.block_outputs(img, [0, 1])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=0)


def test_torchscript_clip_release_converts_only_when_trusted(tmp_path):
    torch.manual_seed(0)
    ref = randomise(ClipViT(input_resolution=32, patch_size=8, width=32, layers=2, heads=2)).eval()
    src = str(tmp_path / 'ViT-tiny.pt')
    torch.jit.save(torch.jit.trace(ref, torch.randn(1, 3, 32, 32)), src)  # OpenAI's release format
    with pytest.raises(UnsafeCheckpointError, match='TorchScript archive'):
        convert_tool().main([src, str(tmp_path / 'no.pth')])
    dst = str(tmp_path / 'clip_backbone.pth')
    meta = convert_tool().main(
        [src, dst, '--trust-pickle', '--extract-backbone', '--source', 'clip', '--num-heads', '2']
    )
    assert meta['source_format'] == 'clip' and meta['vit_kwargs']['pre_norm']
    blocks_match(dst, ref, clip=True)


def test_old_mcf_checkpoint_with_numpy_is_resaved_plain(tmp_path):
    torch.manual_seed(1)
    online = randomise(TimmViT(img_size=32, patch=8, dim=32, depth=2, heads=2)).eval()
    model = {'online_encoder.' + k: v for k, v in online.state_dict().items()}
    src = str(tmp_path / 'checkpoint-15.pth')
    torch.save(
        {
            'model': model,
            'epoch': np.int64(15),
            'args': argparse.Namespace(mask_ratio=0.75, lr=1.5e-4),
            'scaler': {'scale': np.float32(1024.0)},
            'log': {'loss': np.array([0.5, 0.25])},
        },
        src,
    )
    with pytest.raises(UnsafeCheckpointError, match=r'numpy\.core\.multiarray\.scalar'):
        read_checkpoint(src)
    dst = str(tmp_path / 'plain.pth')
    convert_tool().main(['--trust-pickle', src, dst])
    ckpt = read_checkpoint(dst)
    assert ckpt['epoch'] == 15 and type(ckpt['epoch']) is int and ckpt['scaler']['scale'] == 1024.0
    assert ckpt['args'] == {'__class__': 'argparse.Namespace', 'mask_ratio': 0.75, 'lr': 1.5e-4}
    torch.testing.assert_close(ckpt['log']['loss'], torch.tensor([0.5, 0.25], dtype=torch.float64))
    assert all(torch.equal(ckpt['model'][k], v) for k, v in model.items())
    blocks_match(dst, online)  # the plain file is an 'mcf' checkpoint like the original


def test_to_plain_of_mmengine_and_numpy_objects():
    buf = HistoryBuffer()
    buf.update(2.0, 3)
    plain = to_plain({'hub': buf, 'obj': np.array(['a', 1], dtype=object), 'fn': np.mean, 'ids': (np.int8(3),)})
    assert plain['hub']['__class__'] == 'mmengine.logging.history_buffer.HistoryBuffer'
    torch.testing.assert_close(plain['hub']['_log_history'], torch.tensor([2.0], dtype=torch.float64))
    assert plain['hub']['_count_history'].tolist() == [3] and plain['hub']['max_length'] == buf.max_length
    assert plain['hub']['statistics_methods']['mean'] == 'mmengine.logging.history_buffer.HistoryBuffer.mean'
    assert plain['obj'] == ['a', 1] and plain['fn'] == 'numpy.mean' and plain['ids'] == (3,)


def test_a_new_format_is_one_registry_entry(tmp_path, monkeypatch):
    """A ViT saved under ``encoder.`` in timm names: one Format entry makes it detected, converted and listed."""
    toy = Format(
        'toy',
        'toy ViT: encoder.blocks.* (timm names under encoder.)',
        lambda c: any(k.startswith('encoder.blocks.') for k in state_dict_of(c)),
        lambda c, branch: rename(strip_prefix(tensors(state_dict_of(c)), 'encoder.'), TIMM_RULES),
    )
    monkeypatch.setitem(REGISTRY, 'toy', toy)
    torch.manual_seed(2)
    ref = randomise(TimmViT(img_size=32, patch=8, dim=32, depth=2, heads=2)).eval()
    src = str(tmp_path / 'toy.pth')
    torch.save({'state_dict': {'encoder.' + k: v for k, v in ref.state_dict().items()}}, src)
    dst = str(tmp_path / 'toy_backbone.pth')
    assert convert_checkpoint(src, dst, num_heads=2)['source_format'] == 'toy'
    blocks_match(dst, ref)
    blocks_match(src, ref)  # FaceViT init_cfg reads the new format directly too
    assert 'toy         toy ViT' in convert_tool().format_table()


def test_zero_shot_eval_runs_on_a_converted_farl_release(tmp_path):
    """convert.py --source farl output loads into the FaRL demo config; the unused MIM parts may be absent."""
    import glob

    import cv2

    from mcf_mm.models import CLIPTextTransformer

    torch.manual_seed(3)
    visual = randomise(ClipViT(input_resolution=64, patch_size=8, width=96, layers=4, heads=3, output_dim=64))
    text = CLIPTextTransformer(vocab_size=49408, context_length=32, width=64, layers=2, heads=2, embed_dim=64)
    sd = {'visual.' + k: v for k, v in visual.state_dict().items()}
    sd.update(text.state_dict())
    sd['logit_scale'] = torch.tensor(4.6)
    src, dst = str(tmp_path / 'FaRL-tiny.pth'), str(tmp_path / 'farl_algo.pth')
    torch.save({'state_dict': sd}, src)
    convert_tool().main([src, dst, '--source', 'farl'])
    tok = str(tmp_path / 'tok.pth')
    torch.save({'state_dict': {'codebook': torch.rand(256, 192)}}, tok)
    demo = sorted(glob.glob(osp.join(ROOT, 'configs', 'farl', 'farl_vit-*p8*utkface*.py')))[0]
    cfg = tmp_path / 'farl.py'
    cfg.write_text(f'_base_ = [{demo!r}]\nmodel = dict(target_generator=dict(checkpoint={tok!r}))\n')
    images = tmp_path / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for i, (age, gender, race) in enumerate([(8, 0, 0), (30, 1, 1), (70, 0, 2), (25, 1, 3), (5, 0, 1), (65, 1, 0)]):
        cv2.imwrite(str(images / f'{age}_{gender}_{race}_2017{i}.jpg'), rng.integers(0, 255, (64, 64, 3), np.uint8))
    spec = importlib.util.spec_from_file_location('zs', osp.join(ROOT, 'tools', 'analysis_tools', 'zero_shot_eval.py'))
    zero_shot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zero_shot)
    res = zero_shot.evaluate(str(cfg), dst, str(images))
    assert res['gender_n'] == 6 and res['race_n'] == 6 and res['age_n'] == 6  # ages 25/30 are adults, 5/8 children
    assert res['gender_majority'] == 0.5 and 0.0 <= res['gender'] <= 1.0
