"""Face anti-spoofing videos of OULU-NPU, CASIA-FASD, Idiap Replay-Attack and MSU-MFSD, read from their release
folders: one sample per sampled frame, ``gt_label`` 1 live / 0 attack, metainfo ``video`` and ``domain``, and the
``face_box`` (x1, y1, x2, y2 pixels) for ``CropFaceBox``.

Frames are sampled with a fixed rule (:func:`sample_frame_indices`) and decoded by :class:`LoadVideoFrame`: from
the video itself (sequential decode up to the frame: exact, slow on long videos) or from the frame cache that
``tools/dataset_converters/anti_spoofing_frames.py`` writes (the frames as images, their boxes and each video's
decoded frame count in ``index.json``), which is what a real training run should use.
"""

import glob
import json
import math
import os
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.datasets import BaseDataset

from mcf_mm.registry import DATASETS, TRANSFORMS

DATABASES = ('oulu-npu', 'casia-fasd', 'replay-attack', 'msu-mfsd')
# Each release's groups, in the names its folders / lists use.
SPLITS = {
    'oulu-npu': ('train', 'dev', 'test'),
    'casia-fasd': ('train', 'test'),
    'replay-attack': ('train', 'devel', 'test'),
    'msu-mfsd': ('train', 'test'),
}
OULU_FOLDERS = {'train': 'Train_files', 'dev': 'Dev_files', 'test': 'Test_files'}
OULU_LISTS = {'train': 'Train.txt', 'dev': 'Dev.txt', 'test': 'Test.txt'}
CASIA_LIVE = ('1', '2', 'HR_1')  # 1 normal, 2 low, HR_1 high quality genuine; 3-8 / HR_2-4 attacks
FRAME_RULES = ('uniform', 'ssdg')
Box = Tuple[float, float, float, float]


