"""Tiny anti-spoofing releases in their original layouts (OULU-NPU, CASIA-FASD, Replay-Attack, MSU-MFSD), written
with cv2.VideoWriter: frame i of every video is a flat image of grey level ``frame_level(i)``, so a test can tell
which frame was decoded; the face boxes the fixtures write are known per frame."""

import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

W, H = 48, 40  # frame size


def frame_level(i: int) -> int:
    """The grey level of frame i (steps of 20: MJPG/MPEG-4 round trips stay within +-5)."""
    return 10 + 20 * (i % 12)


def frame_index_of(img: np.ndarray) -> int:
    """Invert :func:`frame_level` (for frames 0..11)."""
    return int(round((float(img.mean()) - 10) / 20))


def write_video(path: str, n: int) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    codec = 'MJPG' if path.endswith('.avi') else 'mp4v'
    w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*codec), 10, (W, H))
    for i in range(n):
        w.write(np.full((H, W, 3), frame_level(i), np.uint8))
    w.release()
    return path


def face_box(video_no: int, frame: int) -> Tuple[float, float, float, float]:
    """The box the fixtures give frame ``frame`` of their ``video_no``-th video (x1, y1, x2, y2)."""
    x, y = 8 + video_no % 5 + frame % 3, 6 + frame % 4
    return (float(x), float(y), float(x + 20), float(y + 24))


# Each maker returns [(video id, label, split, frame count)] and writes the release below root.


def make_oulu(root: str) -> List[tuple]:
    """Train_files / Dev_files / Test_files with Phone_Session_User_File.avi + .txt eye positions, Protocol_1."""
    plan = {'train': ('Train_files', '01'), 'dev': ('Dev_files', '21'), 'test': ('Test_files', '36')}
    out, no = [], 0
    os.makedirs(osp.join(root, 'Protocols', 'Protocol_1'), exist_ok=True)
    for split, (folder, user) in plan.items():
        lines = []
        for file_no, n in ((1, 9), (2, 10), (4, 11)):
            name = f'1_1_{user}_{file_no}'
            write_video(osp.join(root, folder, name + '.avi'), n)
            with open(osp.join(root, folder, name + '.txt'), 'w') as f:
                for i in range(n):
                    xa, ya, xb, yb = oulu_eyes(no, i)
                    f.write(f'{i + 1},{xa},{ya},{xb},{yb}\n')  # numbered from 1 in the file (line order rules)
            lines.append(f'{"+1" if file_no == 1 else "-1"},{name}')
            out.append((f'{folder}/{name}', int(file_no == 1), split, n, no))
            no += 1
        with open(
            osp.join(root, 'Protocols', 'Protocol_1', {'train': 'Train', 'dev': 'Dev', 'test': 'Test'}[split] + '.txt'),
            'w',
        ) as f:
            f.write('\n'.join(lines[:2]) + '\n')  # the protocol lists name only files 1 and 2
    return out


def oulu_eyes(video_no: int, frame: int) -> Tuple[int, int, int, int]:
    return (16 + frame % 3, 14 + video_no % 2, 28 + frame % 3, 14 + video_no % 2)


def make_casia(root: str) -> List[tuple]:
    """train_release/<subject>/<name>.avi, test_release/<subject>/<name>.avi (1, 2, HR_1 live)."""
    plan = [
        ('train', '1', '1', 9),
        ('train', '1', '3', 10),
        ('train', '2', 'HR_1', 8),
        ('train', '2', 'HR_4', 9),
        ('test', '1', '2', 10),
        ('test', '1', '7', 9),
    ]
    out = []
    for no, (split, subject, name, n) in enumerate(plan):
        write_video(osp.join(root, f'{split}_release', subject, name + '.avi'), n)
        out.append((f'{split}_release/{subject}/{name}', int(name in ('1', '2', 'HR_1')), split, n, no))
    return out


def make_replay(root: str) -> List[tuple]:
    """{train,devel,test}/real/*.mov and attack/{fixed,hand}/*.mov, face-locations/<same path>.face."""
    out, no = [], 0
    for split, client in (('train', '001'), ('devel', '003'), ('test', '002')):
        for rel, n in (
            (f'real/client{client}_session01_webcam_authenticate_adverse_1', 9),
            (f'attack/fixed/attack_highdef_client{client}_session01_highdef_photo_adverse', 10),
            (f'attack/hand/attack_print_client{client}_session01_highdef_photo_controlled', 8),
        ):
            write_video(osp.join(root, split, rel + '.mov'), n)
            face = osp.join(root, 'face-locations', split, rel + '.face')
            os.makedirs(osp.dirname(face), exist_ok=True)
            with open(face, 'w') as f:
                for i in range(n):
                    if i in REPLAY_NO_FACE:
                        f.write(f'{i} 0 0 0 0\n')
                    else:
                        x1, y1, x2, y2 = face_box(no, i)
                        f.write(f'{i} {int(x1)} {int(y1)} {int(x2 - x1)} {int(y2 - y1)}\n')
            out.append((f'{split}/{rel}', int(rel.startswith('real')), split, n, no))
            no += 1
    return out


REPLAY_NO_FACE = (4,)  # frames written as "i 0 0 0 0" (no face found)


def make_msu(root: str) -> List[tuple]:
    """scene01/real/*.mp4|.mov, scene01/attack/*.mp4|.mov, train_sub_list.txt / test_sub_list.txt."""
    plan = [
        ('real/real_client002_android_SD_scene01.mp4', 9, 'train'),
        ('attack/attack_client002_laptop_SD_printed_photo_scene01.mov', 10, 'train'),
        ('attack/attack_client002_android_SD_ipad_video_scene01.mp4', 8, 'train'),
        ('real/real_client001_laptop_SD_scene01.mov', 9, 'test'),
        ('attack/attack_client001_android_SD_iphone_video_scene01.mp4', 10, 'test'),
    ]
    out = []
    for no, (rel, n, split) in enumerate(plan):
        write_video(osp.join(root, 'scene01', rel), n)
        out.append(('scene01/' + osp.splitext(rel)[0], int(rel.startswith('real')), split, n, no))
    with open(osp.join(root, 'train_sub_list.txt'), 'w') as f:
        f.write('02\n03\n')
    with open(osp.join(root, 'test_sub_list.txt'), 'w') as f:
        f.write('01\n')
    return out


def write_box_file(path: str, videos: List[tuple]) -> Dict[str, dict]:
    """A detector-style box JSON for every frame of ``videos`` (as the frame tool's boxes.json)."""
    boxes = {v[0]: {str(i): list(face_box(v[4], i)) for i in range(v[3])} for v in videos}
    with open(path, 'w') as f:
        json.dump(boxes, f)
    return boxes


MAKERS = {'oulu-npu': make_oulu, 'casia-fasd': make_casia, 'replay-attack': make_replay, 'msu-mfsd': make_msu}
