"""Detector box -> a model's training box: centre offset and scale per axis, fitted by least squares.

A model is trained on crops of ONE kind of box: Helen-29 on the landmarks' bounding box, 300W / WFLW on the
HRNet centre/scale squares, AFLW-19 on the released face boxes, and FASSEG / CelebAMask-HQ / UTKFace on whole
(pre-cropped) photos, whose "box" is the image frame ``[0, 0, W, H]``. A detector's box is of yet another kind.
:class:`BoxMapping` moves the detector box's centre by a fraction of its size and rescales each side::

    cx' = cx + dx * w,   cy' = cy + dy * h,   w' = sx * w,   h' = sy * h

:func:`fit_box_mapping` fits (dx, sx) and (dy, sy) by least squares on pairs (detector box, training box);
``python -m mcf_mm.detection.calibrate`` measures them on a dataset's training split and reports the
residuals on its test split. :data:`BOX_MAPPINGS` holds the measured values (see docs/inference.md).
"""

from dataclasses import asdict, dataclass
from typing import Dict, Optional, Tuple

import numpy as np

MIN_FACES_FOR_LANDMARKS = 55  # 5 faces per weight of the landmark regression (11 per output)


def landmark_features(boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """[N, 11]: a constant and the 5 landmarks in the detector box's frame, ``(p - centre) / size``."""
    c, s = _centre_size(boxes)
    pts = np.asarray(landmarks, np.float64).reshape(len(c), 5, 2)
    rel = (pts - c[:, None]) / s[:, None]  # [N, 5, 2]
    return np.concatenate([np.ones((len(c), 1)), rel.reshape(len(c), 10)], axis=1)


@dataclass(frozen=True)
class BoxMapping:
    """Detector box -> training box (see the module docstring). Identity by default.

    Attributes:
        dx, dy: centre shift as a fraction of the detector box's width / height.
        sx, sy: side ratios (training box side / detector box side).
        weights: optional [11, 4] least-squares weights giving (dx, dy, sx, sy) PER FACE from
            :func:`landmark_features` (the detector's 5 landmarks in its box's frame): used when the face
            has landmarks, so the box follows the head's yaw and the face's proportions.
        source: where the values come from (measurement command and data, or 'not measured').
    """

    dx: float = 0.0
    dy: float = 0.0
    sx: float = 1.0
    sy: float = 1.0
    source: str = 'identity (not measured)'
    weights: Optional[Tuple[Tuple[float, ...], ...]] = None

    def params(self, boxes: np.ndarray, landmarks: Optional[np.ndarray] = None) -> np.ndarray:
        """(dx, dy, sx, sy) per box, [N, 4]: from the landmarks when there are weights and landmarks."""
        n = len(np.asarray(boxes, np.float64).reshape(-1, 4))
        if self.weights is not None and landmarks is not None:
            return landmark_features(boxes, landmarks) @ np.asarray(self.weights, np.float64)  # [N, 4]
        return np.tile([self.dx, self.dy, self.sx, self.sy], (n, 1))

    def apply(self, boxes: np.ndarray, landmarks: Optional[np.ndarray] = None) -> np.ndarray:
        """Map detector boxes [..., 4] (x1, y1, x2, y2), with their landmarks [..., 5, 2] if any, onto the
        training convention; float64 [..., 4]."""
        b = np.asarray(boxes, np.float64)
        p = self.params(b, landmarks).reshape(*b.shape[:-1], 4)
        w, h = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
        cx = (b[..., 0] + b[..., 2]) / 2 + p[..., 0] * w
        cy = (b[..., 1] + b[..., 3]) / 2 + p[..., 1] * h
        hw, hh = p[..., 2] * w / 2, p[..., 3] * h / 2
        return np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=-1)

    def to_dict(self) -> dict:
        return asdict(self)


