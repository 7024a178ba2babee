"""The one inference API and tools/infer.py: inputs and their errors, detection -> model, batching, outputs."""

import json
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch

from mcf_fixtures.tiny import REPO, TINY_ARCH
from mcf_mm.apis import collect_images, init_model, predict, read_image, save_result
from mcf_mm.apis.inference import check_images, colour_labels, crop_region, paste_region
from mcf_mm.detection import Face, FaceDetector, box_mapping_for

ALIGN_CFG = osp.join(REPO, 'configs', 'face_alignment', 'vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py')
FASSEG_CFG = osp.join(REPO, 'configs', 'face_parsing', 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py')
LAPA_CFG = osp.join(REPO, 'configs', 'face_parsing', 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py')
UTK_CFG = osp.join(
    REPO, 'configs', 'face_classification', 'utkface', 'vit-demo-p4_linear_1xb64-4e_utkface-gender-64px.py'
)
ARCH4 = dict(TINY_ARCH, num_layers=4)  # one block per pyramid level
TINY_TEXT = {
    'align': f'model = dict(backbone=dict(arch={ARCH4!r}), neck=dict(embed_dim=32), '
    'head=dict(in_channels=32, channels=16))\n',
    'parse': 'model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=4, num_heads=2, '
    "feedforward_channels=64), out_indices=(0, 1, 2, 3)), neck=dict(embed_dim=32, norm_cfg=dict(type='BN')), "
    "decode_head=dict(in_channels=[32] * 4, channels=16, norm_cfg=dict(type='BN')))\n",
    'cls': f'model = dict(backbone=dict(arch={TINY_ARCH!r}), head=dict(in_channels=32))\n',
}


class FixedDetector(FaceDetector):
    """Returns the same faces for every image (a plugged-in detector for the tests)."""

    name = 'mtcnn'  # use MTCNN's measured mappings

    def __init__(self, faces):
        self.faces = faces

    def _detect(self, img):
        return list(self.faces)


def _tiny(tmp_path, base: str, kind: str, seed: int = 0):
    """A tiny config file over ``base``, its model with random weights and a checkpoint of them."""
    cfg = tmp_path / f'tiny_{kind}_{osp.basename(base)}'
    cfg.write_text(f'_base_ = [{base!r}]\n' + TINY_TEXT[kind])
    model = init_model(str(cfg))
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    ckpt = str(tmp_path / f'tiny_{kind}.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return str(cfg), ckpt


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """A real face photo (scikit-image's astronaut, 512 px, BGR) and a 96-px copy, as files."""
    skdata = pytest.importorskip('skimage.data')
    folder = tmp_path_factory.mktemp('photos')
    big = skdata.astronaut()[..., ::-1].copy()
    small = cv2.resize(big, (96, 96), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(folder / 'astronaut.png'), big)
    cv2.imwrite(str(folder / 'small.jpg'), small)
    return folder


@pytest.fixture(scope='module')
def align(tmp_path_factory):
    folder = tmp_path_factory.mktemp('align')
    cfg, ckpt = _tiny(folder, ALIGN_CFG, 'align')
    return cfg, ckpt, init_model(cfg, ckpt)


# ------------------------------------------------------------------------------------------------ inputs


def test_inputs_expand_and_bad_inputs_fail_clearly(tmp_path, photos):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'notes.txt').write_text('# nothing\n\n')
    lst = tmp_path / 'list.txt'
    lst.write_text(f'{photos / "small.jpg"}\nmissing.jpg\n')
    with pytest.raises(FileNotFoundError, match='holds no image files'):
        collect_images(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='image not found: .*nope.jpg'):
        collect_images(str(tmp_path / 'nope.jpg'))
    with pytest.raises(FileNotFoundError, match='names no images'):
        collect_images(str(tmp_path / 'notes.txt'))
    with pytest.raises(FileNotFoundError, match='no input images'):
        collect_images([])
    assert collect_images(str(photos)) == [str(photos / 'astronaut.png'), str(photos / 'small.jpg')]
    # a list's missing entry is kept (it fails alone later), relative to the list's folder
    assert collect_images(str(lst)) == [str(photos / 'small.jpg'), str(tmp_path / 'missing.jpg')]
    with pytest.raises(ValueError, match='grey'):
        collect_images(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match='4-channel'):
        collect_images([np.zeros((8, 8, 4), np.uint8)])


def test_corrupt_and_missing_images_are_reported_not_fatal(tmp_path, photos):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'\xff\xd8\xff\xe0 not really a jpeg')
    with pytest.raises(ValueError, match='could not decode .*bad.jpg'):
        read_image(str(bad))
    images, errors = check_images([str(bad), str(photos / 'small.jpg'), str(tmp_path / 'gone.png')])
    assert sorted(errors) == [0, 2] and 'image not found' in errors[2]
    with pytest.raises(ValueError, match='no input image could be read'):
        check_images([str(bad)])
    # a grey file is converted when read (only arrays must be colour already)
    cv2.imwrite(str(tmp_path / 'grey.png'), np.full((10, 12), 90, np.uint8))
    assert read_image(str(tmp_path / 'grey.png')).shape == (10, 12, 3)


def test_crop_and_paste_regions_are_exact_inverses():
    img = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    crop, region = crop_region(img, [-2.2, 1.4, 5.6, 9.0])  # rounds to (-2, 1, 6, 9): partly outside
    assert region == (-2, 1, 6, 9) and crop.shape == (8, 8, 3)
    np.testing.assert_array_equal(crop[:5, 2:], img[1:6, 0:6])
    assert not crop[5:].any() and not crop[:, :2].any()
    label = np.ones((8, 8), np.uint8)
    pasted = paste_region(label, region, (6, 8))
    expected = np.zeros((6, 8), np.uint8)
    expected[1:6, 0:6] = 1
    np.testing.assert_array_equal(pasted, expected)


# ------------------------------------------------------------------------------------------------ landmarks


def test_landmarks_match_mmpose_inference_topdown_and_batching(align, photos):
    from mmpose.apis import inference_topdown

    _, _, model = align
    path = str(photos / 'astronaut.png')
    boxes = [[180.0, 90.0, 270.0, 180.0], [150.0, 60.0, 300.0, 210.0]]
    ref = inference_topdown(model, path, np.asarray(boxes), bbox_format='xyxy')
    one = predict(model, [path, path], detector=None, boxes=boxes, batch_size=1)
    two = predict(model, [path, path], detector=None, boxes=boxes, batch_size=4)
    for k in range(2):
        want = ref[k].pred_instances.keypoints[0]  # [K, 2]
        np.testing.assert_allclose(one[k]['faces'][0]['points'], want, atol=2e-3)
        np.testing.assert_allclose(two[k]['faces'][0]['points'], one[k]['faces'][0]['points'], atol=1e-4)
        assert one[k]['faces'][0]['box'] == boxes[k] and one[k]['faces'][0]['detector_box'] is None


def test_progress_bar_counts_the_images(align, photos, capsys):
    _, _, model = align
    path = str(photos / 'astronaut.png')
    box = [180.0, 90.0, 270.0, 180.0]
    quiet = predict(model, [path] * 3, detector=None, boxes=[box] * 3)
    assert '3/3' not in capsys.readouterr().err
    shown = predict(model, [path] * 3, detector=None, boxes=[box] * 3, progress=True)
    assert '3/3' in capsys.readouterr().err
    np.testing.assert_array_equal(shown[2]['faces'][0]['points'], quiet[2]['faces'][0]['points'])


def test_detected_boxes_are_mapped_to_the_training_convention(align, photos, tmp_path):
    _, _, model = align
    face = Face(np.array([170.0, 60.0, 270.0, 175.0]), 0.97, None)  # no landmarks: the box-only mapping
    res = predict(model, str(photos / 'astronaut.png'), detector=FixedDetector([face]))[0]
    entry = res['faces'][0]
    m = box_mapping_for('Helen29MatDataset')
    w, h = 100.0, 115.0
    cx, cy = 220.0 + m.dx * w, 117.5 + m.dy * h
    hw, hh = m.sx * w / 2, m.sy * h / 2
    np.testing.assert_allclose(entry['box'], [cx - hw, cy - hh, cx + hw, cy + hh])
    assert entry['detector_box'] == [170.0, 60.0, 270.0, 175.0] and entry['score'] == pytest.approx(0.97)
    # the model saw the mapped box: same points as predicting with that box given
    given = predict(model, str(photos / 'astronaut.png'), detector=None, boxes=[entry['box']])[0]
    np.testing.assert_allclose(entry['points'], given['faces'][0]['points'], atol=1e-6)
    # pre-cropped: no detector = the whole image is the face box; an array gives the same as its file
    whole = predict(model, str(photos / 'small.jpg'), detector=None)[0]
    assert whole['faces'][0]['box'] == [0.0, 0.0, 96.0, 96.0]
    arr = cv2.imread(str(photos / 'small.jpg'))
    from_array = predict(model, arr, detector=None)[0]
    assert from_array['image'] == 'array0'
    np.testing.assert_allclose(from_array['faces'][0]['points'], whole['faces'][0]['points'])
    saved = save_result(from_array, model, str(tmp_path), image=arr)
    assert cv2.imread(saved['pictures'][0]).shape == arr.shape
    # no face found is an error of that image only
    empty = predict(model, str(photos / 'small.jpg'), detector=FixedDetector([]))[0]
    assert empty['error'] == 'no face found' and empty['faces'] == []


def test_tool_writes_json_and_pictures_and_survives_a_bad_image(align, photos, tmp_path, monkeypatch):
    cfg, ckpt, _ = align
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n garbage')
    lst = tmp_path / 'list.txt'
    lst.write_text(f'{photos / "small.jpg"}\n{bad}\n{tmp_path / "missing.jpg"}\n')
    out = tmp_path / 'out'
    argv = ['infer.py', cfg, ckpt, str(lst), '--no-detect', '--out-dir', str(out), '--batch-size', '2']
    monkeypatch.setattr(sys, 'argv', argv)
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(osp.join(REPO, 'tools', 'infer.py'), run_name='__main__')
    assert stop.value.code == 2  # some images failed
    summary = json.load(open(out / 'results.json'))
    assert summary['task'] == 'landmarks' and len(summary['images']) == 3
    assert [osp.basename(f['image']) for f in summary['failed']] == ['broken.png', 'missing.jpg']
    assert 'could not decode' in summary['failed'][0]['error'] and 'not found' in summary['failed'][1]['error']
    good = json.load(open(out / 'small.json'))
    assert good == summary['images'][0] and len(good['faces'][0]['points']) == 29
    png = cv2.imread(str(out / 'small_points.png'))
    assert png.shape == (96, 96, 3)
    # the points are drawn: green dots at the predicted positions (an index label may cover a few)
    pts = np.clip(np.round(good['faces'][0]['points']).astype(int), 0, 95)
    is_green = (png == (0, 255, 0)).all(axis=-1)  # [96, 96]
    near = [is_green[max(y - 2, 0) : y + 3, max(x - 2, 0) : x + 3].any() for x, y in pts]
    assert np.mean(near) > 0.8
    assert (png == (0, 0, 255)).all(axis=-1).any()  # the red indices


def test_tool_input_errors_come_before_the_model(tmp_path, monkeypatch):
    import mcf_mm.apis.inference as api

    def boom(*a, **k):
        raise AssertionError('the model was built')

    monkeypatch.setattr(api, 'init_model', boom)
    (tmp_path / 'empty').mkdir()
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    cases = (([str(tmp_path / 'empty')], 'holds no image files'), ([str(tmp_path / 'a.jpg')], 'not found'))
    for inputs, message in cases:
        monkeypatch.setattr(sys, 'argv', ['infer.py', ALIGN_CFG, str(ckpt), *inputs])
        with pytest.raises(SystemExit) as stop:
            runpy.run_path(osp.join(REPO, 'tools', 'infer.py'), run_name='__main__')
        assert message in str(stop.value.code)


# ------------------------------------------------------------------------------------------------ parsing


def test_parsing_whole_image_model_on_a_detected_face(tmp_path, photos):
    from mcf_mm.apis.parsing import parse_face

    cfg, ckpt = _tiny(tmp_path, FASSEG_CFG, 'parse')
    model = init_model(cfg, ckpt)
    path = str(photos / 'astronaut.png')
    img = cv2.imread(path)
    det = Face(np.array([180.0, 62.0, 268.0, 172.0]), 0.99, None)
    res = predict(model, [path, path], detector=FixedDetector([det]), batch_size=2)
    entry = res[0]['faces'][0]
    region = entry['region']
    np.testing.assert_allclose(region, np.round(box_mapping_for('FASSEGDataset').apply(det.box)))
    # = parsing the cut-out as a photo (the way the model was trained), pasted back into the photo
    crop, _ = crop_region(img, entry['box'])
    ref = parse_face(model, crop).pred_sem_seg.data[0].numpy().astype(np.uint8)
    np.testing.assert_array_equal(entry['label_map'], paste_region(ref, region, img.shape[:2]))
    np.testing.assert_array_equal(res[1]['faces'][0]['label_map'], entry['label_map'])  # batch of 2 = alone
    saved = save_result(res[0], model, str(tmp_path / 'out'))
    face = saved['faces'][0]
    index = cv2.imread(face['label_png'], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(index, entry['label_map'])
    palette = np.asarray(model.dataset_meta['palette'], np.uint8)
    np.testing.assert_array_equal(cv2.imread(face['label_color_png']), palette[index][..., ::-1])
    overlay = cv2.imread(saved['pictures'][0])
    assert overlay.shape[0] >= 512 and overlay.shape[1] > 512  # the legend panel beside the photo
    legend = overlay[:, 512:]
    for colour in palette:  # every class swatch in the legend
        assert (legend == colour[::-1]).all(axis=-1).any()
    assert json.load(open(tmp_path / 'out' / 'astronaut.json')) == saved
    assert np.array_equal(colour_labels(np.array([[1]]), palette)[0, 0], palette[1][::-1])
    # the one-face API writes the same three pictures
    from mcf_mm.apis.parsing import save_parsing

    one = parse_face(model, crop)
    classes = model.dataset_meta['classes']
    _, overlay_png = save_parsing(one, crop, str(tmp_path / 'one' / 'c'), palette=palette, classes=classes)
    index = one.pred_sem_seg.data[0].numpy().astype(np.uint8)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / 'one' / 'c_label_color.png')), palette[index][..., ::-1])
    assert cv2.imread(overlay_png).shape[1] > crop.shape[1]


