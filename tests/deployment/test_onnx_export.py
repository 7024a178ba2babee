"""ONNX export of the alignment and parsing models: onnxruntime vs PyTorch on tiny models, the geometry
around the graph vs the test pipelines, and only standard ONNX ops in the graphs (no mmcv op)."""

import json
import os.path as osp

import cv2
import numpy as np
import onnx
import pytest
import torch
from mmengine.config import Config
from onnx import TensorProto, helper

from mcf_mm.deployment import FixedAdaptiveAvgPool2d, check_standard_ops, export_onnx, graph_op_types, load_model
from mcf_mm.deployment.runtime import OnnxFaceParser, OnnxLandmarker, bilinear_sample
from mcf_mm.deployment.verify import compare_outputs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALIGN_CFG = osp.join(REPO, 'configs', 'face_alignment', 'vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py')
PARSE_CFG = osp.join(REPO, 'configs', 'face_parsing', 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py')
LAPA_CFG = osp.join(REPO, 'configs', 'face_parsing', 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py')
TINY_BACKBONE = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
TOL = 1e-4


def _tiny(tmp_path, base: str, head: str) -> str:
    path = tmp_path / ('tiny_' + osp.basename(base))
    path.write_text(
        f'_base_ = [{base!r}]\n'
        f'model = dict(backbone=dict(arch=dict(_delete_=True, **{TINY_BACKBONE!r})),\n'
        f'             neck=dict(embed_dim=32), {head}=dict(in_channels=[32] * 4, channels=16))\n'
    )
    return str(path)


def _randomise(model, seed: int = 0):
    """Weights ~ N(0, 0.2) (BN statistics kept): outputs far from the flat maps of a fresh init."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model.eval()


def _face_image() -> np.ndarray:
    from skimage import data as skdata

    return cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)[:300, 60:400].copy()  # [300, 340, 3] BGR


@pytest.mark.parametrize('in_size,out_size', [(4, 1), (4, 3), (4, 6), (8, 3), (14, 6), (7, 2), (28, 6)])
def test_fixed_adaptive_pool_equals_torch(in_size, out_size):
    x = torch.randn(2, 3, in_size, in_size + 1)
    ref = torch.nn.AdaptiveAvgPool2d(out_size)(x)
    got = FixedAdaptiveAvgPool2d((in_size, in_size + 1), (out_size, out_size))(x)
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-6)
    # one window by its definition: rows floor(i*H/o) .. ceil((i+1)*H/o), likewise columns
    i, j = out_size - 1, 0
    r0, r1 = (i * in_size) // out_size, -(-((i + 1) * in_size) // out_size)
    c0, c1 = 0, -(-(in_size + 1) // out_size)
    torch.testing.assert_close(got[..., i, j], x[..., r0:r1, c0:c1].mean(dim=(-2, -1)), atol=1e-6, rtol=1e-6)


@pytest.fixture(scope='module')
def landmark_export(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('align')
    model = _randomise(load_model(_tiny(tmp, ALIGN_CFG, 'head')))
    path = str(tmp / 'align.onnx')
    meta = export_onnx(model, path)
    return model, path, meta


@pytest.fixture(scope='module')
def parsing_export(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('parse')
    model = _randomise(load_model(_tiny(tmp, PARSE_CFG, 'decode_head')))
    path = str(tmp / 'parse.onnx')
    meta = export_onnx(model, path)
    return model, path, meta


def test_alignment_graph_matches_pytorch(landmark_export):
    model, path, meta = landmark_export
    assert meta['task'] == 'alignment' and meta['input_size'] == 64 and meta['num_keypoints'] == 29
    with open(osp.splitext(path)[0] + '.json') as f:
        assert json.load(f) == meta
    check_standard_ops(path)  # no mmcv (or any custom-domain) op in the graph
    assert set(graph_op_types(path)) == {''}
    diffs = compare_outputs(model, path, batch=3)  # dynamic batch: exported at 1, run at 3
    assert diffs['scores'] < TOL
    assert diffs['keypoints'] / meta['input_size'] < TOL  # normalised crop coordinates


def test_alignment_runtime_matches_the_pytorch_api(landmark_export):
    from mcf_mm.apis.alignment import detect_landmarks

    model, path, meta = landmark_export
    image = _face_image()
    box = [70.0, 40.0, 260.0, 250.0]
    ref = detect_landmarks(model, image, box)
    runner = OnnxLandmarker(path, threads=1)
    points, scores = runner.predict(image, box)
    assert points.shape == (29, 2) and scores.shape == (29,)
    # crop pixels scaled by (box side / face scale) / crop side back to the image: allow that factor on TOL
    scale = max(box[2] - box[0], box[3] - box[1]) / meta['face_scale'] / meta['input_size']
    np.testing.assert_allclose(points, np.asarray(ref['keypoints']), atol=TOL * meta['input_size'] * scale)
    np.testing.assert_allclose(scores, np.asarray(ref['scores']), atol=TOL)
    # the crop is the test pipeline's FaceBoxCrop
    from mmpose.registry import TRANSFORMS

    step = dict(next(s for s in model.cfg.test_dataloader.dataset.pipeline if s['type'] == 'FaceBoxCrop'))
    out = TRANSFORMS.build(step)(dict(img=image.copy(), bbox=np.asarray([box], np.float32)))
    crop, matrix = runner.preprocess(image, box)
    np.testing.assert_array_equal(crop, out['img'])
    np.testing.assert_allclose(matrix, out['crop_matrix'])


def test_parsing_graph_and_runtime_match_pytorch(parsing_export):
    from mcf_mm.apis.parsing import parse_face

    model, path, meta = parsing_export
    assert meta['task'] == 'parsing' and meta['canvas_shape'] == [128, 128] and len(meta['classes']) == 6
    check_standard_ops(path)
    diffs = compare_outputs(model, path, batch=2)
    assert diffs['logits'] < TOL
    image = _face_image()
    ref = parse_face(model, image)
    label, logits = OnnxFaceParser(path, threads=1).predict(image)
    assert logits.shape == (6,) + image.shape[:2]
    np.testing.assert_allclose(logits, ref.seg_logits.data.numpy(), atol=TOL)
    ref_label = ref.pred_sem_seg.data[0].numpy()
    top2 = np.sort(logits, axis=0)[-2:]
    clear = (top2[1] - top2[0]) > 1e-3  # pixels whose two best classes are not tied within float error
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(label[clear], ref_label[clear])


@pytest.mark.parametrize('convention', ['pixel_centre', 'farl'])
def test_numpy_unwarp_equals_the_segmentor_unwarp(convention):
    from mcf_mm.downstream.parsing.warp import align_matrix_from_landmarks, unwarp_logits

    rng = np.random.RandomState(0)
    canvas, ori = (64, 64), (90, 70)
    pts = np.array([[25.0, 35.0], [45.0, 34.0], [35.0, 48.0], [28.0, 60.0], [43.0, 61.0]])  # eyes, nose, mouth
    matrix = align_matrix_from_landmarks(pts, canvas)
    logits = rng.randn(5, *canvas).astype(np.float32)
    parser = OnnxFaceParser.__new__(OnnxFaceParser)
    parser.meta = dict(warp_factor=0.8, warp_convention=convention)
    parser.canvas_shape = canvas
    got = parser.postprocess(logits, matrix, ori)
    ref = unwarp_logits(torch.from_numpy(logits).double(), matrix, 0.8, ori, convention).numpy()  # float64 grid
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_bilinear_sample_by_hand():
    maps = np.arange(12, dtype=np.float64).reshape(1, 3, 4)  # value = 4 * y + x
    xy = np.array([[[1.25, 0.5], [3.0, 2.0], [-1.0, 0.0], [3.5, 0.0]]])  # [1, 4, 2]
    got = bilinear_sample(maps, xy)[0, 0]
    # inside: the plane 4y + x; outside the last column, half of the border value with zero beyond it
    np.testing.assert_allclose(got, [4 * 0.5 + 1.25, 11.0, 0.0, 0.5 * 3.0])


def test_lapa_canvas_is_the_test_pipeline_canvas():
    """The landmark alignment + tanh warp (0.8, FaRL convention) of the runtime are the LaPa pipeline's."""
    from mmseg.registry import TRANSFORMS

    import mcf_mm.downstream.parsing  # noqa: F401
    from mcf_mm.deployment.export import parsing_meta

    cfg = Config.fromfile(LAPA_CFG)
    model = type('M', (), dict(cfg=cfg, dataset_meta=dict(classes=['a'], palette=[[0, 0, 0]])))()
    meta = parsing_meta(model)
    assert meta['warp_factor'] == 0.8 and meta['warp_convention'] == 'farl' and meta['align_source'] == 'landmarks'
    parser = OnnxFaceParser.__new__(OnnxFaceParser)
    parser.meta, parser.canvas_shape = meta, tuple(meta['canvas_shape'])
    image = _face_image()
    five = np.array([[150.0, 130.0], [230.0, 128.0], [190.0, 175.0], [160.0, 215.0], [222.0, 214.0]])
    lapa106 = np.zeros((106, 2))
    lapa106[[104, 105, 54, 84, 90]] = five
    results = dict(img=image.copy(), face_landmarks=lapa106)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] in ('FaceAlign', 'RoITanhWarp'):
            results = TRANSFORMS.build(dict(step))(results)
    canvas, matrix = parser.preprocess(image, lapa106)
    np.testing.assert_allclose(matrix, results['warp_matrix'])
    np.testing.assert_array_equal(canvas, results['img'])
    with pytest.raises(ValueError, match='5 landmarks'):
        parser.preprocess(image)


def test_foreign_ops_are_refused(tmp_path):
    node = helper.make_node('RoIAlign', ['x'], ['y'], domain='mmcv')
    graph = helper.make_graph(
        [node],
        'g',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])],
    )
    path = str(tmp_path / 'foreign.onnx')
    opsets = [helper.make_opsetid('', 17), helper.make_opsetid('mmcv', 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets), path)
    with pytest.raises(RuntimeError, match='mmcv'):
        check_standard_ops(path)


