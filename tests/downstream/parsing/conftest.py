"""Tiny face-parsing fixtures written in the ORIGINAL release layouts of LaPa, CelebAMask-HQ and FASSEG."""

import os
import os.path as osp

import cv2
import numpy as np
import pytest

# Synthetic "face": class id -> BGR colour, drawn as ellipses so every class covers some pixels.
_COLOURS = np.array(
    [
        [30, 30, 30],
        [140, 170, 220],
        [40, 60, 90],
        [200, 200, 255],
        [90, 90, 200],
        [60, 120, 60],
        [120, 60, 160],
        [10, 200, 200],
        [220, 120, 40],
        [180, 40, 40],
        [90, 40, 20],
    ],
    np.uint8,
)


def draw_face(h: int, w: int, rng: np.random.RandomState, lapa_ids: bool = True):
    """Returns (BGR image, LaPa-style label map, 5 points: eyes, nose, mouth corners)."""
    label = np.zeros((h, w), np.uint8)
    cx, cy = w / 2 + rng.uniform(-2, 2), h / 2 + rng.uniform(-2, 2)
    s = min(h, w) / 48.0

    def ell(c, ax, v):
        cv2.ellipse(label, (int(c[0]), int(c[1])), (int(ax[0]), int(ax[1])), 0, 0, 360, int(v), -1)

    ell((cx, cy - 12 * s), (17 * s, 10 * s), 10)  # hair
    ell((cx, cy), (14 * s, 18 * s), 1)  # skin
    le, re = (cx - 6 * s, cy - 4 * s), (cx + 6 * s, cy - 4 * s)
    ell((le[0], le[1] - 3 * s), (3 * s, 1 * s), 2)
    ell((re[0], re[1] - 3 * s), (3 * s, 1 * s), 3)
    ell(le, (2 * s, 1.2 * s), 4)
    ell(re, (2 * s, 1.2 * s), 5)
    nose = (cx, cy + 2 * s)
    ell(nose, (2 * s, 3 * s), 6)
    ell((cx, cy + 8 * s), (5 * s, 1 * s), 7)
    ell((cx, cy + 9.5 * s), (4 * s, 0.7 * s), 8)
    ell((cx, cy + 11 * s), (5 * s, 1 * s), 9)
    img = _COLOURS[label].astype(np.int16) + rng.randint(-10, 10, size=(h, w, 3))
    pts = np.array([le, re, nose, (cx - 5 * s, cy + 9.5 * s), (cx + 5 * s, cy + 9.5 * s)], np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), label, pts


def write_lapa(root: str, counts=dict(train=3, val=2, test=2), size=(48, 56), seed=0) -> str:
    rng = np.random.RandomState(seed)
    for split, n in counts.items():
        for sub in ('images', 'labels', 'landmarks'):
            os.makedirs(osp.join(root, split, sub), exist_ok=True)
        for i in range(n):
            name = f'{split}_{i:03d}'
            img, label, five = draw_face(size[0] + i, size[1] - i, rng)
            lmk = rng.uniform(5, 40, size=(106, 2)).astype(np.float32)
            lmk[[104, 105, 54, 84, 90]] = five
            cv2.imwrite(osp.join(root, split, 'images', name + '.jpg'), img)
            cv2.imwrite(osp.join(root, split, 'labels', name + '.png'), label)
            with open(osp.join(root, split, 'landmarks', name + '.txt'), 'w') as f:
                f.write('106\n' + ''.join(f'{x:.4f} {y:.4f}\n' for x, y in lmk))
    return root


# CelebA-HQ index -> (CelebA file, partition)
CELEBA_FIXTURE = {
    0: ('000005.jpg', 0),
    1: ('000017.jpg', 0),
    2: ('000002.jpg', 0),
    3: ('182700.jpg', 1),
    4: ('190001.jpg', 2),
    5: ('200000.jpg', 2),
}