def test_parsing_landmark_aligned_model_takes_the_detector_landmarks(tmp_path, photos):
    from mcf_mm.apis.parsing import parse_face

    cfg, ckpt = _tiny(tmp_path, LAPA_CFG, 'parse')
    model = init_model(cfg, ckpt)
    path = str(photos / 'astronaut.png')
    pts = np.array([[205.0, 102.0], [247.0, 104.0], [225.0, 129.0], [202.0, 139.0], [245.0, 142.0]])
    res = predict(model, path, detector=FixedDetector([Face(np.array([181.0, 62.0, 268.0, 172.0]), 1.0, pts)]))[0]
    ref = parse_face(model, path, landmarks=pts).pred_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(res['faces'][0]['label_map'], ref)
    assert res['faces'][0]['landmarks5'] == pts.tolist()
    with pytest.raises(ValueError, match='5 landmarks'):
        parse_face(model, path)
    no_points = predict(model, path, detector=None)[0]
    assert 'aligns the face by 5 landmarks' in no_points['error']
    # the real detector: MTCNN's 5 landmarks are what the model is aligned by
    pytest.importorskip('facenet_pytorch')
    from mcf_mm.detection import build_detector

    (face,) = build_detector('mtcnn').detect(cv2.imread(path))
    detected = predict(model, path)[0]['faces'][0]
    np.testing.assert_allclose(detected['landmarks5'], face.landmarks, atol=0.01)
    ref = parse_face(model, path, landmarks=face.landmarks).pred_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(detected['label_map'], ref)