def test_bad_inputs_are_named(tmp_path, landmark_export):
    _, path, _ = landmark_export
    with pytest.raises(ValueError, match='face_alignment'):
        load_model(osp.join(REPO, 'configs', 'mcf', 'cpu_demo', 'mcf_vit-demo-p4_1xb32-30e_skimage-faces-32px.py'))
    with pytest.raises(FileNotFoundError, match='export_onnx'):
        OnnxLandmarker(str(tmp_path / 'missing.onnx'))
    with pytest.raises(ValueError, match="'alignment' model, not 'parsing'"):
        OnnxFaceParser(path)
    with pytest.raises(ValueError, match=r'\[H, W, 3\]'):
        OnnxLandmarker(path).predict(np.zeros((10, 10), np.uint8))


@pytest.mark.slow
def test_export_tool_end_to_end(tmp_path):
    import importlib.util

    tool_path = osp.join(REPO, 'tools', 'deployment', 'export_onnx.py')
    spec = importlib.util.spec_from_file_location('export_onnx', tool_path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path / 'sub' / 'parse.onnx')
    meta = tool.main([_tiny(tmp_path, PARSE_CFG, 'decode_head'), '--out', out, '--verify'])
    assert osp.isfile(out) and osp.isfile(out[:-5] + '.json')
    assert meta['max_abs_diff']['logits'] < TOL
    with pytest.raises(ValueError, match='.onnx'):
        tool.main([PARSE_CFG, '--out', str(tmp_path / 'x.pt')])


