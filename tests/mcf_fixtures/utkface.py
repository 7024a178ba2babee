"""UTKFace fixture in the release's layout: a folder of tiny ``age_gender_race_date.jpg.chip.jpg`` crops."""

import os
import os.path as osp

import numpy as np

# The release's real malformed kind (a missing field), an out-of-range race and a non-integer age.
MALFORMED = ('61_1_20170109142408075.jpg.chip.jpg', '39_0_7_20170116174525125.jpg.chip.jpg', 'x_0_1_2017.jpg.chip.jpg')


def write_utkface(root: str, n: int = 40, seed: int = 0, start: int = 0) -> dict:
    """``n`` tiny crops with real-format names under ``root/UTKFace`` (+ the malformed names, a non-crop file);
    returns {file name: (age, gender, race)} of the well-formed ones."""
    import cv2

    rng = np.random.default_rng(seed)
    folder = osp.join(root, 'UTKFace')
    os.makedirs(folder, exist_ok=True)
    labels = {}
    for i in range(start, start + n):
        age, gender, race = int(rng.integers(1, 100)), int(rng.integers(0, 2)), int(rng.integers(0, 5))
        name = f'{age}_{gender}_{race}_2017010{i % 10}{i:09d}.jpg.chip.jpg'
        cv2.imwrite(osp.join(folder, name), rng.integers(0, 255, (12, 12, 3), dtype=np.uint8))
        labels[name] = (age, gender, race)
    for name in MALFORMED:
        cv2.imwrite(osp.join(folder, name), np.zeros((12, 12, 3), np.uint8))
    with open(osp.join(root, 'README.txt'), 'w') as f:
        f.write('not a crop')
    return labels
