"""tools/analysis_tools/benchmark_{pretrain,data}.py: FLOP counts against formulas, the utilisation and peak
arithmetic, and the data tool on 8 tiny files."""

import os
import os.path as osp
import runpy

import pytest
import torch
import torch.nn.functional as F

from mcf_fixtures.tiny import REPO, TINY_ARCH, write_faces

TOOLS = osp.join(REPO, 'tools', 'analysis_tools')


@pytest.fixture(scope='module')
def bench():
    return runpy.run_path(osp.join(TOOLS, 'benchmark_pretrain.py'), run_name='benchmark_pretrain')


@pytest.fixture(scope='module')
def data_tool():
    return runpy.run_path(osp.join(TOOLS, 'benchmark_data.py'), run_name='benchmark_data')


def test_linear_forward_backward_flops(bench):
    """y = xWᵀ + b: 2·N·I·O forward; backward 2·N·I·O for dx and 2·N·I·O for dW (the bias sum counts 0)."""
    n, i, o = 5, 7, 3
    lin = torch.nn.Linear(i, o)
    x = torch.randn(n, i, requires_grad=True)
    assert bench['count_flops'](lambda: lin(x).sum().backward()) == 6 * n * i * o
    x_const = torch.randn(n, i)  # no input gradient: only dW in the backward
    assert bench['count_flops'](lambda: lin(x_const).sum().backward()) == 4 * n * i * o


def test_cpu_attention_flops_are_counted(bench):
    """Torch's counter skips the CPU flash kernel; the tool's mapping counts QKᵀ and AV forward (2 matmuls of
    2·B·H·S·S·D) and backward 4 gradient matmuls plus the recomputed QKᵀ."""
    b, h, s, d = 2, 3, 5, 4
    q, k, v = (torch.randn(b, h, s, d, requires_grad=True) for _ in range(3))
    mm = 2 * b * h * s * s * d
    assert bench['count_flops'](lambda: F.scaled_dot_product_attention(q, k, v)) == 2 * mm
    assert bench['count_flops'](lambda: F.scaled_dot_product_attention(q, k, v).sum().backward()) == 7 * mm


