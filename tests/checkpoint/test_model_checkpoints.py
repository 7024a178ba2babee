"""Inference entry points refuse a checkpoint of another model, naming what it holds; the tools exit non-zero."""

import glob
import os.path as osp
import runpy
import sys

import pytest
import torch

from mcf_mm.checkpoint import CheckpointMismatchError, load_model_weights

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def first_config(pattern: str) -> str:
    found = sorted(glob.glob(osp.join(ROOT, 'configs', pattern)))
    assert found, f'no config matches configs/{pattern}'
    return found[0]


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    """A demo face-alignment and face-parsing model with random weights, each saved as a trained checkpoint."""
    from mcf_mm.apis.alignment import init_landmark_model
    from mcf_mm.apis.parsing import init_face_parser

    folder = tmp_path_factory.mktemp('models')
    torch.manual_seed(0)
    align_cfg = first_config('face_alignment/*demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py')
    parse_cfg = first_config('face_parsing/*demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py')
    out = {}
    for name, cfg, build in (('align', align_cfg, init_landmark_model), ('parse', parse_cfg, init_face_parser)):
        model = build(cfg)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0, 0.1)
        path = str(folder / f'{name}.pth')
        torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 1}}, path)
        out[name] = (cfg, path, {k: v.clone() for k, v in model.state_dict().items()})
    return out


def mcf_pretrain_checkpoint(folder) -> str:
    from mcf_mm.models.backbones import FaceViT

    vit = FaceViT(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64), img_size=32, patch_size=8
    )
    sd = {'backbone.' + k: v for k, v in vit.state_dict().items()}
    sd.update({'target.backbone.' + k: v for k, v in vit.state_dict().items()})
    path = str(folder / 'epoch_30.pth')
    torch.save({'state_dict': sd, 'meta': {'mcf_mm_algorithm': 'MCF'}}, path)
    return path


def test_own_checkpoint_loads_exactly(models):
    from mcf_mm.apis.alignment import init_landmark_model

    cfg, path, want = models['align']
    got = init_landmark_model(cfg, path).state_dict()
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)


def test_alignment_api_refuses_other_models(models, tmp_path):
    from mmpretrain.models.backbones import ResNet

    from mcf_mm.apis.alignment import init_landmark_model

    cfg = models['align'][0]
    with pytest.raises(
        CheckpointMismatchError,
        match=r'does not hold a face-alignment model.*holds a segmentation '
        r'model \(mmseg EncoderDecoder',
    ):
        init_landmark_model(cfg, models['parse'][1])
    with pytest.raises(CheckpointMismatchError, match=r'holds an MCF pre-training checkpoint.*init_cfg\.checkpoint'):
        init_landmark_model(cfg, mcf_pretrain_checkpoint(tmp_path))
    resnet = str(tmp_path / 'resnet.pth')
    torch.save({'state_dict': ResNet(depth=18, base_channels=8, stem_channels=8).state_dict()}, resnet)
    with pytest.raises(CheckpointMismatchError, match=r'ResNet-style CNN'):
        init_landmark_model(cfg, resnet)


def test_parsing_api_refuses_an_alignment_checkpoint(models):
    from mcf_mm.apis.parsing import init_face_parser

    with pytest.raises(CheckpointMismatchError, match=r'does not hold a face-parsing model.*backbone and a head'):
        init_face_parser(models['parse'][0], models['align'][1])


def test_infer_landmarks_exits_nonzero(models, tmp_path, monkeypatch):
    monkeypatch.setattr(
        sys, 'argv', ['infer_landmarks.py', models['align'][0], models['parse'][1], 'x.jpg', '--out-dir', str(tmp_path)]
    )
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(osp.join(ROOT, 'tools', 'infer_landmarks.py'), run_name='__main__')
    assert str(exit_info.value.code).startswith('error: ') and 'segmentation model' in str(exit_info.value.code)
    assert not list(tmp_path.iterdir())


def test_load_model_weights_counts_and_module_prefix(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    sd = {'module.' + k: torch.randn_like(v.float()).to(v.dtype) for k, v in model.state_dict().items()}
    sd['module.extra.weight'] = torch.ones(1)
    path = str(tmp_path / 'ddp.pth')
    torch.save({'state_dict': sd, 'meta': {'epoch': 2}}, path)
    assert load_model_weights(model, path) == {'epoch': 2}
    assert all(torch.equal(v, sd['module.' + k]) for k, v in model.state_dict().items())
    bigger = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5))  # 6 of 7 tensors change shape
    with pytest.raises(
        CheckpointMismatchError,
        match=r'0/7 tensors are missing.*6 differ in shape.*'
        r"\('0\.weight', \(4, 3\), \(5, 3\)\)",
    ):
        load_model_weights(bigger, path)


def test_optional_parts_may_be_missing(tmp_path, capsys):
    model = torch.nn.ModuleDict(dict(backbone=torch.nn.Linear(3, 4), head=torch.nn.Linear(4, 2)))
    head_before = model['head'].weight.clone()
    backbone = {'backbone.' + k: torch.full_like(v, 0.5) for k, v in model['backbone'].state_dict().items()}
    path = str(tmp_path / 'backbone_only.pth')
    torch.save({'state_dict': backbone}, path)
    with pytest.raises(CheckpointMismatchError, match=r'2/4 tensors are missing'):
        load_model_weights(model, path)
    load_model_weights(model, path, optional=('head.',))
    assert torch.equal(model['backbone'].weight, torch.full((4, 3), 0.5))
    assert torch.equal(model['head'].weight, head_before)
    assert 'Loaded 2/4 tensors' in capsys.readouterr().out
