"""tools/test.py --show-dir: one drawing per test image, every landmark drawn whatever its score, parsing maps drawn
in the dataset palette without building the training set."""

import glob
import os
import os.path as osp
import runpy
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mcf_fixtures.alignment import TINY_ARCH, write_helen
from mcf_mm.apis.alignment import detect_landmarks, init_landmark_model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALIGN_CFG = osp.join(REPO, 'configs', 'face_alignment', 'vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py')
CLS_DIR = osp.join(REPO, 'configs', 'face_classification', 'expression')
PARSE_CFG = osp.join(REPO, 'configs', 'face_parsing', 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py')
LOADER = 'num_workers=0, persistent_workers=False, batch_size=1'


def _enable_show_dir():
    return runpy.run_path(osp.join(REPO, 'tools', 'test.py'), run_name='tools_test')['enable_show_dir']


def _run_test_tool(cfg: str, ckpt: str, tmp_path, *extra: str) -> None:
    cmd = [sys.executable, osp.join(REPO, 'tools', 'test.py'), cfg, ckpt, '--work-dir', str(tmp_path / 'work'), *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_show_dir_turns_on_each_libraries_hook(tmp_path):
    enable = _enable_show_dir()
    pose = Config(dict(default_hooks=dict(visualization=dict(type='PoseVisualizationHook', enable=False, kpt_thr=0.0))))
    enable(pose, 'shown')
    assert pose.default_hooks.visualization == dict(
        type='PoseVisualizationHook', enable=True, kpt_thr=0.0, out_dir=osp.abspath('shown'), interval=1
    )
    seg = Config(dict(default_hooks=dict(visualization=dict(type='SegVisualizationHook', draw=False))))
    enable(seg, str(tmp_path))
    assert seg.default_hooks.visualization == dict(
        type='FaceSegVisualizationHook', draw=True, interval=1, out_dir=str(tmp_path)
    )
    cls = Config(dict(default_hooks=dict(visualization=dict(type='mmpretrain.VisualizationHook', enable=False))))
    enable(cls, str(tmp_path))
    assert cls.default_hooks.visualization.enable and cls.default_hooks.visualization.out_dir == str(tmp_path)
    with pytest.raises(SystemExit, match='needs a visualisation hook'):
        enable(Config(dict(default_hooks=dict())), str(tmp_path))


@pytest.mark.slow
def test_show_dir_draws_every_landmark(tmp_path):
    root = str(tmp_path / 'helen29')
    write_helen(root)
    cfg = tmp_path / 'tiny_helen.py'
    cfg.write_text(
        f'_base_ = [{ALIGN_CFG!r}]\n'
        f'model = dict(backbone=dict(arch={dict(TINY_ARCH, num_layers=4)!r}), neck=dict(embed_dim=32),'
        ' head=dict(in_channels=32, channels=16))\n'
        f'test_dataloader = dict({LOADER}, dataset=dict(data_root={root!r}, test_ratio=0.5))\n'
    )
    torch.manual_seed(0)
    model = init_landmark_model(str(cfg))
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    show = tmp_path / 'show'
    _run_test_tool(str(cfg), ckpt, tmp_path, '--show-dir', str(show))
    from mmpose.registry import DATASETS

    dataset = DATASETS.build(Config.fromfile(str(cfg)).test_dataloader.dataset)
    assert len(dataset) == 3
    drawn = sorted(glob.glob(str(show / '*')))
    assert len(drawn) == len(dataset)  # every test image, not every 50th
    model = init_landmark_model(str(cfg), ckpt)
    checked = 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        name = osp.splitext(osp.basename(info['img_path']))[0]
        (out,) = [p for p in drawn if osp.basename(p).startswith(name + '_')]
        img = cv2.imread(out)  # BGR
        assert img.shape == cv2.imread(info['img_path']).shape
        box = info['bbox'][0]
        pts = np.asarray(detect_landmarks(model, info['img_path'], box=box)['keypoints'])  # same model, same box
        scores = detect_landmarks(model, info['img_path'], box=box)['scores']
        assert min(scores) < 1.0
        for x, y in pts:
            xi, yi = int(round(x)), int(round(y))
            near_box = min(abs(xi - box[0]), abs(xi - box[2]), abs(yi - box[1]), abs(yi - box[3])) <= 2
            if near_box or not (0 <= xi < img.shape[1] and 0 <= yi < img.shape[0]):
                continue  # the green box outline is drawn over the points
            b, g, r = img[yi, xi].astype(int)
            assert r > 180 and g < 90 and b < 90, (name, x, y, img[yi, xi])
            checked += 1
    assert checked >= 29  # at least one face's worth of points checked off the box outline


@pytest.mark.slow
def test_show_dir_draws_every_parsing_map(tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tests'))
    from downstream.parsing.conftest import write_fasseg

    root = write_fasseg(str(tmp_path / 'fasseg'))
    cfg = tmp_path / 'tiny_fasseg.py'
    cfg.write_text(
        f'_base_ = [{PARSE_CFG!r}]\n'
        'model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=4, num_heads=2,\n'
        '                                     feedforward_channels=64), out_indices=(0, 1, 2, 3)),\n'
        "             neck=dict(embed_dim=32, norm_cfg=dict(type='BN')),\n"
        "             decode_head=dict(in_channels=[32] * 4, channels=16, norm_cfg=dict(type='BN')))\n"
        f'test_dataloader = dict({LOADER}, dataset=dict(data_root={root!r}))\n'
    )
    from mcf_mm.apis.parsing import init_face_parser, parse_face

    model = init_face_parser(str(cfg))
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), ckpt)
    show = tmp_path / 'show'
    _run_test_tool(str(cfg), ckpt, tmp_path, '--show-dir', str(show))
    # the training set is never built (only the test images exist below data_root's V1/Test_RGB)
    drawn = sorted(glob.glob(str(show / '*.png')))
    names = sorted(osp.basename(p) for p in glob.glob(osp.join(root, 'V1', 'Test_RGB', '*.png')))
    assert len(drawn) == len(names) == 2
    palette = np.asarray(model.dataset_meta['palette'], np.uint8)  # RGB
    for name in names:
        (out,) = [p for p in drawn if osp.basename(p).startswith(osp.splitext(name)[0] + '_')]
        image = cv2.imread(osp.join(root, 'V1', 'Test_RGB', name))
        h, w = image.shape[:2]
        drawing = cv2.imread(out)
        assert drawing.shape[:2] == (h, 2 * w)  # ground truth | prediction
        # the prediction half is the image blended with the palette colours of the predicted classes (mmseg's
        # SegLocalVisualizer: colour weight alpha, 0.8 by default; class names are written over it)
        label = parse_face(init_face_parser(str(cfg), ckpt), image).pred_sem_seg.data[0].numpy()
        colours = palette[label][..., ::-1].astype(np.float64)  # BGR
        pred_half = drawing[:, w:].astype(np.float64)
        alpha = Config.fromfile(str(cfg)).visualizer.get('alpha', 0.8)
        close = np.abs(pred_half - ((1 - alpha) * image + alpha * colours)).max(axis=-1) <= 3  # [H, W]
        assert close.mean() > 0.5  # the rest is under the class-name labels


def test_show_dir_draws_every_classification_sample(tmp_path, monkeypatch):
    """RAF-DB expression config, tiny ViT, 3 test images: mmpretrain's hook draws each one into DIR."""
    from mcf_fixtures.expression import write_raf_db
    from mcf_fixtures.tiny import TINY_ARCH as ARCH_2
    from mcf_mm.utils.cli import build_runner

    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))  # yapf: seconds per dump
    root = write_raf_db(str(tmp_path / 'raf-db'), train=[4, 7], test=[1, 4, 7])
    cfg = Config.fromfile(osp.join(CLS_DIR, 'vit-base-p16_mcf-16e-pre_linear_8xb32-30e_raf-db-224px.py'))
    cfg.model.backbone.update(arch=dict(ARCH_2), img_size=32, patch_size=8, init_cfg=None)
    cfg.model.head.in_channels = ARCH_2['embed_dims']
    for loader in ('train_dataloader', 'test_dataloader'):  # the log processor's window reads runner.iter
        cfg[loader].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = root
    for t in cfg.test_dataloader.dataset.pipeline:
        if t.type == 'Resize':
            t.scale = (32, 32)
    cfg.update(work_dir=str(tmp_path / 'work'), launcher='none')
    _enable_show_dir()(cfg, str(tmp_path / 'show'))
    build_runner(cfg).test()
    drawn = sorted(os.listdir(tmp_path / 'show'))
    assert [d.split('_aligned')[0] for d in drawn] == ['test_0001', 'test_0002', 'test_0003']
    assert all(cv2.imread(str(tmp_path / 'show' / d)) is not None for d in drawn)