@pytest.mark.slow
@pytest.mark.parametrize(
    'name,head',
    [
        ('face_parsing/vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py', 'decode_head'),
        ('face_alignment/vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py', 'head'),
    ],
)
def test_protocol_configs_export(tmp_path, name, head):
    """The 512-px protocol configs (ViT at 448 inside, patch 16, PPM on a 14 x 14 map) export too, tiny widths."""
    from mcf_mm.deployment import build_export_graph, freeze_adaptive_pools

    opts = {
        'model.backbone.arch': dict(_delete_=True, **TINY_BACKBONE),
        'model.backbone.out_indices': (0, 1, 2, 3),
        'model.neck.embed_dim': 32,
        f'model.{head}.in_channels': [32] * 4,
        f'model.{head}.channels': 16,
    }
    model = _randomise(load_model(osp.join(REPO, 'configs', name), None, opts))
    path = str(tmp_path / 'm.onnx')
    meta = export_onnx(model, path)
    check_standard_ops(path)
    diffs = compare_outputs(model, path, batch=1)
    if meta['task'] == 'alignment':
        assert meta['box_mode'] == 'stretch' and meta['input_size'] == 512
        assert diffs['keypoints'] / 512 < TOL and diffs['scores'] < TOL
    else:
        graph, _, size = build_export_graph(model)
        freeze_adaptive_pools(graph, torch.zeros(1, 3, size, size))
        crop = torch.from_numpy(np.random.RandomState(0).uniform(0, 255, (1, 3, size, size)).astype(np.float32))
        with torch.no_grad():
            scale = graph(crop).abs().max().item()
        assert diffs['logits'] / scale < TOL  # relative to the logits' range (large under N(0, 0.2) weights)


