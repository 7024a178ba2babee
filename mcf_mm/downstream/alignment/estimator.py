"""Top-down face landmark estimator whose predictions go back to the original image by the exact inverse
of the crop (mmpose's default mapping assumes an axis-aligned box crop)."""

from itertools import zip_longest
from typing import Optional

import numpy as np
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import InstanceList, PixelDataList, SampleList

from ..common.geometry import crop_to_image


@MODELS.register_module()
class FaceLandmarkEstimator(TopdownPoseEstimator):
    """``TopdownPoseEstimator`` (backbone -> neck -> head) mapping predictions back with ``crop_matrix``."""

    def add_pred_to_datasample(
        self,
        batch_pred_instances: InstanceList,
        batch_pred_fields: Optional[PixelDataList],
        batch_data_samples: SampleList,
    ) -> SampleList:
        for pred, fields, sample in zip_longest(batch_pred_instances, batch_pred_fields or [], batch_data_samples):
            matrix = sample.metainfo.get('crop_matrix')
            if matrix is None:
                raise KeyError(
                    'data sample has no "crop_matrix": use FaceBoxCrop in the pipeline and add '
                    '"crop_matrix" to PackPoseInputs(meta_keys=...).'
                )
            pred.keypoints = crop_to_image(pred.keypoints, matrix).astype(np.float32)  # [1, K, 2]
            pred.keypoints_visible = pred.keypoint_scores
            gt = sample.gt_instances
            if 'bboxes' in gt:
                pred.bboxes = gt.bboxes
                pred.bbox_scores = gt.get('bbox_scores', np.ones(len(gt.bboxes), dtype=np.float32))
            sample.pred_instances = pred
            if fields is not None:
                sample.pred_fields = fields
        return batch_data_samples
