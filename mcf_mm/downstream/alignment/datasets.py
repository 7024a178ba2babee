"""Face landmark datasets read from their ORIGINAL annotation releases (mmpose DATASETS).

- AFLW-19: ``AFLWinfo_release.mat`` (bbox [x1 x2 y1 y2], data [x1..x19 y1..y19], mask_new, nameList, ra).
- 300W / WFLW: HRNet CSVs (image_name, scale, center_w, center_h, x0, y0, ...; box side = 200 * scale).
- Helen-29: ``helen.mat`` (imgs, Pts 2x29) with a deterministic split by sorted file name.
Every instance carries ``subsets`` (names it belongs to) so one test run reports all subsets.
"""

import csv
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.registry import DATASETS


def landmark_metainfo(name: str, num_keypoints: int) -> dict:
    """mmpose metainfo for K unnamed landmarks without flip pairs (the protocol never flips)."""
    return dict(
        dataset_name=name,
        keypoint_info={
            i: dict(name=f'kpt-{i}', id=i, color=[255, 0, 0], type='', swap='') for i in range(num_keypoints)
        },
        skeleton_info={},
        joint_weights=[1.0] * num_keypoints,
        sigmas=[0.025] * num_keypoints,
    )


def _instance(
    idx: int,
    img_path: str,
    box: Sequence[float],
    points: np.ndarray,
    visible: Optional[np.ndarray] = None,
    subsets: Sequence[str] = (),
) -> dict:
    k = points.shape[0]
    vis = np.ones(k, dtype=np.float32) if visible is None else np.asarray(visible, dtype=np.float32)
    return dict(
        id=idx,
        img_id=idx,
        img_path=img_path,
        bbox=np.asarray(box, dtype=np.float32).reshape(1, 4),
        bbox_score=np.ones(1, dtype=np.float32),
        num_keypoints=k,
        keypoints=np.asarray(points, dtype=np.float32).reshape(1, k, 2),
        keypoints_visible=vis.reshape(1, k),
        iscrowd=0,
        subsets=list(subsets),
    )


def _require(path: str, what: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{what} not found: {path}. Set data_root / ann_file in the config to where '
            'the original annotation release lies.'
        )


class _FaceLandmarkDataset(BaseCocoStyleDataset):
    """Top-down face dataset whose ``_load_annotations`` parses an original release (no COCO JSON)."""

    def _read_instances(self) -> List[dict]:
        raise NotImplementedError

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        instances = self._read_instances()
        images = [dict(img_id=i['img_id'], img_path=i['img_path']) for i in instances]
        return instances, images


@DATASETS.register_module()
class AFLW19MatDataset(_FaceLandmarkDataset):
    """AFLW-19 from ``AFLWinfo_release.mat``: train = first 20,000 of ``ra``, test = the rest (4,386);
    test faces with all 19 points visible are tagged ``frontal``. Box = the released box (not squared).

    Args:
        ann_file: path of ``AFLWinfo_release.mat``.
        split: 'train' | 'test'.
        num_train: size of the train split (20,000).
        data_prefix: dict(img=folder the ``nameList`` entries are relative to, e.g. 'data/flickr/').
    """

    METAINFO = landmark_metainfo('aflw19', 19)

    def __init__(self, *args, split: str = 'train', num_train: int = 20000, **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f'AFLW19MatDataset split must be "train" or "test", got {split!r}.')
        self.split, self.num_train = split, num_train
        super().__init__(*args, **kwargs)

    def _read_instances(self) -> List[dict]:
        from scipy.io import loadmat

        _require(self.ann_file, 'AFLWinfo_release.mat')
        info = loadmat(self.ann_file)
        missing = {'bbox', 'data', 'mask_new', 'nameList', 'ra'} - set(info)
        if missing:
            raise KeyError(f'{self.ann_file} lacks {sorted(missing)}: is it the original AFLWinfo_release.mat?')
        boxes = np.asarray(info['bbox'], dtype=np.float64)  # [F, 4] x1 x2 y1 y2
        data = np.asarray(info['data'], dtype=np.float64)  # [F, 38] x1..x19 y1..y19
        mask = np.asarray(info['mask_new'])  # [F, 19]
        names = [str(np.asarray(n).ravel()[0]) for n in np.asarray(info['nameList']).ravel()]
        ra = np.asarray(info['ra']).ravel().astype(np.int64) - 1  # MATLAB 1-based permutation
        order = ra[: self.num_train] if self.split == 'train' else ra[self.num_train :]
        out = []
        for i in order:
            pts = data[i].reshape(2, 19).T  # [19, 2]
            x1, x2, y1, y2 = boxes[i]
            frontal = bool(np.all(mask[i] == 1))
            out.append(
                _instance(
                    int(i),
                    osp.join(self.data_prefix['img'], names[i]),
                    (x1, y1, x2, y2),
                    pts,
                    mask[i],
                    ['frontal'] if frontal else [],
                )
            )
        return out


def read_hrnet_csv(path: str, num_keypoints: int) -> List[Tuple[str, float, float, float, np.ndarray]]:
    """Rows (image_name, scale, center_w, center_h, points [K, 2]) of an HRNet landmark CSV."""
    _require(path, 'HRNet landmark CSV')
    rows = []
    with open(path, newline='') as f:
        for n, row in enumerate(csv.reader(f)):
            if not row:
                continue
            try:
                vals = [float(v) for v in row[1:]]
            except ValueError:
                if n == 0:
                    continue  # header line
                raise ValueError(f'{path}:{n + 1}: non-numeric value in {row[:6]}...')
            if len(vals) != 3 + 2 * num_keypoints:
                raise ValueError(
                    f'{path}:{n + 1}: expected {4 + 2 * num_keypoints} columns (image, scale, '
                    f'center_w, center_h, {num_keypoints} x/y pairs), got {len(row)}; '
                    'is this the right dataset type?'
                )
            rows.append((row[0], vals[0], vals[1], vals[2], np.asarray(vals[3:]).reshape(-1, 2)))
    return rows


