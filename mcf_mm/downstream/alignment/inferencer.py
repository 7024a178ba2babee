"""mmpose's 2-D pose inferencer for mcf_mm face-alignment configs, with the caller's face boxes honoured.

``mmpose.apis.MMPoseInferencer(pose2d=CONFIG, pose2d_weights=CKPT)`` builds and runs on these configs
(``data_mode='topdown'`` and ``dataset_type`` are in every dataset base; no detector is looked up for them),
but mmpose 1.3's ``Pose2DInferencer`` replaces its ``bboxes`` argument with the whole image whenever no
detector is configured. :class:`FaceLandmarkInferencer` is the same inferencer with the boxes used::

    inferencer = FaceLandmarkInferencer(CONFIG, CKPT, device='cpu')
    result = next(inferencer('face.jpg', bboxes=[[[x1, y1, x2, y2]]], vis_out_dir='out'))

Points are drawn whatever their scores (``kpt_thr`` defaults to :data:`SOFT_ARGMAX_KPT_THR`).
"""

from typing import List, Optional, Sequence, Union

import numpy as np
from mmpose.apis.inferencers import Pose2DInferencer

# The soft-argmax head always returns a location for every landmark; its score is the peak sigmoid
# probability of that landmark's heatmap (FaRLHeatmapCodec.decode), not a visibility. The protocol has no
# visibility, so the visualiser draws every point (mmpose skips points whose score is below kpt_thr).
SOFT_ARGMAX_KPT_THR = 0.0


def boxes_array(bboxes: Union[Sequence, np.ndarray]) -> np.ndarray:
    """One image's boxes as [N, 5] float32 (x1, y1, x2, y2, score); a missing score is 1.

    Accepts one box or a list of boxes, each [x1, y1, x2, y2] or [x1, y1, x2, y2, score] (pixels).
    """
    boxes = np.asarray(bboxes, dtype=object)
    if boxes.ndim == 1 and all(np.ndim(v) == 0 for v in boxes):  # one box
        boxes = [bboxes]
    rows = []
    for box in boxes:
        box = np.asarray(box, dtype=np.float32).reshape(-1)
        if box.shape[0] not in (4, 5):
            raise ValueError(
                f'a box has 4 or 5 values (an image takes [N, 4] or [N, 5]: x1, y1, x2, y2[, score]), '
                f'got {box.shape[0]}'
            )
        rows.append(box if box.shape[0] == 5 else np.append(box, np.float32(1.0)))
    arr = np.stack(rows)  # [N, 5]
    bad = (arr[:, 2] <= arr[:, 0]) | (arr[:, 3] <= arr[:, 1])
    if bad.any():
        raise ValueError(f'box {arr[bad][0, :4].tolist()} is empty: boxes are [x1, y1, x2, y2] with x2 > x1, y2 > y1')
    return arr


class FaceLandmarkInferencer(Pose2DInferencer):
    """``Pose2DInferencer`` that crops the given boxes (else the whole image, as mmpose does) and draws all points.

    Args:
        model: an mcf_mm face-alignment config (path or Config).
        weights: its trained checkpoint.
        device: e.g. 'cpu' or 'cuda:0'.
        show_progress: mmengine's progress bar.
    Call it as ``MMPoseInferencer``: ``inferencer(inputs, bboxes=[boxes of image 0, boxes of image 1, ...])``,
    each entry [N, 4] or [N, 5] in image pixels (xyxy).
    """

    def __init__(
        self,
        model,
        weights: Optional[str] = None,
        device: Optional[str] = None,
        scope: Optional[str] = 'mmpose',
        show_progress: bool = False,
    ) -> None:
        super().__init__(model, weights, device, scope, det_model='whole_image', show_progress=show_progress)

    def preprocess_single(
        self, input, index: int, bbox_thr: float = 0.3, nms_thr: float = 0.3, bboxes: Sequence = ()
    ) -> List[dict]:
        """One input -> one pipeline sample per box (the caller's boxes; none given = the whole image)."""
        if bboxes is None or len(bboxes) == 0:
            return super().preprocess_single(input, index, bbox_thr, nms_thr, [])
        if isinstance(input, str):
            data_info = dict(img_path=input)
        else:  # as mmpose names array inputs
            data_info = dict(img=input, img_path=f'{index}.jpg'.rjust(10, '0'))
        data_info.update(self.model.dataset_meta)
        samples = []
        for box in boxes_array(bboxes):
            inst = dict(data_info, bbox=box[None, :4], bbox_score=box[4:5])
            samples.append(self.pipeline(inst))
        return samples

    def visualize(self, inputs: list, preds: list, **kwargs) -> List[np.ndarray]:
        """mmpose's drawing with every landmark shown unless ``kpt_thr`` is given."""
        kwargs.setdefault('kpt_thr', SOFT_ARGMAX_KPT_THR)
        return super().visualize(inputs, preds, **kwargs)
