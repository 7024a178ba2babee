"""Data transforms shared by the face classification and regression tasks (mmpretrain pipelines)."""

from typing import Optional

from mmcv.transforms import BaseTransform

from mcf_mm.datasets.face_crop import crop_face
from mcf_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CropFaceBox(BaseTransform):
    """Cut the square face crop of ``results[box_key]`` (x1, y1, x2, y2 in pixels) and resize it to ``size``.

    The crop is centred on the box; its side is the box's longer side times ``1 + 2 * margin`` (outside the
    image is black), as :func:`mcf_mm.datasets.face_crop.crop_face` computes it.

    Args:
        size: output side in pixels.
        margin: fraction of the longer box side added on each side.
        box_key: the results key holding the box.
    """

    def __init__(self, size: int, margin: float = 0.0, box_key: str = 'face_box') -> None:
        if size <= 0 or margin < 0:
            raise ValueError(f'CropFaceBox needs size > 0 and margin >= 0, got size={size}, margin={margin}.')
        self.size, self.margin, self.box_key = size, margin, box_key

    def transform(self, results: dict) -> Optional[dict]:
        box = results.get(self.box_key)
        if box is None:
            raise KeyError(
                f'CropFaceBox needs results[{self.box_key!r}] (x1, y1, x2, y2); the dataset of '
                f'{results.get("img_path", "this sample")} gives none: remove CropFaceBox for aligned crops.'
            )
        results['img'] = crop_face(results['img'], box, margin=self.margin, size=self.size)  # [size, size, C]
        results['img_shape'] = (self.size, self.size)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, margin={self.margin}, box_key={self.box_key!r})'