class _HRNetCSVDataset(_FaceLandmarkDataset):
    """Faces from an HRNet CSV; rows also found in ``subset_files`` are tagged with those subset names.

    Args:
        ann_file: the CSV of the split (e.g. face_landmarks_300w_valid.csv = 300W full test set).
        subset_files: subset name -> CSV (paths relative to data_root), e.g.
            dict(common='face_landmarks_300w_valid_common.csv').
        box_unit: pixels per unit of ``scale`` (HRNet: 200).
    """

    NUM_KEYPOINTS = 0

    def __init__(self, *args, subset_files: Optional[Dict[str, str]] = None, box_unit: float = 200.0, **kwargs) -> None:
        self.subset_files = dict(subset_files or {})
        self.box_unit = box_unit
        super().__init__(*args, **kwargs)

    @staticmethod
    def _key(row) -> tuple:
        return (row[0], round(row[2], 2), round(row[3], 2))

    def _read_instances(self) -> List[dict]:
        rows = read_hrnet_csv(self.ann_file, self.NUM_KEYPOINTS)
        tags: Dict[tuple, List[str]] = {}
        for name, path in self.subset_files.items():
            if self.data_root and not osp.isabs(path):
                path = osp.join(self.data_root, path)
            for row in read_hrnet_csv(path, self.NUM_KEYPOINTS):
                tags.setdefault(self._key(row), []).append(name)
        out = []
        for i, row in enumerate(rows):
            image, scale, cx, cy, pts = row
            half = scale * self.box_unit / 2.0
            out.append(
                _instance(
                    i,
                    osp.join(self.data_prefix['img'], image),
                    (cx - half, cy - half, cx + half, cy + half),
                    pts,
                    subsets=tags.get(self._key(row), []),
                )
            )
        return out


@DATASETS.register_module()
class Face300WCSVDataset(_HRNetCSVDataset):
    """300W (68 points) from HRNet CSVs; test = valid.csv (full, 689) with common/challenging subsets."""

    NUM_KEYPOINTS = 68
    METAINFO = landmark_metainfo('300w', 68)


@DATASETS.register_module()
class WFLWCSVDataset(_HRNetCSVDataset):
    """WFLW (98 points) from HRNet CSVs; test.csv with the 6 attribute subsets as subset_files."""

    NUM_KEYPOINTS = 98
    METAINFO = landmark_metainfo('wflw', 98)


def helen_split(names: Sequence[str], split: str, test_ratio: float) -> List[int]:
    """Indices of a deterministic split by sorted file name: the last ``test_ratio`` are the test set,
    with the boundary moved forward so faces of one photo (``<photo>_<n>.jpg``) stay together."""
    order = sorted(range(len(names)), key=lambda i: names[i])
    cut = int(round(len(order) * (1.0 - test_ratio)))
    photo = lambda i: osp.basename(names[i]).rsplit('_', 1)[0]  # noqa: E731
    while 0 < cut < len(order) and photo(order[cut]) == photo(order[cut - 1]):
        cut += 1
    return order[:cut] if split == 'train' else order[cut:]


@DATASETS.register_module()
class Helen29MatDataset(_FaceLandmarkDataset):
    """Helen re-labelled with the 29 LFPW points (Zhou et al. ICCV'13), from ``helen.mat`` (imgs, Pts 2x29).

    ``Pts`` are MATLAB pixel coordinates (the first pixel's centre is 1); they are read 0-based (minus 1, the first
    pixel's centre at 0, the convention of every other dataset here). Box = the landmarks' bounding box (like the
    HRNet boxes of 300W/WFLW, derived from ground truth). LFPW-29 outer eye corners are points 8 (image-left) and
    9 (image-right), 0-based; pupils 16 and 17.

    Args:
        ann_file: path of ``helen.mat``.
        split: 'train' | 'test' (deterministic, by sorted file name).
        test_ratio: fraction of images in the test split (0.2).
        data_prefix: dict(img=image folder, e.g. 'data/img/').
    """

    METAINFO = landmark_metainfo('helen29', 29)

    def __init__(self, *args, split: str = 'train', test_ratio: float = 0.2, **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f'Helen29MatDataset split must be "train" or "test", got {split!r}.')
        self.split, self.test_ratio = split, test_ratio
        super().__init__(*args, **kwargs)

    def _read_instances(self) -> List[dict]:
        from scipy.io import loadmat

        _require(self.ann_file, 'helen.mat')
        info = loadmat(self.ann_file)
        if 'imgs' not in info or 'Pts' not in info:
            raise KeyError(f'{self.ann_file} lacks "imgs"/"Pts": is it the helen.mat of the EGM release?')
        names = [str(np.asarray(n).ravel()[0]) for n in np.asarray(info['imgs']).ravel()]
        pts_all = [np.asarray(p, dtype=np.float64) for p in np.asarray(info['Pts']).ravel()]
        out = []
        for i in helen_split(names, self.split, self.test_ratio):
            if pts_all[i].shape != (2, 29):
                raise ValueError(f'{names[i]}: expected Pts of shape 2x29, got {pts_all[i].shape}.')
            pts = pts_all[i].T - 1.0  # [29, 2], MATLAB 1-based -> 0-based pixels
            box = (*pts.min(axis=0), *pts.max(axis=0))
            out.append(_instance(i, osp.join(self.data_prefix['img'], names[i]), box, pts))
        return out