def _centre_size(boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return (b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]  # [N, 2] centres, [N, 2] sizes


def fit_box_mapping(
    det_boxes: np.ndarray, gt_boxes: np.ndarray, source: str = 'fitted', landmarks: Optional[np.ndarray] = None
) -> BoxMapping:
    """Least-squares (dx, dy, sx, sy) taking detector boxes [N, 4] to training boxes [N, 4].

    Per axis a: ``c_gt - c_det = d_a * s_det`` and ``s_gt = k_a * s_det`` (no intercept, so the mapping is
    scale-free): ``d_a = sum(s (c_gt - c)) / sum(s^2)``, ``k_a = sum(s s_gt) / sum(s^2)``. With the
    detector's landmarks [N, 5, 2] and at least :data:`MIN_FACES_FOR_LANDMARKS` faces, also the [11, 4]
    ``weights``: least squares of the per-face targets ``((c_gt - c) / s, s_gt / s)`` on
    :func:`landmark_features`.
    """
    c, s = _centre_size(det_boxes)
    cg, sg = _centre_size(gt_boxes)
    if len(c) == 0 or len(c) != len(cg):
        raise ValueError(f'need as many detector boxes as training boxes (>0), got {len(c)} and {len(cg)}')
    ss = (s**2).sum(axis=0)  # [2]
    d = (s * (cg - c)).sum(axis=0) / ss
    k = (s * sg).sum(axis=0) / ss
    weights = None
    if landmarks is not None and len(c) >= MIN_FACES_FOR_LANDMARKS:
        target = np.concatenate([(cg - c) / s, sg / s], axis=1)  # [N, 4]
        w = np.linalg.lstsq(landmark_features(det_boxes, landmarks), target, rcond=None)[0]  # [11, 4]
        weights = tuple(tuple(round(float(v), 5) for v in row) for row in w)
    return BoxMapping(float(d[0]), float(d[1]), float(k[0]), float(k[1]), source, weights)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of paired boxes [N, 4] and [N, 4]; [N]."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def face_in_box(faces, box):
    """The first (highest-scoring) face whose detector box centre lies in ``box`` [x1, y1, x2, y2], or None:
    how a detection is matched to a dataset's face."""
    x1, y1, x2, y2 = [float(v) for v in box]
    for f in faces:
        cx, cy = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2
        if x1 <= cx <= x2 and y1 <= cy <= y2:
            return f
    return None


def mapping_residuals(
    mapping: BoxMapping, det_boxes: np.ndarray, gt_boxes: np.ndarray, landmarks: Optional[np.ndarray] = None
) -> Dict[str, float]:
    """How far mapped boxes are from the training boxes: centre error and side ratio per axis (fractions of
    the training box side, mean absolute and RMS), and the mean / minimum IoU."""
    pred = mapping.apply(np.asarray(det_boxes, np.float64).reshape(-1, 4), landmarks)
    c, s = _centre_size(pred)
    cg, sg = _centre_size(gt_boxes)
    centre = (c - cg) / sg  # [N, 2]
    side = s / sg - 1  # [N, 2]
    iou = box_iou(pred, gt_boxes)
    out = dict(n=int(len(c)), iou_mean=float(iou.mean()), iou_min=float(iou.min()))
    for i, axis in enumerate('xy'):
        out[f'centre_{axis}_mae'] = float(np.abs(centre[:, i]).mean())
        out[f'centre_{axis}_rms'] = float(np.sqrt((centre[:, i] ** 2).mean()))
        out[f'side_{axis}_mae'] = float(np.abs(side[:, i]).mean())
        out[f'side_{axis}_rms'] = float(np.sqrt((side[:, i] ** 2).mean()))
    return out


# Measured mappings for MTCNN (facenet-pytorch 2.6.0, min_score 0.9, max_side 640), keyed by the class name of
# the model's test dataset: ``python -m mcf_mm.detection.calibrate <dataset>`` (fit on the train split; the
# test-split residuals are in docs/inference.md). Datasets not available here are identity, as ``source`` says.
_CAL = 'python -m mcf_mm.detection.calibrate'
BOX_MAPPINGS: Dict[str, Dict[str, BoxMapping]] = dict(
    mtcnn=dict(
        # the 29 landmarks' bounding box; fit on the 277 detected train faces of 278. weights: rows = 1, then
        # x, y of left eye, right eye, nose, left and right mouth corner in the box frame; columns dx dy sx sy
        Helen29MatDataset=BoxMapping(
            -0.0107,
            0.1224,
            0.7499,
            0.7422,
            f'{_CAL} helen29 (277 train faces)',
            weights=(
                (0.06937, -0.00388, 0.20004, 0.4137),
                (0.58263, -0.00045, -1.45132, 0.19049),
                (-0.50708, -0.38206, 0.36078, -0.42862),
                (0.32561, -0.06006, 1.34808, -0.24248),
                (0.58967, 0.44059, -0.34872, -0.36516),
                (-0.01332, 0.04077, 0.09435, 0.09162),
                (-0.06115, 0.18983, 0.24772, -0.43303),
                (-0.01965, -0.16263, 0.08744, -0.43066),
                (0.38485, 0.4755, -0.56027, 0.63835),
                (-0.03865, 0.14272, -0.11278, 0.40272),
                (-0.40141, -0.21139, 0.33569, 0.20844),
            ),
        ),
        # HRNet squares (200 * scale): mmpose's 2 / 4 test fixtures only, fitted and scored on the same faces
        Face300WCSVDataset=BoxMapping(0.021, 0.100, 0.988, 0.766, f'{_CAL} mmpose_300w (2 faces only, rough)'),
        WFLWCSVDataset=BoxMapping(0.017, 0.093, 1.127, 0.858, f'{_CAL} mmpose_wflw (4 faces only, rough)'),
        # AFLW-19's released boxes: no AFLW release here
        AFLW19MatDataset=BoxMapping(source='identity: AFLW-19 boxes not measured (no release here)'),
        # whole pre-cropped photos: the image frame [0, 0, W, H]
        FASSEGDataset=BoxMapping(0.0012, -0.0765, 1.1563, 1.2393, f'{_CAL} fasseg (20 V1/V2 train photos)'),
        CelebAMaskHQDataset=BoxMapping(-0.0037, -0.0533, 1.8433, 1.3562, f'{_CAL} celebamask_hq_samples (4 only)'),
        UTKFaceDataset=BoxMapping(
            0.0381,
            0.1171,
            0.9803,
            0.7689,
            f'{_CAL} utkface --max-images 200 (199 train crops)',
            weights=(
                (-0.18053, 0.17558, -0.54338, -0.69793),
                (0.56713, 0.30165, -3.36528, -1.98055),
                (-0.71658, 0.75657, -2.45613, -2.17346),
                (0.5635, -0.25892, 2.05148, 1.16838),
                (0.56003, -0.23872, 0.23541, -0.33675),
                (0.63564, -0.01963, 0.41162, 0.05567),
                (-0.04621, 0.46872, 0.76099, 0.57488),
                (-0.34443, -0.01217, 0.73231, 0.24533),
                (-0.13883, -0.02196, 1.02608, 1.36045),
                (0.0975, 0.10999, -0.04617, 0.61235),
                (0.51508, 0.23025, -0.42231, 0.07607),
            ),
        ),
    )
)


def box_mapping_for(dataset_type: Optional[str], detector: str = 'mtcnn') -> BoxMapping:
    """The mapping from ``detector`` boxes to the training boxes of ``dataset_type``; identity if unknown."""
    return BOX_MAPPINGS.get(detector, {}).get(dataset_type or '', BoxMapping())
