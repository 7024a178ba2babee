"""projects/facer_attribute_head: the head's formula, the metric, and a real train+val run from its config."""

import importlib.util
import os.path as osp
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT = osp.join(ROOT, 'projects', 'facer_attribute_head')
sys.path.insert(0, ROOT)  # what `PYTHONPATH=.` does for tools/train.py

import mcf_mm  # noqa: E402,F401
from projects.facer_attribute_head.facer_attr import FacerAttributeHead, MeanAttributeAccuracy  # noqa: E402


def test_head_formula():
    torch.manual_seed(0)
    head = FacerAttributeHead(num_classes=5, in_channels=8, num_layers=2, dropout=0.0)
    with torch.no_grad():
        head.feature_weights.normal_()
        for n in head.norms:
            n.weight.uniform_(0.5, 1.5)
            n.bias.uniform_(-1, 1)
    feats = (torch.randn(3, 1 + 6, 8), torch.randn(3, 1 + 6, 8))  # [N, T, D], CLS first
    pooled = []
    for x in feats:
        pooled += [x[:, 1:].mean(1), x[:, 1:].amax(1), x[:, 0]]
    w = torch.exp(head.feature_weights) / torch.exp(head.feature_weights).sum()
    combined = sum(
        w[i] * F.layer_norm(p, (8,), head.norms[i].weight, head.norms[i].bias, 1e-5) for i, p in enumerate(pooled)
    )  # [N, D]
    want = combined @ head.fc.weight.t() + head.fc.bias
    torch.testing.assert_close(head(feats), want, atol=1e-5, rtol=0)


def test_mean_attribute_accuracy():
    metric = MeanAttributeAccuracy(attribute_names=['a', 'b'])
    metric.process(
        None,
        [
            dict(pred_score=torch.tensor([0.9, 0.2]), gt_label=torch.tensor([0])),
            dict(pred_score=torch.tensor([0.7, 0.6]), gt_label=torch.tensor([1])),
        ],
    )
    out = metric.compute_metrics(metric.results)
    assert out == dict(mean_accuracy=75.0, acc_a=50.0, acc_b=100.0)


def test_config_trains_and_validates(tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    img_dir = tmp_path / 'imgs'
    img_dir.mkdir()
    rng = np.random.default_rng(0)
    for name in ['25_1_0_a.jpg', '8_0_2_b.jpg', '70_1_1_c.jpg', '40_0_3_d.jpg', '33_1_2_e.jpg']:
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(img_dir / name)
    spec = importlib.util.spec_from_file_location('mk', osp.join(PROJECT, 'tools', 'make_attribute_annotations.py'))
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    ann = mk.main(['utkface', str(img_dir), str(tmp_path / 'ann')])
    assert mk.utkface_labels('70_1_1_c.jpg') == [0, 2, 4]  # female, elderly, black

    cfg = Config.fromfile(
        osp.join(PROJECT, 'configs', 'vit-demo-p8_farl-demo-4e-pre_facer-attr-head_1xb32-10e_utkface-7attr-64px.py')
    )
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.update(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=32,
        init_cfg=None,
        out_indices=(0, 1),
    )
    cfg.model.head.in_channels = 32
    for loader, split in ((cfg.train_dataloader, 'train'), (cfg.val_dataloader, 'val')):
        loader.batch_size = 2
        loader.dataset.data_prefix = dict(img_path=str(img_dir))
        loader.dataset.ann_file = ann[split]
        for t in loader.dataset.pipeline:
            if t['type'] == 'Resize':
                t['scale'] = (32, 32)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    runner = Runner.from_cfg(cfg)
    before = runner.model.head.fc.weight.detach().clone()
    runner.train()
    assert not torch.equal(before, runner.model.head.fc.weight)  # it trained
    scores = runner.message_hub.get_scalar('val/attr/mean_accuracy').current()
    assert 0.0 <= scores <= 100.0


def test_the_metric_is_the_core_one():
    from mcf_mm.downstream.classification.metrics.attributes import MeanAttributeAccuracy as Core

    assert MeanAttributeAccuracy is Core


def test_celeba_annotations_tool_matches_the_core_dataset(tmp_path):
    """The tool's celeba JSON and CelebAAttrDataset read the same release into the same samples."""
    import json

    from mcf_fixtures.attributes_pose import write_celeba
    from mcf_mm.downstream.classification.datasets.celeba import CelebAAttrDataset

    root = tmp_path / 'celeba'
    write_celeba(str(root), partitions=(0, 1, 2, 0, 2))
    spec = importlib.util.spec_from_file_location('mk', osp.join(PROJECT, 'tools', 'make_attribute_annotations.py'))
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    ann = mk.main(['celeba', str(root / 'list_attr_celeba.txt'), str(tmp_path / 'ann'), '--partition',
                   str(root / 'list_eval_partition.txt')])  # fmt: skip
    for split in ('train', 'val', 'test'):
        rows = json.load(open(ann[split]))['data_list']
        ds = CelebAAttrDataset(data_root=str(root), split=split)
        got = [ds.get_data_info(i) for i in range(len(ds))]
        assert [osp.basename(g['img_path']) for g in got] == [r['img_path'] for r in rows]
        assert [g['gt_label'] for g in got] == [r['gt_label'] for r in rows]


def test_celeba_config_trains_one_step_on_the_release(tmp_path):
    """The project's CelebA config reads the original CelebA files (CelebAAttrDataset) and trains the facer head."""
    from mmengine.config import Config

    from mcf_fixtures.attributes_pose import write_celeba
    from mcf_fixtures.tiny import TINY_ARCH
    from mcf_mm.utils.cli import build_runner

    root = str(tmp_path / 'celeba')
    write_celeba(root, partitions=(0, 0, 1, 1, 2))
    cfg = Config.fromfile(
        osp.join(PROJECT, 'configs', 'vit-base-p16_farl-16e-pre_facer-attr-head_8xb32-50e_celeba-224px.py')
    )
    cfg.work_dir = str(tmp_path / 'work')
    cfg.launcher = 'none'
    cfg.model.backbone.update(arch=dict(TINY_ARCH), img_size=32, patch_size=8, init_cfg=None, out_indices=(0, 1))
    cfg.model.head.update(in_channels=32, num_layers=2)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=2, num_workers=0)
        loader.dataset.data_root = root
        for t in loader.dataset.pipeline:
            if t['type'] == 'Resize':
                t['scale'] = (32, 32)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    runner = build_runner(cfg)
    before = runner.model.head.fc.weight.detach().clone()
    runner.train()
    assert runner.iter == 1 and not torch.equal(before, runner.model.head.fc.weight)
    assert runner.model.head.fc.out_features == 40
    test = runner.test()
    assert len(runner.test_dataloader.dataset) == 1
    assert set(v for k, v in test.items() if '/acc_' in k) <= {0.0, 100.0}  # one test image
    assert 'attr/acc_Smiling' in test