# ------------------------------------------------------------------------------------------------ classification


def test_classification_on_the_detected_region(tmp_path, photos):
    cfg, ckpt = _tiny(tmp_path, UTK_CFG, 'cls')
    model = init_model(cfg, ckpt)
    assert model.mcf_task == 'classification' and list(model.dataset_meta['classes']) == ['male', 'female']
    path = str(photos / 'astronaut.png')
    det = Face(np.array([180.0, 62.0, 268.0, 172.0]), 0.99, None)
    entry = predict(model, path, detector=FixedDetector([det]))[0]['faces'][0]
    # independent path: cut the region, resize as the config does, normalise, forward
    crop, region = crop_region(cv2.imread(path), box_mapping_for('UTKFaceDataset').apply(det.box))
    assert list(region) == entry['region']
    x = cv2.resize(crop, (64, 64), interpolation=cv2.INTER_LINEAR)[..., ::-1].astype(np.float32)
    x = (x - np.array([123.675, 116.28, 103.53])) / np.array([58.395, 57.12, 57.375])
    with torch.no_grad():
        logits = model(torch.from_numpy(x.transpose(2, 0, 1)).float()[None], mode='tensor')
    score = torch.softmax(logits, dim=1)[0].numpy()
    np.testing.assert_allclose(entry['pred_score'], score, atol=1e-4)
    top = int(score.argmax())
    assert entry['pred_label'] == top and entry['label_names'] == [['male', 'female'][top]]
    saved = save_result(predict(model, path, detector=FixedDetector([det]))[0], model, str(tmp_path / 'o'))
    assert osp.isfile(saved['pictures'][0]) and json.load(open(tmp_path / 'o' / 'astronaut.json')) == saved