def test_tiny_vit_forward_flops_match_the_formula(bench):
    from mcf_mm.models.backbones import FaceViT

    vit = FaceViT(arch=TINY_ARCH, img_size=32, patch_size=8)
    n, p, c = 2, 8, 3
    d, f, layers = TINY_ARCH['embed_dims'], TINY_ARCH['feedforward_channels'], TINY_ARCH['num_layers']
    patches = (32 // p) ** 2
    t = patches + 1  # CLS
    embed = 2 * n * patches * d * (c * p * p)  # the patch convolution
    per_layer = 2 * n * t * d * 3 * d + 2 * 2 * n * t * t * d + 2 * n * t * d * d + 2 * 2 * n * t * d * f
    img = torch.randn(n, c, 32, 32)
    with torch.no_grad():
        assert bench['count_flops'](lambda: vit(img)) == embed + layers * per_layer


def test_utilisation_and_ratio(bench):
    assert bench['utilisation'](6e9, 2.0, 10e9) == pytest.approx(0.3)  # 3 GFLOP/s of 10
    with pytest.raises(ValueError, match='must be > 0'):
        bench['utilisation'](1.0, 0.0, 1.0)
    runs = [
        dict(model='mae', utilisation=0.10, step_s=1.0),
        dict(model='mcf', utilisation=0.12, step_s=3.0),
        dict(model='mae', utilisation=0.20, step_s=2.0),
        dict(model='mcf', utilisation=0.30, step_s=4.0),
        dict(model='mae', utilisation=0.10, step_s=9.0),
        dict(model='mcf', utilisation=0.10, step_s=5.0),
    ]
    assert bench['utilisation_ratio'](runs) == pytest.approx(1.2)  # pair ratios 1.2, 1.5, 1.0
    med = bench['summarise'](runs)
    assert med['mae']['step_s'] == 2.0 and med['mcf']['step_s'] == 4.0 and med['mcf']['runs'] == 3
    with pytest.raises(ValueError, match='one MCF run per MAE run'):
        bench['utilisation_ratio'](runs[:3])


def test_matmul_peak_is_the_median_rate(bench):
    clock = iter([0.0, 1.0, 1.0, 3.0, 3.0, 3.5])  # the three timed products take 1 s, 2 s and 0.5 s
    n = 16
    peak = bench['matmul_peak_flops'](n, 'float32', 'cpu', repeats=3, timer=lambda: next(clock))
    assert peak == pytest.approx(2 * n**3 / 1.0)
    assert bench['matmul_peak_flops'](64, 'float32', 'cpu', repeats=2) > 0


def test_cli_choices(bench):
    args = bench['parse_args'](['--amp', '--compile', '--teacher-batch', 'concat'])
    assert args.amp == 'fp16' and args.compile == 'inductor' and args.warmup == 3 and args.teacher_batch == 'concat'
    assert bench['parse_args'](['--amp', 'bf16']).amp == 'bf16'
    with pytest.raises(SystemExit):
        bench['parse_args'](['--models', 'mae,byol'])


def test_data_tool_on_eight_files(data_tool, tmp_path):
    folder = str(tmp_path / 'faces')
    paths = write_faces(folder, n=8)
    config = tmp_path / 'data.py'
    config.write_text(
        'train_dataloader = dict(dataset=dict(type="FaceImageDataset", data_root="", pipeline=[\n'
        '    dict(type="Resize", scale=(32, 32), backend="cv2"),\n'
        '    dict(type="PackInputs", algorithm_keys=[], meta_keys=["img_path"])]))\n'
    )
    result = data_tool['run'](str(config), folder, max_images=8, workers=[0, 1], batch_size=3)
    assert result['dataset'] == 'FaceImageDataset'
    bare = result['bare']
    assert bare['images'] == 8 and bare['mean_pixels'] == 40 * 40  # write_faces' 40x40 crops
    assert bare['images_per_s'] == pytest.approx(8 / bare['seconds'])
    for r, workers in zip(result['loaders'], (0, 1)):
        assert r['workers'] == workers and r['images'] == 8  # 3 + 3 + 2, every file once
        assert r['images_per_s'] == pytest.approx(8 / r['seconds'])
        assert r['images_per_s_per_worker'] == pytest.approx(r['images_per_s'] / max(workers, 1))
        assert r['per_worker_vs_bare_decode'] == pytest.approx(r['images_per_s_per_worker'] / bare['images_per_s'])
    sources = data_tool['sample_sources'](data_tool['build_dataset'](str(config), folder), 8)
    assert sorted(sources) == sorted((p, None) for p in paths)


def test_data_tool_on_tar_shards(data_tool, tmp_path):
    """FaceShardDataset: the bare decode reads each member's span; the loader crops, batches with the config's
    drop_bad_collate; 2 shards x 4 samples."""
    from mcf_fixtures.face_shards import write_face_shards

    root = str(tmp_path / 'shards')
    os.makedirs(root)
    records = write_face_shards(root, n_shards=2, per_shard=4, broken=False)
    config = tmp_path / 'shards.py'
    config.write_text(
        'train_dataloader = dict(collate_fn=dict(type="drop_bad_collate"), dataset=dict(type="FaceShardDataset",\n'
        '    data_root="", shards="*.tar", face="largest", on_bad="drop", size=32, pipeline=[\n'
        '    dict(type="PackInputs", algorithm_keys=[], meta_keys=["img_path"])]))\n'
    )
    result = data_tool['run'](str(config), root, max_images=8, workers=[0], batch_size=3)
    assert result['dataset'] == 'FaceShardDataset' and result['bare']['images'] == 8
    want_pixels = sum(r['img'].shape[0] * r['img'].shape[1] for r in records) / 8  # the stored (uncropped) images
    assert result['bare']['mean_pixels'] == pytest.approx(want_pixels)
    assert result['loaders'][0]['images'] == 8