@pytest.mark.slow
def test_evaluate_tool_scores_what_pytorch_predicts(tmp_path):
    """tools/deployment/evaluate_onnx_landmarks.py on a Helen-29 fixture: its NME equals the NME of PyTorch's
    predictions (mcf_mm.apis.alignment) written out here by the definition (mean point error / inter-ocular)."""
    import importlib.util

    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    from mcf_fixtures.alignment import write_helen
    from mcf_mm.apis.alignment import detect_landmarks

    root = str(tmp_path / 'helen29')
    write_helen(root)
    cfg_path = tmp_path / 'helen_tiny.py'
    cfg_path.write_text(
        open(_tiny(tmp_path, ALIGN_CFG, 'head')).read()
        + f'test_dataloader = dict(dataset=dict(data_root={root!r}, test_ratio=1 / 3))\n'
    )
    model = _randomise(load_model(str(cfg_path)))
    path = str(tmp_path / 'helen.onnx')
    export_onnx(model, path)
    tool_path = osp.join(REPO, 'tools', 'deployment', 'evaluate_onnx_landmarks.py')
    spec = importlib.util.spec_from_file_location('evaluate_onnx_landmarks', tool_path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tool.main([str(cfg_path), path])

    init_default_scope('mmpose')
    dataset = DATASETS.build(dict(Config.fromfile(str(cfg_path)).test_dataloader.dataset, pipeline=[]))
    assert len(dataset) == 2
    nmes = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        box = np.asarray(info['bbox'], np.float64).reshape(4)
        pred = np.asarray(detect_landmarks(model, info['img_path'], box)['keypoints'])  # [29, 2]
        gt = np.asarray(info['keypoints'], np.float64).reshape(29, 2)
        nmes.append(np.linalg.norm(pred - gt, axis=1).mean() / np.linalg.norm(gt[8] - gt[9]))
    assert np.isfinite(nmes).all() and out['NME_inter_ocular'] > 0
    assert abs(out['NME_inter_ocular'] - 100 * np.mean(nmes)) < 1e-3
