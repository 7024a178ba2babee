"""MTCNN (Zhang et al. 2016) from facenet-pytorch: its P/R/O-Net weights ship inside the wheel, so it runs
offline on the CPU. Installed by tools/install.sh (``--no-deps``)."""

from typing import List, Optional, Sequence

import numpy as np

from .base import DETECTORS, Face, FaceDetector


@DETECTORS.register_module(name='mtcnn')
class MTCNNDetector(FaceDetector):
    """facenet-pytorch's MTCNN behind :class:`FaceDetector`.

    Args:
        min_face_size: smallest face side searched, pixels (facenet-pytorch default 20).
        thresholds: P/R/O-Net score thresholds (facenet-pytorch defaults).
        min_score: faces with a lower final score are dropped.
        max_side: a photo whose longer side exceeds this is searched at this size (boxes and landmarks are
            scaled back); None = full resolution. Faces below ``min_face_size`` at that size are missed.
        device: torch device for the three networks.
    """

    name = 'mtcnn'

    def __init__(
        self,
        min_face_size: int = 20,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        min_score: float = 0.9,
        max_side: Optional[int] = 640,
        device: str = 'cpu',
    ) -> None:
        try:
            from facenet_pytorch.models.mtcnn import MTCNN
        except ImportError as err:
            raise ImportError(
                'the MTCNN face detector needs facenet-pytorch: pip install --no-deps facenet-pytorch==2.6.0 '
                'requests (see tools/install.sh), or pass face boxes yourself (box= / --no-detect)'
            ) from err
        self.min_score, self.max_side = min_score, max_side
        self.net = MTCNN(min_face_size=min_face_size, thresholds=list(thresholds), keep_all=True, device=device)

    def _detect(self, img: np.ndarray) -> List[Face]:
        factor = 1.0
        if self.max_side and max(img.shape[:2]) > self.max_side:
            import cv2

            factor = max(img.shape[:2]) / self.max_side
            size = (max(1, round(img.shape[1] / factor)), max(1, round(img.shape[0] / factor)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(img[..., ::-1])  # BGR -> RGB [H, W, 3]
        boxes, probs, points = self.net.detect(rgb, landmarks=True)
        if boxes is None:
            return []
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4) * factor  # [F, 4]
        probs = np.asarray(probs, np.float64).reshape(-1)  # [F]
        points = np.asarray(points, np.float64).reshape(-1, 5, 2) * factor  # [F, 5, 2]
        return [Face(b, float(p), pt) for b, p, pt in zip(boxes, probs, points) if p >= self.min_score]