def write_celebamask_hq(root: str, img_size=64, mask_size=32, seed=0) -> str:
    """Release layout: CelebA-HQ-img/{i}.jpg, CelebAMask-HQ-mask-anno/0/{i:05d}_{part}.png, mapping file,
    plus CelebA's list_eval_partition.txt. Parts overlap so the painting order matters."""
    rng = np.random.RandomState(seed)
    os.makedirs(osp.join(root, 'CelebA-HQ-img'), exist_ok=True)
    os.makedirs(osp.join(root, 'CelebAMask-HQ-mask-anno', '0'), exist_ok=True)
    with open(osp.join(root, 'CelebA-HQ-to-CelebA-mapping.txt'), 'w') as f:
        f.write('idx         orig_idx    orig_file\n')
        for i, (name, _) in CELEBA_FIXTURE.items():
            f.write(f'{i:<12d}{int(name[:6]) - 1:<12d}{name}\n')
    with open(osp.join(root, 'list_eval_partition.txt'), 'w') as f:
        extra = {'000001.jpg': 0, '000003.jpg': 0, '182638.jpg': 1}  # CelebA images not in CelebA-HQ
        rows = sorted(list(extra.items()) + [(n, p) for n, p in CELEBA_FIXTURE.values()])
        f.writelines(f'{n} {p}\n' for n, p in rows)
    m = mask_size
    for i in CELEBA_FIXTURE:
        img, _, _ = draw_face(img_size, img_size, rng)
        cv2.imwrite(osp.join(root, 'CelebA-HQ-img', f'{i}.jpg'), img)
        parts = {
            'skin': (slice(4, 28), slice(6, 26)),
            'neck': (slice(20, 32), slice(10, 22)),
            'cloth': (slice(28, 32), slice(0, 32)),
            'hair': (slice(0, 10), slice(4, 28)),
            'l_eye': (slice(12, 14), slice(9, 13)),
            'r_eye': (slice(12, 14), slice(19, 23)),
            'eye_g': (slice(11, 15), slice(8, 24)),
            'nose': (slice(14, 19), slice(14, 18)),
            'u_lip': (slice(20, 22), slice(12, 20)),
            'l_lip': (slice(21, 23), slice(12, 20)),
            'neck_l': (slice(26, 28), slice(12, 20)),
        }
        if i % 2:  # some images lack some parts, as in the release
            parts.pop('eye_g')
        for part, (ys, xs) in parts.items():
            mask = np.zeros((m, m, 3), np.uint8)  # the release's masks are 3-channel, 0/255
            mask[ys, xs] = 255
            cv2.imwrite(osp.join(root, 'CelebAMask-HQ-mask-anno', '0', f'{i:05d}_{part}.png'), mask)
    return root


def write_fasseg(root: str, seed=0) -> str:
    """V1 images + V2 index labels (frontal) and V3 pose folders; one V3 test pair has mismatched sizes."""
    rng = np.random.RandomState(seed)
    lapa_to_fasseg = np.array([0, 1, 2, 2, 3, 3, 4, 5, 5, 5, 2], np.uint8)

    def put(img_path, lab_path, h, w, lab_hw=None):
        img, label, _ = draw_face(h, w, rng)
        os.makedirs(osp.dirname(img_path), exist_ok=True)
        os.makedirs(osp.dirname(lab_path), exist_ok=True)
        cv2.imwrite(img_path, img)
        label = lapa_to_fasseg[label]
        if lab_hw is not None:
            label = cv2.resize(label, lab_hw[::-1], interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(lab_path, label)

    for split, n in (('Train', 4), ('Test', 2)):
        for i in range(1, n + 1):
            put(
                osp.join(root, 'V1', f'{split}_RGB', f'{i}.png'),
                osp.join(root, 'V2', f'{split}_LabelIndex', f'{i}.png'),
                48,
                36 + i,
            )
    for split, lab_dir, poses in (
        ('Train', 'Train_labelindex', ('0', '-15')),
        ('Test', 'Test_labelindex', ('0', '+30')),
    ):
        for pose in poses:
            name = f'personne01146+0{pose if pose != "0" else "+0"}.png'
            put(osp.join(root, 'V3', f'{split}_RGB', pose, name), osp.join(root, 'V3', lab_dir, pose, name), 48, 40)
    put(
        osp.join(root, 'V3', 'Test_RGB', '+30', 'personne15248+0+30.png'),
        osp.join(root, 'V3', 'Test_labelindex', '+30', 'personne15248+0+30.png'),
        48,
        40,
        lab_hw=(48, 44),
    )
    return root


@pytest.fixture(scope='session')
def lapa_root(tmp_path_factory) -> str:
    return write_lapa(str(tmp_path_factory.mktemp('LaPa')))


@pytest.fixture(scope='session')
def celebamask_root(tmp_path_factory) -> str:
    return write_celebamask_hq(str(tmp_path_factory.mktemp('CelebAMask-HQ')))


@pytest.fixture(scope='session')
def fasseg_root(tmp_path_factory) -> str:
    return write_fasseg(str(tmp_path_factory.mktemp('fasseg')))
