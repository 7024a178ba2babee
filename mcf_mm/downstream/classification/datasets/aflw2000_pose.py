"""Head pose from image + ``.mat`` pairs: AFLW2000-3D (test) and 300W-LP (train), their original layouts.

Each ``.mat`` holds ``Pose_Para`` [1, 7] = (pitch, yaw, roll, tx, ty, tz, scale), angles in radians, and
``pt2d`` [2, K] 2-D landmarks (AFLW2000-3D: the 21 AFLW points, missing ones marked with x = -1; 300W-LP: 68).

Layouts below ``data_root``::

    AFLW2000/                     300W_LP/
        image00002.jpg                AFW/<name>.jpg + <name>.mat     (also HELEN, IBUG, LFPW)
        image00002.mat                AFW_Flip/...                    (mirrored copies, their own .mat)
        ...                           landmarks/, Code/               (not read)
"""

import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset

from mcf_mm.registry import DATASETS

POSE_TARGETS = ('yaw', 'pitch', 'roll')
W300LP_SUBSETS = ('AFW', 'HELEN', 'IBUG', 'LFPW')
IMG_EXTS = ('.jpg', '.png', '.jpeg')


def pose_degrees(pose_para: np.ndarray) -> np.ndarray:
    """``Pose_Para`` (pitch, yaw, roll, ... in radians) -> float32 [3] (yaw, pitch, roll) in degrees."""
    p = np.asarray(pose_para, dtype=np.float64).ravel()
    if p.size < 3:
        raise ValueError(f'Pose_Para needs at least (pitch, yaw, roll), got {p.size} values.')
    pitch, yaw, roll = np.degrees(p[:3])
    return np.array([yaw, pitch, roll], dtype=np.float32)


def landmark_box(pt2d: np.ndarray) -> np.ndarray:
    """Tight box (x1, y1, x2, y2) of the valid 2-D landmarks of a [2, K] ``pt2d``; points with a negative or
    non-finite coordinate are missing (AFLW2000-3D writes x = -1 for them) and left out."""
    pts = np.asarray(pt2d, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != 2:
        raise ValueError(f'pt2d must be [2, K], got shape {pts.shape}.')
    valid = np.isfinite(pts).all(0) & (pts >= 0).all(0)  # [K]
    if valid.sum() < 2:
        raise ValueError(f'pt2d has {int(valid.sum())} valid points, need 2 for a face box.')
    xy = pts[:, valid]
    box = np.array([xy[0].min(), xy[1].min(), xy[0].max(), xy[1].max()], dtype=np.float32)
    if box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError(f'pt2d spans an empty box {box.tolist()}.')
    return box


@DATASETS.register_module()
class HeadPoseMatDataset(BaseDataset):
    """Images with ``.mat`` pose annotations (AFLW2000-3D / 300W-LP).

    Each sample: ``img_path``, ``gt_value`` float32 [3] = (yaw, pitch, roll) in degrees (``Pose_Para`` holds
    pitch, yaw, roll in radians) and ``face_box`` float32 [4] = the tight (x1, y1, x2, y2) box of the valid
    ``pt2d`` landmarks, for ``CropFaceBox(size, margin)``: the crop is the square of side
    ``max(box w, h) * (1 + 2 * margin)`` about the box centre (the configs use margin 0.3: the 2-D
    landmarks stop at the brows, the margin brings in forehead, chin and ears).

    Args:
        data_root: the folder of the release (``AFLW2000`` or ``300W_LP``).
        layout: 'aflw2000' (pairs directly in ``data_root``) or '300w_lp' (pairs in the ``subsets`` folders).
        subsets: 300W-LP folders to read (default AFW, HELEN, IBUG, LFPW).
        with_flip: 300W-LP only: also read each subset's ``<name>_Flip`` copy.
        max_abs: keep only faces whose yaw, pitch and roll all lie within +-max_abs degrees (e.g. 99, the
            common AFLW2000-3D protocol); None keeps every face.
        **kwargs: the rest of mmpretrain's ``BaseDataset`` (pipeline, test_mode, indices, ...).
    """

    METAINFO = dict(targets=POSE_TARGETS)

    def __init__(
        self,
        data_root: str,
        layout: str = 'aflw2000',
        subsets: Optional[Sequence[str]] = None,
        with_flip: bool = True,
        max_abs: Optional[float] = None,
        **kwargs,
    ) -> None:
        if layout not in ('aflw2000', '300w_lp'):
            raise ValueError(f'HeadPoseMatDataset layout must be "aflw2000" or "300w_lp", got {layout!r}.')
        if subsets is not None and layout != '300w_lp':
            raise ValueError('HeadPoseMatDataset subsets apply to layout="300w_lp" only.')
        if max_abs is not None and max_abs <= 0:
            raise ValueError(f'HeadPoseMatDataset max_abs must be > 0 degrees or None, got {max_abs}.')
        self.layout, self.max_abs = layout, max_abs
        self.subsets = list(subsets) if subsets is not None else list(W300LP_SUBSETS)
        self.with_flip = with_flip
        self.num_filtered = 0
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def _folders(self) -> List[str]:
        if self.layout == 'aflw2000':
            return [self.data_root]
        names = self.subsets + ([f'{s}_Flip' for s in self.subsets] if self.with_flip else [])
        return [osp.join(self.data_root, n) for n in names]

    def load_data_list(self) -> List[dict]:
        from scipy.io import loadmat

        if not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'HeadPoseMatDataset data_root {self.data_root} is not a folder: set it to the AFLW2000 or '
                '300W_LP folder of the original release.'
            )
        data_list, self.num_filtered = [], 0
        for folder in self._folders():
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'300W-LP folder {folder} not found: data_root must hold {", ".join(self.subsets)} '
                    f'{"and their _Flip copies " if self.with_flip else ""}(or set subsets / with_flip=False).'
                )
            files = sorted(os.listdir(folder))
            mats = [f for f in files if f.endswith('.mat')]
            if not mats:
                raise FileNotFoundError(f'no .mat annotation in {folder}: is it the original release folder?')
            images = {osp.splitext(f)[0]: f for f in files if f.lower().endswith(IMG_EXTS)}
            for mat_name in mats:
                stem = osp.splitext(mat_name)[0]
                mat_path = osp.join(folder, mat_name)
                if stem not in images:
                    raise FileNotFoundError(f'{mat_path} has no image {stem}.jpg next to it.')
                mat = loadmat(mat_path, variable_names=['Pose_Para', 'pt2d'])
                missing = {'Pose_Para', 'pt2d'} - set(mat)
                if missing:
                    raise KeyError(f'{mat_path} lacks {sorted(missing)}: an AFLW2000-3D / 300W-LP .mat has both.')
                try:
                    gt_value, face_box = pose_degrees(mat['Pose_Para']), landmark_box(mat['pt2d'])
                except ValueError as err:
                    raise ValueError(f'{mat_path}: {err}') from err
                if self.max_abs is not None and np.abs(gt_value).max() > self.max_abs:
                    self.num_filtered += 1
                    continue
                data_list.append(dict(img_path=osp.join(folder, images[stem]), gt_value=gt_value, face_box=face_box))
        if not data_list:
            raise ValueError(f'HeadPoseMatDataset found no face within max_abs={self.max_abs} in {self.data_root}.')
        return data_list