def test_classification_with_crop_face_box_gets_the_box(tmp_path, photos):
    from mcf_mm.datasets.face_crop import crop_face

    base = osp.join(
        REPO,
        'configs',
        'face_classification',
        'expression',
        'vit-base-p16_mcf-16e-pre_linear_8xb32-10e_affectnet-7-224px.py',
    )
    cfg = tmp_path / 'tiny_affectnet.py'
    cfg.write_text(
        f'_base_ = [{base!r}]\nmodel = dict(backbone=dict(arch=dict(_delete_=True, **{TINY_ARCH!r}), img_size=64, '
        'patch_size=16), '
        'head=dict(in_channels=32))\n'
        "test_pipeline = [dict(type='LoadImageFromFile'), dict(type='CropFaceBox', size=64), dict(type='PackInputs')]\n"
        'test_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n'
    )
    model = init_model(str(cfg))
    assert model.mcf_task == 'classification'
    path = str(photos / 'astronaut.png')
    box = [180.0, 62.0, 268.0, 172.0]
    entry = predict(model, path, detector=None, boxes=[box])[0]['faces'][0]
    assert entry['box'] == box and 'region' not in entry
    x = crop_face(cv2.imread(path), box, margin=0.0, size=64)[..., ::-1].astype(np.float32)  # the square crop, RGB
    x = (x - np.array([123.675, 116.28, 103.53])) / np.array([58.395, 57.12, 57.375])
    with torch.no_grad():
        logits = model(torch.from_numpy(x.transpose(2, 0, 1)).float()[None], mode='tensor')
    np.testing.assert_allclose(entry['pred_score'], torch.softmax(logits, 1)[0].numpy(), atol=1e-4)
    assert len(entry['pred_score']) == 7


