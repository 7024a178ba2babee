"""mmseg EncoderDecoder that puts canvas logits back on the original image before the argmax."""

from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from .warp import unwarp_logits


@MODELS.register_module()
class FaceParsingEncoderDecoder(EncoderDecoder):
    """EncoderDecoder for aligned/warped face crops.

    For samples carrying ``warp_matrix`` / ``warp_factor`` metainfo (see
    :class:`~mcf_mm.downstream.parsing.transforms.RoITanhWarp`), the logits on the canvas are warped back to the
    original image (bilinear, through the exact inverse of the tanh warp) and the argmax is taken there,
    so the metric compares with the original label image. Other samples get mmseg's usual post-processing.
    """

    def postprocess_result(self, seg_logits: Tensor, data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None or not any('warp_matrix' in s.metainfo for s in data_samples):
            return super().postprocess_result(seg_logits, data_samples)
        if seg_logits.shape[1] == 1:
            raise ValueError('FaceParsingEncoderDecoder expects one logit channel per class (C > 1).')
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            if 'warp_matrix' not in meta:
                super().postprocess_result(seg_logits[i : i + 1], [sample])
                continue
            ori_shape = tuple(meta['ori_shape'][:2])
            logits = unwarp_logits(
                seg_logits[i],
                meta['warp_matrix'],
                float(meta.get('warp_factor', 0.0)),
                ori_shape,
                meta.get('warp_convention', 'pixel_centre'),
            )  # [C, H, W]
            sample.set_data(
                {
                    'seg_logits': PixelData(data=logits),
                    'pred_sem_seg': PixelData(data=logits.argmax(dim=0, keepdim=True)),
                }
            )
        return data_samples
