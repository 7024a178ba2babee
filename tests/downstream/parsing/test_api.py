"""Three-line inference API and tools/infer_parsing.py: label PNG and overlay at the input image's size."""

import importlib.util
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS

from mcf_mm.apis.parsing import init_face_parser, parse_face, save_parsing
from mcf_mm.downstream.parsing.datasets import read_lapa_landmarks

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
CFG_DIR = osp.join(ROOT, 'configs', 'face_parsing')


def _tiny_config(tmp_path, name: str, data_root: str) -> str:
    path = tmp_path / f'tiny_{name}'
    path.write_text(
        f'_base_ = [{osp.join(CFG_DIR, name)!r}]\n'
        'model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=4, num_heads=2,\n'
        '                                     feedforward_channels=64), out_indices=(0, 1, 2, 3)),\n'
        "             neck=dict(embed_dim=32, norm_cfg=dict(type='BN')),\n"
        "             decode_head=dict(in_channels=[32] * 4, channels=16, norm_cfg=dict(type='BN')))\n"
        f'test_dataloader = dict(dataset=dict(data_root={data_root!r}))\n'
    )
    return str(path)


def _checkpoint(model, tmp_path) -> str:
    path = str(tmp_path / 'tiny.pth')
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), path)
    return path


def test_api_matches_the_test_pipeline_and_writes_pngs(tmp_path, fasseg_root):
    cfg = _tiny_config(tmp_path, 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py', fasseg_root)
    ckpt = _checkpoint(init_face_parser(cfg), tmp_path)
    model = init_face_parser(cfg, ckpt)
    image = osp.join(fasseg_root, 'V1', 'Test_RGB', '1.png')
    result = parse_face(model, image)
    h, w = cv2.imread(image).shape[:2]
    assert result.pred_sem_seg.shape == (h, w)
    # same logits as the evaluation path (dataset test pipeline + test_step)
    ds = DATASETS.build(model.cfg.test_dataloader.dataset)
    ref = model.test_step(pseudo_collate([ds[0]]))[0]
    assert osp.basename(ds.get_data_info(0)['img_path']) == '1.png'
    torch.testing.assert_close(result.seg_logits.data, ref.seg_logits.data)
    # array input gives the same answer as a path
    torch.testing.assert_close(parse_face(model, cv2.imread(image)).seg_logits.data, result.seg_logits.data)
    label_png, overlay_png = save_parsing(result, image, str(tmp_path / 'out' / 'face'))
    np.testing.assert_array_equal(cv2.imread(label_png, cv2.IMREAD_UNCHANGED), result.pred_sem_seg.data[0].numpy())
    assert cv2.imread(overlay_png).shape == (h, w, 3)


def test_api_with_landmarks_and_the_tool(tmp_path, lapa_root):
    cfg = _tiny_config(tmp_path, 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py', lapa_root)
    ckpt = _checkpoint(init_face_parser(cfg), tmp_path)
    model = init_face_parser(cfg, ckpt)
    image = osp.join(lapa_root, 'test', 'images', 'test_000.jpg')
    lmk_file = osp.join(lapa_root, 'test', 'landmarks', 'test_000.txt')
    lmk = read_lapa_landmarks(lmk_file)
    with pytest.raises(ValueError, match='5 landmarks'):
        parse_face(model, image)
    full = parse_face(model, image, landmarks=lmk)
    five = parse_face(model, image, landmarks=lmk[[104, 105, 54, 84, 90]])
    torch.testing.assert_close(full.seg_logits.data, five.seg_logits.data)
    assert full.pred_sem_seg.shape == cv2.imread(image).shape[:2]

    spec = importlib.util.spec_from_file_location('infer_parsing_tool', osp.join(ROOT, 'tools', 'infer_parsing.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out_dir = tmp_path / 'tool_out'
    old = sys.argv
    sys.argv = ['infer_parsing.py', cfg, ckpt, image, '--out-dir', str(out_dir), '--landmarks', lmk_file]
    try:
        tool.main()
    finally:
        sys.argv = old
    written = cv2.imread(str(out_dir / 'test_000_label.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(written, full.pred_sem_seg.data[0].numpy())
    assert (out_dir / 'test_000_overlay.png').is_file()
