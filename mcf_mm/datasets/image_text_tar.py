"""Image-text pairs from webdataset-style tar shards, as img2dataset writes them for LAION-Face.

A shard holds members ``<key>.jpg`` (or png/webp), ``<key>.txt`` (the caption) and optional ``<key>.json``;
the key is the member name up to its first dot. Shards are indexed once (member offsets), then each sample
is read by seeking, so random access and shuffling work without unpacking anything.
"""

from typing import List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from mcf_mm.datasets.decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image
from mcf_mm.datasets.face_image import build_pipeline
from mcf_mm.datasets.file_io import DEFAULT_MAX_FILE_BYTES
from mcf_mm.datasets.skip_counter import SkipCounter, SkipCountingMixin
from mcf_mm.registry import DATASETS, TRANSFORMS

from .tar_index import IMAGE_EXTS, check_shard, expand_shards, index_tar, read_span
from .tokenizer import get_tokenizer


@DATASETS.register_module()
class ImageTextTarDataset(SkipCountingMixin, BaseDataset):
    """Image-text dataset over uncompressed tar shards.

    Args:
        shards: shard paths / globs / brace ranges, relative to ``data_root``.
        data_root: folder of the shards.
        text_ext: extension of the caption member.
        pipeline: transforms; each sample starts as ``dict(img, text, key, shard)`` (img is BGR uint8).
        max_bad_fraction, min_checked, max_file_bytes, max_pixels, exif_transpose: as for FaceImageDataset
            (``max_file_bytes`` caps an image member's size). Skips are counted across DataLoader workers.
    """

    METAINFO = dict(classes=None)

    def __init__(
        self,
        shards: Union[str, Sequence[str]] = '*.tar',
        data_root: str = '',
        text_ext: str = 'txt',
        pipeline: Sequence = (),
        max_bad_fraction: float = 0.5,
        min_checked: int = 32,
        max_file_bytes: Optional[int] = DEFAULT_MAX_FILE_BYTES,
        max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
        exif_transpose: bool = True,
        **kwargs,
    ) -> None:
        self.shards, self.text_ext = shards, text_ext
        self.max_bad_fraction, self.min_checked = max_bad_fraction, min_checked
        self.max_file_bytes, self.max_pixels, self.exif_transpose = max_file_bytes, max_pixels, exif_transpose
        self.skip_counter = SkipCounter()  # shared by the DataLoader workers; sized in full_init
        super().__init__(ann_file='', data_root=data_root, pipeline=build_pipeline(pipeline), **kwargs)

    def _skip_source(self) -> str:
        return f'{self.data_root}/{self.shards}'

    def load_data_list(self) -> List[dict]:
        paths = expand_shards(self.shards, self.data_root)
        if not paths:
            raise FileNotFoundError(
                f'no tar shards match {self.shards!r} under {self.data_root!r}; point '
                '`data_root`/`shards` at the img2dataset output folder.'
            )
        data, incomplete = [], 0
        for path in paths:
            check_shard(path)
            members = index_tar(path)
            for key, parts in members.items():
                img_ext = next((e for e in IMAGE_EXTS if e in parts), None)
                if img_ext is None or self.text_ext not in parts:
                    incomplete += 1
                    continue
                data.append(dict(shard=path, key=key, img_span=parts[img_ext], txt_span=parts[self.text_ext]))
        MMLogger.get_current_instance().info(
            f'ImageTextTarDataset: {len(data)} image-text pairs in {len(paths)} shards'
            f'{f"; skipped {incomplete} samples without both image and text" if incomplete else ""}.'
        )
        if not data:
            raise ValueError(f'the shards {paths[:3]} hold no (image, .{self.text_ext}) pairs.')
        return data

    @staticmethod
    def _read(path: str, span, max_bytes: Optional[int] = None) -> bytes:
        return read_span(path, span, max_bytes)

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Decode one pair; an unreadable image returns None so the base class draws another sample."""
        info = self.get_data_info(idx)
        self.skip_counter.checked()
        try:
            data = self._read(info['shard'], info['img_span'], self.max_file_bytes)
            img = decode_image(data, self.max_pixels, exif_transpose=self.exif_transpose)  # [H, W, 3] BGR
            text = self._read(info['shard'], info['txt_span'], self.max_file_bytes)
        except (ImageDecodeError, OSError) as err:
            self.skip_counter.skip(idx, f'{info["key"]} in {info["shard"]}', err)
            return None
        text = text.decode('utf-8', errors='replace').strip()
        results = dict(
            img=img,
            img_shape=img.shape[:2],
            ori_shape=img.shape[:2],
            text=text,
            key=info['key'],
            shard=info['shard'],
            sample_idx=idx,
        )
        return self.pipeline(results)


@TRANSFORMS.register_module()
class TokenizeText:
    """``results['text']`` -> ``results['text_tokens']`` [context_length] (CLIP BPE, SOT/EOT, zero padding).

    Args:
        context_length: tokens per caption (CLIP: 77).
        bpe_path: merges file (default: the copy shipped with mmsegmentation).
    """

    def __init__(self, context_length: int = 77, bpe_path: Optional[str] = None) -> None:
        self.context_length, self.bpe_path = context_length, bpe_path

    def __call__(self, results: dict) -> dict:
        if 'text' not in results:
            raise KeyError('TokenizeText needs `text` in the sample; use ImageTextTarDataset.')
        tokenizer = get_tokenizer(self.bpe_path, self.context_length)
        results['text_tokens'] = tokenizer(results['text'])[0]  # [L]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(context_length={self.context_length})'
