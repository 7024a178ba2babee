"""AntiSpoofingDataset on tiny videos in each release's layout: listing, labels from names, splits, the frame
sampling rule against its formula, the decoded frame, the face boxes (provided files, eyes, box files), the frame
cache written by the tool."""

import importlib.util
import json
import math
import os.path as osp
import sys
from fractions import Fraction

import numpy as np
import pytest

import mcf_mm  # noqa: F401
from mcf_fixtures import anti_spoofing as fx
from mcf_mm.downstream.classification.datasets.anti_spoofing import (
    AntiSpoofingDataset,
    LoadVideoFrame,
    sample_frame_indices,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'anti_spoofing_frames.py')
ALL_SPLITS = {
    'oulu-npu': ('train', 'dev', 'test'),
    'casia-fasd': ('train', 'test'),
    'replay-attack': ('train', 'devel', 'test'),
    'msu-mfsd': ('train', 'test'),
}


@pytest.fixture(scope='module')
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp('fas')
    out = {}
    for db, make in fx.MAKERS.items():
        videos = make(str(root / db))
        out[db] = (str(root / db), videos)
    for db in ('casia-fasd', 'msu-mfsd'):
        fx.write_box_file(str(root / f'{db}-boxes.json'), out[db][1])
    return root, out


def _build(releases, db, **kw):
    root, out = releases
    if db in ('casia-fasd', 'msu-mfsd') and 'box_file' not in kw and 'frame_cache' not in kw:
        kw['box_file'] = str(root / f'{db}-boxes.json')
    return AntiSpoofingDataset(out[db][0], db, **kw)


def _infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_uniform_rule_is_segment_centres():
    for n in range(1, 31):
        for k in range(1, 9):
            got = sample_frame_indices(n, k)
            if k >= n:
                assert got == list(range(n))
                continue
            seg = Fraction(n, k)  # exact: the centre of segment i is seg * (i + 1/2)
            assert got == [math.floor(seg * i + seg / 2) for i in range(k)]
            assert all(b > a for a, b in zip(got, got[1:])) and 0 <= got[0] and got[-1] < n