def sample_frame_indices(num_video_frames: int, num_frames: int, rule: str = 'uniform') -> List[int]:
    """The 0-based frame indices sampled from a video of ``num_video_frames`` frames.

    ``uniform``: the centres of ``num_frames`` equal segments, ``floor((i + 0.5) * n / k)``, i = 0..k-1 (k > n
    gives every frame once). ``ssdg``: SSDG's ``sample_frames``, ``6 + i * floor(n / k)`` (it skips the first 6
    frames; SSDG applies it to the frames MTCNN found a face in, here to all decoded frames); needs n >= 7.
    """
    n, k = int(num_video_frames), int(num_frames)
    if n <= 0 or k <= 0:
        raise ValueError(f'cannot sample {k} frames from a video of {n} frames: both must be > 0.')
    if rule == 'uniform':
        if k >= n:
            return list(range(n))
        return [(2 * i + 1) * n // (2 * k) for i in range(k)]  # exact integer floor
    if rule == 'ssdg':
        step = n // k
        last = 6 + (k - 1) * step
        if step == 0 or last >= n:
            raise ValueError(
                f"frame_rule='ssdg' needs 6 + (num_frames - 1) * floor(n / num_frames) < n; a video of {n} frames "
                f"cannot give {k}: use frame_rule='uniform' or fewer frames."
            )
        return [6 + i * step for i in range(k)]
    raise ValueError(f'unknown frame_rule {rule!r}; choose one of {FRAME_RULES}.')


def video_frame_count(path: str) -> int:
    """The frame count the container reports (``CAP_PROP_FRAME_COUNT``); the frame tool counts by decoding."""
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise FileNotFoundError(f'OpenCV cannot open the video {path} (missing file or no FFmpeg support).')
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    if n <= 0:
        raise ValueError(
            f'{path} reports {n} frames; write a frame cache with tools/dataset_converters/'
            'anti_spoofing_frames.py (it counts the frames by decoding).'
        )
    return n


def read_video_frame(path: str, index: int) -> np.ndarray:
    """Decode frame ``index`` (0-based) of a video: [H, W, 3] BGR uint8, read sequentially (exact)."""
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise FileNotFoundError(f'OpenCV cannot open the video {path}.')
        for _ in range(index):
            if not cap.grab():
                raise ValueError(f'{path} ended before frame {index}.')
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok:
        raise ValueError(f'{path} has no frame {index}.')
    return frame


def read_replay_face_file(path: str) -> Dict[int, Box]:
    """Replay-Attack ``.face`` file: one line per frame ``frame x y width height`` (top-left corner, pixels);
    frames without a face are ``0 0 0 0`` and are left out. Returns {frame: (x1, y1, x2, y2)}."""
    boxes = {}
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise ValueError(f'{path}: expected "frame x y width height", got {line.strip()!r}.')
        f, x, y, w, h = map(float, parts)
        if w > 0 and h > 0:
            boxes[int(f)] = (x, y, x + w, y + h)
    return boxes


def eyes_to_box(eyes: Sequence[float], scale: float = 2.2, shift: float = 0.5) -> Box:
    """A square face box from two eye centres (x1, y1, x2, y2): side ``scale`` x the eye distance, centred
    ``shift`` x the eye distance below the eyes' midpoint (our rule; OULU-NPU ships eyes, not boxes)."""
    xa, ya, xb, yb = map(float, eyes)
    d = math.hypot(xb - xa, yb - ya)
    if d <= 0:
        raise ValueError(f'eye positions {eyes} coincide: no box can be made from them.')
    cx, cy = (xa + xb) / 2, (ya + yb) / 2 + shift * d
    half = scale * d / 2
    return (cx - half, cy - half, cx + half, cy + half)


def read_oulu_eye_file(path: str, scale: float = 2.2, shift: float = 0.5) -> Dict[int, Box]:
    """OULU-NPU ``<video>.txt``: one line per frame, ``frame,x,y,x,y`` (the two eye centres, pixels). Line i
    (0-based) is frame i, as public readers index it; lines whose eyes coincide (no detection) are left out."""
    boxes = {}
    rows = [line for line in open(path) if line.strip()]
    for i, line in enumerate(rows):
        parts = [p for p in re.split(r'[,\s]+', line.strip()) if p]
        if len(parts) != 5:
            raise ValueError(f'{path}: expected "frame,x1,y1,x2,y2", got {line.strip()!r}.')
        eyes = [float(p) for p in parts[1:]]
        if eyes[0] == eyes[2] and eyes[1] == eyes[3]:
            continue
        boxes[i] = eyes_to_box(eyes, scale, shift)
    return boxes


def nearest_box(boxes: Dict[int, Box], frame: int) -> Optional[Box]:
    """The box of ``frame``, else of the nearest frame that has one (earlier frame on ties); None if none."""
    if frame in boxes:
        return boxes[frame]
    if not boxes:
        return None
    best = min(boxes, key=lambda f: (abs(f - frame), f))
    return boxes[best]


def _files(root: str, pattern: str) -> List[str]:
    return sorted(glob.glob(osp.join(root, pattern), recursive=True))


def _need_dir(path: str, database: str, what: str) -> None:
    if not osp.isdir(path):
        raise FileNotFoundError(
            f'{database}: {what} {path} is missing; see configs/face_classification/anti_spoofing/README.md for '
            'the release layout (data_root points at the folder that holds it).'
        )


@DATASETS.register_module()
class AntiSpoofingDataset(BaseDataset):
    """Sampled frames of one anti-spoofing release (``database``), from its original folders.

    Args:
        data_root: the release's folder.
        database: one of ``oulu-npu``, ``casia-fasd``, ``replay-attack``, ``msu-mfsd``.
        splits: the release's groups to read (names in ``SPLITS``: OULU ``train/dev/test``, Replay
            ``train/devel/test``, CASIA and MSU ``train/test``).
        num_frames: frames sampled per video by ``frame_rule`` (see :func:`sample_frame_indices`).
        frame_rule: ``uniform`` (default) or ``ssdg``.
        domain: the ``domain`` metainfo of every sample (default: ``database``); the metric tells source
            calibration data from the target by it.
        oulu_protocol: OULU-NPU only: a protocol folder (e.g. ``Protocol_1``) whose ``Train/Dev/Test.txt`` lists
            filter the videos and must agree with the live/attack label of each file name; None reads every
            ``.avi`` of the split folders (the cross-domain convention).
        frame_cache: the output folder of ``tools/dataset_converters/anti_spoofing_frames.py`` for this release
            (frames read from there, frame counts and boxes from its ``index.json``); None decodes the videos.
        box_file: a JSON ``{video: {frame: [x1, y1, x2, y2]}}`` (the frame tool writes one as ``boxes.json``);
            it is the box source for CASIA-FASD and MSU-MFSD, which ship no face boxes, and replaces the
            provided boxes of the other two when given.
        replay_face_dir: Replay-Attack's face-locations folder, relative to ``data_root``.
        eye_box_scale, eye_box_shift: OULU-NPU's eyes-to-box rule (:func:`eyes_to_box`).
        require_boxes: raise when a video has no box at all (True); False leaves ``face_box`` out.
    """

    METAINFO = {'classes': ('attack', 'live')}

    def __init__(
        self,
        data_root: str,
        database: str,
        splits: Union[str, Sequence[str]] = ('train',),
        num_frames: int = 1,
        frame_rule: str = 'uniform',
        domain: Optional[str] = None,
        oulu_protocol: Optional[str] = None,
        frame_cache: Optional[str] = None,
        box_file: Optional[str] = None,
        replay_face_dir: str = 'face-locations',
        eye_box_scale: float = 2.2,
        eye_box_shift: float = 0.5,
        require_boxes: bool = True,
        **kwargs,
    ) -> None:
        if database not in DATABASES:
            raise ValueError(f'unknown database {database!r}; choose one of {DATABASES}.')
        splits = (splits,) if isinstance(splits, str) else tuple(splits)
        bad = [s for s in splits if s not in SPLITS[database]]
        if bad or not splits:
            raise ValueError(f'{database} has the splits {SPLITS[database]}; got {splits}.')
        sample_frame_indices(max(7 + num_frames, num_frames * 8), num_frames, frame_rule)  # checks rule and k
        self.database, self.splits, self.num_frames, self.frame_rule = database, splits, num_frames, frame_rule
        self.domain = domain or database
        self.oulu_protocol, self.replay_face_dir = oulu_protocol, replay_face_dir
        self.frame_cache, self.box_file, self.require_boxes = frame_cache, box_file, require_boxes
        self.eye_box_scale, self.eye_box_shift = eye_box_scale, eye_box_shift
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    # ---- the releases' layouts: (video id, path, label, split) -----------------------------------------
    def list_videos(self) -> List[dict]:
        """Every video of the chosen splits: dicts with ``video`` (id relative to ``data_root``, no extension),
        ``video_path``, ``gt_label`` and ``split``."""
        reader: Callable[[str], List[dict]] = getattr(self, '_list_' + self.database.split('-')[0])
        videos = []
        for split in self.splits:
            found = reader(split)
            if not found:
                raise FileNotFoundError(f'{self.database}: no videos for split {split!r} under {self.data_root}.')
            videos += found
        return videos

    def _entry(self, path: str, label: int, split: str) -> dict:
        vid = osp.splitext(osp.relpath(path, self.data_root))[0].replace(os.sep, '/')
        return dict(video=vid, video_path=path, gt_label=int(label), split=split)

    def _list_oulu(self, split: str) -> List[dict]:
        folder = osp.join(self.data_root, OULU_FOLDERS[split])
        _need_dir(folder, self.database, 'the split folder')
        paths = _files(folder, '*.avi')
        wanted = None
        if self.oulu_protocol is not None:
            lst = osp.join(self.data_root, 'Protocols', self.oulu_protocol, OULU_LISTS[split])
            if not osp.isfile(lst):
                raise FileNotFoundError(
                    f'oulu-npu: protocol list {lst} is missing (oulu_protocol='
                    f'{self.oulu_protocol!r}; Protocol_4 and Protocol_3 name Train_1.txt ...).'
                )
            wanted = {}
            for line in open(lst):
                if line.strip():
                    sign, name = line.strip().split(',')
                    wanted[name.strip()] = int(sign) > 0
        out = []
        for p in paths:
            name = osp.splitext(osp.basename(p))[0]  # Phone_Session_User_File, File 1 live, 2-3 print, 4-5 replay
            fields = name.split('_')
            if len(fields) != 4:
                raise ValueError(f'oulu-npu: {p} is not named Phone_Session_User_File.avi.')
            live = fields[3] == '1'
            if wanted is not None:
                if name not in wanted:
                    continue
                if wanted[name] != live:
                    raise ValueError(
                        f'oulu-npu: the protocol list says {name} is {"live" if wanted[name] else "an attack"}, '
                        'its file name (File 1 = live) says otherwise.'
                    )
            out.append(self._entry(p, live, split))
        return out

    def _list_casia(self, split: str) -> List[dict]:
        folder = osp.join(self.data_root, f'{split}_release')
        _need_dir(folder, self.database, 'the split folder')
        return [
            self._entry(p, osp.splitext(osp.basename(p))[0] in CASIA_LIVE, split) for p in _files(folder, '*/*.avi')
        ]

    def _list_replay(self, split: str) -> List[dict]:
        folder = osp.join(self.data_root, split)
        _need_dir(folder, self.database, 'the split folder')
        real = [self._entry(p, 1, split) for p in _files(folder, 'real/*.mov')]
        attack = [self._entry(p, 0, split) for p in _files(folder, 'attack/*/*.mov')]
        return real + attack

    def _list_msu(self, split: str) -> List[dict]:
        lst = osp.join(self.data_root, f'{split}_sub_list.txt')
        if not osp.isfile(lst):
            raise FileNotFoundError(f'msu-mfsd: {lst} (the subject list of the {split} split) is missing.')
        subjects = {int(s) for s in open(lst).read().split()}
        out = []
        for p in sorted(
            _files(self.data_root, '**/real/*.mp4')
            + _files(self.data_root, '**/real/*.mov')
            + _files(self.data_root, '**/attack/*.mp4')
            + _files(self.data_root, '**/attack/*.mov')
        ):
            name = osp.basename(p)
            m = re.match(r'(real|attack)_client(\d+)_', name)
            if m is None:
                raise ValueError(f'msu-mfsd: {p} is not named real_clientNNN_... or attack_clientNNN_....')
            if int(m.group(2)) in subjects:
                out.append(self._entry(p, m.group(1) == 'real', split))
        return out

    # ---- boxes ---------------------------------------------------------------------------------------
    def provided_boxes(self, entry: dict) -> Optional[Dict[int, Box]]:
        """{frame: box} from the release's own files (Replay-Attack, OULU-NPU); None for the other two."""
        if self.database == 'replay-attack':
            rel = osp.relpath(entry['video_path'], self.data_root)
            face = osp.join(self.data_root, self.replay_face_dir, osp.splitext(rel)[0] + '.face')
            if not osp.isfile(face):
                raise FileNotFoundError(
                    f'replay-attack: face-locations file {face} is missing (replay_face_dir='
                    f'{self.replay_face_dir!r}); or pass box_file= from the frame tool.'
                )
            return read_replay_face_file(face)
        if self.database == 'oulu-npu':
            eyes = osp.splitext(entry['video_path'])[0] + '.txt'
            if not osp.isfile(eyes):
                raise FileNotFoundError(f'oulu-npu: eye-position file {eyes} is missing; or pass box_file=.')
            return read_oulu_eye_file(eyes, self.eye_box_scale, self.eye_box_shift)
        return None

    def load_data_list(self) -> List[dict]:
        index, boxes_json = {}, None
        if self.frame_cache is not None:
            path = osp.join(self.frame_cache, 'index.json')
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'frame cache {self.frame_cache} has no index.json: run '
                    'tools/dataset_converters/anti_spoofing_frames.py for it.'
                )
            index = json.load(open(path))
        if self.box_file is not None:
            boxes_json = json.load(open(self.box_file))
        elif self.database in ('casia-fasd', 'msu-mfsd') and self.require_boxes and not index:
            raise ValueError(
                f'{self.database} ships no face boxes: pass box_file= (or frame_cache=) written by '
                'tools/dataset_converters/anti_spoofing_frames.py --detector mtcnn, or require_boxes=False.'
            )
        data_list = []
        for entry in self.list_videos():
            vid = entry['video']
            cached = index.get(vid) if index else None
            if index and cached is None:
                raise KeyError(f'frame cache {self.frame_cache} has no video {vid}: rerun the frame tool.')
            n = cached['num_video_frames'] if cached else video_frame_count(entry['video_path'])
            if boxes_json is not None:
                boxes = {int(k): tuple(v) for k, v in boxes_json.get(vid, {}).items()}
            elif cached is not None and cached.get('boxes') is not None:
                boxes = {int(k): tuple(v) for k, v in cached['boxes'].items()}
            else:
                boxes = self.provided_boxes(entry)
            if self.require_boxes and not boxes:
                raise ValueError(
                    f'{self.database}: video {vid} has no face box in any frame; detect faces with '
                    'tools/dataset_converters/anti_spoofing_frames.py or set require_boxes=False.'
                )
            for f in sample_frame_indices(n, self.num_frames, self.frame_rule):
                info = dict(entry, frame_index=f, domain=self.domain)
                if cached is not None:
                    rel = cached['frames'].get(str(f))
                    if rel is None:
                        raise KeyError(
                            f'frame cache lacks frame {f} of {vid}: rerun the frame tool with this '
                            f'num_frames={self.num_frames} and frame_rule={self.frame_rule!r}.'
                        )
                    info['img_path'] = osp.join(self.frame_cache, rel)
                box = nearest_box(boxes, f) if boxes else None
                if box is not None:
                    info['face_box'] = np.asarray(box, dtype=np.float32)
                data_list.append(info)
        return data_list


@TRANSFORMS.register_module()
class LoadVideoFrame(BaseTransform):
    """Load ``results['img']`` (BGR) from ``img_path`` (a cached frame) when set, else frame ``frame_index`` of
    ``video_path``; sets ``img_shape`` and ``ori_shape`` as mmpretrain's ``LoadImageFromFile`` does."""

    def transform(self, results: dict) -> dict:
        if results.get('img_path'):
            img = cv2.imread(results['img_path'], cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(f'cannot read the cached frame {results["img_path"]}.')
        else:
            img = read_video_frame(results['video_path'], int(results['frame_index']))
        results['img'] = img
        results['img_shape'] = results['ori_shape'] = img.shape[:2]
        return results