def test_tool_box_option_is_the_model_box(align, photos, tmp_path, monkeypatch):
    cfg, ckpt, model = align
    path = str(photos / 'astronaut.png')
    box = ['180', '90', '270', '180']
    argv = ['infer.py', cfg, ckpt, path, '--box', *box, '--out-dir', str(tmp_path)]
    monkeypatch.setattr(sys, 'argv', argv)
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(osp.join(REPO, 'tools', 'infer.py'), run_name='__main__')
    assert stop.value.code == 0
    saved = json.load(open(tmp_path / 'astronaut.json'))
    want = predict(model, path, detector=None, boxes=[[float(v) for v in box]])[0]['faces'][0]['points']
    assert saved['faces'][0]['box'] == [180.0, 90.0, 270.0, 180.0] and saved['faces'][0]['detector_box'] is None
    np.testing.assert_allclose(saved['faces'][0]['points'], want, atol=1e-3)
    # a box for several images is refused before the model is built
    monkeypatch.setattr(sys, 'argv', ['infer.py', cfg, ckpt, path, path, '--box', *box])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(osp.join(REPO, 'tools', 'infer.py'), run_name='__main__')
    assert '--box is for one image' in str(stop.value.code)


def test_a_pretraining_config_is_refused_before_building():
    cfg = osp.join(REPO, 'configs/mcf/cpu_demo/mcf_vit-demo-p4_1xb32-30e_skimage-faces-32px.py')
    with pytest.raises(ValueError, match='not a landmark, parsing or classification model'):
        init_model(cfg)