def test_ssdg_rule_is_ssdg_sample_frames():
    # SSDG utils.sample_frames: frame_list[6 + j * floor(n / num_frames)] over the sorted frames
    for n in range(7, 40):
        for k in (1, 2):
            if 6 + (k - 1) * (n // k) < n:
                assert sample_frame_indices(n, k, 'ssdg') == [6 + j * (n // k) for j in range(k)]
    with pytest.raises(ValueError, match='ssdg'):
        sample_frame_indices(5, 1, 'ssdg')
    with pytest.raises(ValueError, match='unknown frame_rule'):
        sample_frame_indices(10, 1, 'random')


@pytest.mark.parametrize('db', sorted(fx.MAKERS))
def test_videos_labels_and_splits_follow_the_release(releases, db):
    _, out = releases
    videos = out[db][1]
    for split in ALL_SPLITS[db]:
        ds = _build(releases, db, splits=split, num_frames=2)
        expect = sorted((v[0], v[1]) for v in videos if v[2] == split)
        got = sorted({(d['video'], d['gt_label']) for d in _infos(ds)})
        assert got == expect, split
        assert all(d['domain'] == db for d in _infos(ds))
        assert {d['split'] for d in _infos(ds)} == {split}
    ds = _build(releases, db, splits=ALL_SPLITS[db], num_frames=1, domain='source')
    assert len(ds) == len(videos) and {d['domain'] for d in _infos(ds)} == {'source'}
    assert ds.metainfo['classes'] == ('attack', 'live')


@pytest.mark.parametrize('db', sorted(fx.MAKERS))
def test_sampled_frames_are_the_decoded_ones(releases, db):
    _, out = releases
    n_of = {v[0]: v[3] for v in out[db][1]}
    ds = _build(releases, db, splits=ALL_SPLITS[db], num_frames=3)
    load = LoadVideoFrame()
    per_video = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        per_video.setdefault(info['video'], []).append(info['frame_index'])
        img = load(dict(info))['img']
        assert img.shape == (fx.H, fx.W, 3)
        assert fx.frame_index_of(img) == info['frame_index']
    for vid, frames in per_video.items():
        n = n_of[vid]
        assert frames == [math.floor(Fraction(n, 3) * (i + Fraction(1, 2))) for i in range(3)]


def test_replay_boxes_come_from_the_face_locations(releases):
    _, out = releases
    ds = _build(releases, 'replay-attack', splits=ALL_SPLITS['replay-attack'], num_frames=20)  # every frame
    no_of = {v[0]: v[4] for v in out['replay-attack'][1]}
    for d in _infos(ds):
        f, no = d['frame_index'], no_of[d['video']]
        want = fx.face_box(no, f - 1 if f in fx.REPLAY_NO_FACE else f)  # "0 0 0 0" -> nearest, earlier on ties
        np.testing.assert_allclose(d['face_box'], want)


def test_oulu_boxes_come_from_the_eyes(releases):
    _, out = releases
    ds = _build(
        releases, 'oulu-npu', splits=('train', 'dev', 'test'), num_frames=20, eye_box_scale=2.0, eye_box_shift=0.25
    )
    no_of = {v[0]: v[4] for v in out['oulu-npu'][1]}
    for d in _infos(ds):
        xa, ya, xb, yb = fx.oulu_eyes(no_of[d['video']], d['frame_index'])
        dist = math.dist((xa, ya), (xb, yb))
        cx, cy = (xa + xb) / 2, (ya + yb) / 2 + 0.25 * dist
        np.testing.assert_allclose(d['face_box'], (cx - dist, cy - dist, cx + dist, cy + dist), rtol=1e-6)


@pytest.mark.parametrize('db', ['casia-fasd', 'msu-mfsd'])
def test_boxes_from_a_box_file_and_none_without(releases, db):
    root, out = releases
    ds = _build(releases, db, splits=ALL_SPLITS[db], num_frames=2)
    no_of = {v[0]: v[4] for v in out[db][1]}
    for d in _infos(ds):
        np.testing.assert_allclose(d['face_box'], fx.face_box(no_of[d['video']], d['frame_index']))
    with pytest.raises(ValueError, match='ships no face boxes'):
        AntiSpoofingDataset(out[db][0], db, splits='train')
    ds = AntiSpoofingDataset(out[db][0], db, splits='train', require_boxes=False)
    assert all('face_box' not in d for d in _infos(ds))


def test_oulu_protocol_lists_filter_and_must_agree(releases, tmp_path):
    _, out = releases
    ds = _build(releases, 'oulu-npu', splits='train', oulu_protocol='Protocol_1')
    assert sorted(d['video'] for d in _infos(ds)) == ['Train_files/1_1_01_1', 'Train_files/1_1_01_2']
    with pytest.raises(FileNotFoundError, match='Protocol_9'):
        _build(releases, 'oulu-npu', splits='train', oulu_protocol='Protocol_9')
    # a list that calls the live file an attack is refused
    import shutil

    bad = tmp_path / 'oulu'
    shutil.copytree(out['oulu-npu'][0], bad)
    (bad / 'Protocols' / 'Protocol_1' / 'Train.txt').write_text('-1,1_1_01_1\n')
    with pytest.raises(ValueError, match='protocol list says'):
        AntiSpoofingDataset(str(bad), 'oulu-npu', splits='train', oulu_protocol='Protocol_1')


def test_bad_arguments_fail_early(releases, tmp_path):
    _, out = releases
    with pytest.raises(ValueError, match='unknown database'):
        AntiSpoofingDataset(out['oulu-npu'][0], 'siw')
    with pytest.raises(ValueError, match='has the splits'):
        AntiSpoofingDataset(out['replay-attack'][0], 'replay-attack', splits='dev')
    with pytest.raises(FileNotFoundError, match='README'):
        AntiSpoofingDataset(str(tmp_path), 'casia-fasd', splits='train', require_boxes=False)


def _tool():
    spec = importlib.util.spec_from_file_location('anti_spoofing_frames', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run_tool(*args) -> str:
    """Run the tool's main in this process; '' on success, else its error message."""
    try:
        _tool().main(list(args))
    except SystemExit as err:
        return str(err.code)
    return ''


@pytest.mark.parametrize('db', ['replay-attack', 'oulu-npu', 'casia-fasd'])
def test_frame_cache_gives_the_same_samples(releases, db, tmp_path):
    root, out = releases
    cache = tmp_path / 'cache'
    boxes = str(root / f'{db}-boxes.json') if db == 'casia-fasd' else 'provided'
    assert _run_tool(db, out[db][0], str(cache), '--num-frames', '1', '3', '--boxes', boxes) == ''
    index = json.load(open(cache / 'index.json'))
    n_of = {v[0]: v[3] for v in out[db][1]}
    assert {v: r['num_video_frames'] for v, r in index.items()} == n_of  # counted by decoding
    for k in (1, 3):
        kw = dict(splits=ALL_SPLITS[db], num_frames=k)
        direct = _build(releases, db, **kw)
        cached = AntiSpoofingDataset(out[db][0], db, frame_cache=str(cache), **kw)
        assert len(direct) == len(cached)
        load = LoadVideoFrame()
        for a, b in zip(_infos(direct), _infos(cached)):
            assert (a['video'], a['frame_index'], a['gt_label']) == (b['video'], b['frame_index'], b['gt_label'])
            np.testing.assert_allclose(a['face_box'], b['face_box'])
            assert b['img_path'].startswith(str(cache))
            np.testing.assert_array_equal(load(dict(a))['img'], load(dict(b))['img'])  # PNG is lossless
    with pytest.raises(KeyError, match='rerun the frame tool'):
        AntiSpoofingDataset(out[db][0], db, frame_cache=str(cache), splits=ALL_SPLITS[db], num_frames=2)


def test_tool_refuses_before_work(releases, tmp_path):
    _, out = releases
    cache = str(tmp_path / 'c')
    assert 'ships no face boxes' in _run_tool('msu-mfsd', out['msu-mfsd'][0], cache, '--boxes', 'provided')
    assert 'has the splits' in _run_tool('replay-attack', out['replay-attack'][0], cache, '--splits', 'dev')
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, 'facenet_pytorch', None)  # as if not installed: import raises ImportError
        msg = _run_tool('casia-fasd', out['casia-fasd'][0], cache, '--boxes', 'mtcnn')
    assert 'pip install facenet-pytorch' in msg
    assert not osp.exists(osp.join(cache, 'index.json'))


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_mtcnn_boxes_of_a_real_face(tmp_path):
    """A CASIA-layout video of a real face (scikit-image's astronaut at 128 px): the tool's MTCNN box is the box
    MTCNN finds on the full 512 px image, scaled by 1/4."""
    pytest.importorskip('facenet_pytorch')
    import cv2
    from facenet_pytorch import MTCNN
    from skimage import data as skdata

    rgb = skdata.astronaut()  # [512, 512, 3]
    boxes, probs = MTCNN(keep_all=True, device='cpu').detect(rgb)
    ref = boxes[int(np.argmax(probs))] / 4
    root = tmp_path / 'casia'
    path = root / 'train_release' / '1' / '1.avi'
    path.parent.mkdir(parents=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (128, 128))
    for _ in range(3):
        w.write(cv2.cvtColor(cv2.resize(rgb, (128, 128), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR))
    w.release()
    cache = tmp_path / 'cache'
    assert (
        _run_tool('casia-fasd', str(root), str(cache), '--splits', 'train', '--num-frames', '1', '--boxes', 'mtcnn')
        == ''
    )
    ds = AntiSpoofingDataset(str(root), 'casia-fasd', splits='train', frame_cache=str(cache))
    (info,) = _infos(ds)
    assert (info['video'], info['frame_index'], info['gt_label']) == ('train_release/1/1', 1, 1)
    assert _iou(info['face_box'], ref) > 0.8


def test_context_cache_crops_like_the_full_frame(tmp_path):
    """--context C writes only the region about the box; CropFaceBox with any margin <= C then cuts the same face
    crop as from the full decoded frame (textured frames, boxes near the border and inside)."""
    import cv2

    from mcf_mm.downstream.classification.transforms import CropFaceBox

    rng = np.random.default_rng(0)
    root = tmp_path / 'casia'
    boxes = {}
    for no, (name, box) in enumerate((('1', (2.0, 3.0, 30.0, 37.0)), ('3', (20.5, 14.25, 44.0, 38.5)))):
        path = root / 'train_release' / '1' / f'{name}.avi'
        path.parent.mkdir(parents=True, exist_ok=True)
        w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
        for _ in range(5):
            w.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
        w.release()
        boxes[f'train_release/1/{name}'] = {str(i): list(box) for i in range(5)}
    box_file = tmp_path / 'boxes.json'
    box_file.write_text(json.dumps(boxes))
    cache = tmp_path / 'cache'
    args = ('--splits', 'train', '--num-frames', '3', '--boxes', str(box_file), '--context', '0.5')
    assert _run_tool('casia-fasd', str(root), str(cache), *args) == ''
    index = json.load(open(cache / 'index.json'))
    assert all(cv2.imread(str(cache / p)).shape[:2] != (48, 64) for r in index.values() for p in r['frames'].values())
    saved = json.load(open(cache / 'boxes.json'))  # frame coordinates again
    assert {v: {f: saved[v][f] for f in r['frames']} for v, r in index.items()} == {
        v: {f: boxes[v][f] for f in r['frames']} for v, r in index.items()
    }
    full = _infos(AntiSpoofingDataset(str(root), 'casia-fasd', splits='train', num_frames=3, box_file=str(box_file)))
    cached = _infos(AntiSpoofingDataset(str(root), 'casia-fasd', splits='train', num_frames=3, frame_cache=str(cache)))
    load = LoadVideoFrame()
    for margin in (0.0, 0.3, 0.5):
        crop = CropFaceBox(size=24, margin=margin)
        for a, b in zip(full, cached):
            want = crop(load(dict(a)))['img']
            got = crop(load(dict(b)))['img']
            assert np.abs(want.astype(int) - got.astype(int)).max() <= 1, (a['video'], margin)
