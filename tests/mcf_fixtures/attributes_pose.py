"""Tiny CelebA, AFLW2000-3D and 300W-LP releases in their original file layouts, written into a test's folder."""

import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

CELEBA_NAMES = (
    '5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair '
    'Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup '
    'High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose '
    'Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat '
    'Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young'
).split()


def _image(path: str, h: int, w: int, seed: int) -> None:
    import cv2

    rng = np.random.default_rng(seed)
    cv2.imwrite(path, rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def write_celeba(root: str, partitions: Sequence[int] = (0, 0, 0, 0, 1, 1, 2, 2), seed: int = 0) -> np.ndarray:
    """CelebA release below ``root``: ``img_align_celeba/`` (tiny 22 x 18 JPEGs, the 218 x 178 aspect),
    ``list_attr_celeba.txt`` and ``list_eval_partition.txt``; image i gets partition ``partitions[i]``.

    Returns the attribute matrix written, [N, 40] in {-1, 1}.
    """
    rng = np.random.default_rng(seed)
    n = len(partitions)
    values = rng.choice([-1, 1], size=(n, 40))
    os.makedirs(osp.join(root, 'img_align_celeba'), exist_ok=True)
    lines = [str(n), ' '.join(CELEBA_NAMES)]
    for i in range(n):
        name = f'{i + 1:06d}.jpg'
        _image(osp.join(root, 'img_align_celeba', name), 22, 18, seed + i)
        # the release pads the values with double spaces where a value is positive
        lines.append(name + ''.join(f' {v:2d}' for v in values[i]))
    with open(osp.join(root, 'list_attr_celeba.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(root, 'list_eval_partition.txt'), 'w') as f:
        f.write(''.join(f'{i + 1:06d}.jpg {p}\n' for i, p in enumerate(partitions)))
    return values


def write_pose_pair(
    folder: str,
    stem: str,
    pose_rad: Sequence[float],
    pt2d: np.ndarray,
    size: int = 48,
    seed: int = 0,
    extra: Optional[Dict[str, np.ndarray]] = None,
) -> str:
    """One image + .mat pair: ``Pose_Para`` [1, 7] = (pitch, yaw, roll, tx, ty, tz, scale) with the given
    angles in radians, ``pt2d`` [2, K] (and ``extra`` fields), as AFLW2000-3D / 300W-LP store them."""
    from scipy.io import savemat

    os.makedirs(folder, exist_ok=True)
    _image(osp.join(folder, stem + '.jpg'), size, size, seed)
    pose = np.array([list(pose_rad) + [10.0, 20.0, 30.0, 0.001]], dtype=np.float32)  # [1, 7]
    fields = {'Pose_Para': pose, 'pt2d': np.asarray(pt2d, dtype=np.float64)}
    fields.update(extra or {})
    savemat(osp.join(folder, stem + '.mat'), fields)
    return osp.join(folder, stem + '.jpg')


def face_points(rng: np.random.Generator, k: int, size: int = 48) -> np.ndarray:
    """[2, K] points inside the central part of a size x size image."""
    return rng.uniform(size * 0.2, size * 0.8, size=(2, k))


def write_aflw2000(root: str, poses_deg: Sequence[Sequence[float]], seed: int = 0) -> List[dict]:
    """AFLW2000-3D folder: one pair per (pitch, yaw, roll) in degrees; 21 points, the last two missing
    (x = -1, y = 452 as in the release). Returns what was written per image (stem, pose_deg, pt2d)."""
    rng = np.random.default_rng(seed)
    out = []
    for i, pose in enumerate(poses_deg):
        pts = face_points(rng, 21)
        pts[:, -2:] = [[-1.0, -1.0], [452.0, 452.0]]
        stem = f'image{i:05d}'
        write_pose_pair(root, stem, np.radians(pose), pts, seed=seed + i, extra={'pt3d_68': np.zeros((3, 68))})
        out.append(dict(stem=stem, pose_deg=tuple(pose), pt2d=pts))
    return out


def write_300w_lp(root: str, per_folder: int = 2, seed: int = 0) -> Dict[str, List[str]]:
    """300W-LP folders AFW, HELEN, IBUG, LFPW and their _Flip copies, ``per_folder`` pairs each (68 points), plus
    the release's ``landmarks/`` folder (not an image folder). Returns {folder: [stems]}."""
    rng = np.random.default_rng(seed)
    written = {}
    for sub in ('AFW', 'HELEN', 'IBUG', 'LFPW'):
        for folder in (sub, sub + '_Flip'):
            stems = []
            for j in range(per_folder):
                stem = f'{sub}_{100 + j}_1_{j}'
                sign = -1.0 if folder.endswith('_Flip') else 1.0
                pose = np.radians([10.0 * (j + 1), sign * 20.0, sign * 5.0])
                write_pose_pair(osp.join(root, folder), stem, pose, face_points(rng, 68), seed=seed + j)
                stems.append(stem)
            written[folder] = stems
    os.makedirs(osp.join(root, 'landmarks', 'AFW'), exist_ok=True)
    return written
