"""Unlabelled face-image datasets for pre-training: image folder, list file, or the original MCF LMDB."""

import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from mcf_mm.registry import DATASETS, TRANSFORMS

from .decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image
from .file_io import DEFAULT_MAX_FILE_BYTES, describe_scan, read_regular_file, scan_image_files
from .skip_counter import SkipCounter, SkipCountingMixin


def build_pipeline(pipeline) -> list:
    """Build transform dicts in mcf_mm's scope (which also resolves mmpretrain's and mmcv's transforms),
    whatever the current default scope is."""
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]


IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff', '.gif', '.ppm', '.pgm')
_LMDB_ENVS: Dict[str, Tuple[int, Any]] = {}  # real path -> (pid that opened it, environment)


def open_lmdb(path: str):
    """The read-only environment of ``path`` for this process, opened on first use.

    py-lmdb refuses to open one environment twice in a process, and a forked DataLoader worker inherits its
    parent's open handle (and with it that refusal). A handle opened by another pid is therefore closed - in this
    process only; with ``lock=False`` that leaves the parent's untouched - and this process opens its own.
    """
    import lmdb

    key = osp.realpath(path)
    entry = _LMDB_ENVS.pop(key, None)
    if entry is not None:
        if entry[0] == os.getpid():
            _LMDB_ENVS[key] = entry
            return entry[1]
        entry[1].close()  # inherited through fork
    if not osp.exists(path):
        raise FileNotFoundError(f'LMDB not found: {path!r}; check `lmdb_path`.')
    try:
        env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False, subdir=osp.isdir(path))
    except lmdb.Error as err:
        raise RuntimeError(
            f'cannot open the LMDB {path!r} ({err}). If this process opened it itself, close that '
            'environment first: py-lmdb allows one per process.'
        ) from err
    _LMDB_ENVS[key] = (os.getpid(), env)
    return env


@DATASETS.register_module()
class FaceImageDataset(SkipCountingMixin, BaseDataset):
    """Face images without labels; unreadable samples are skipped with a warning and counted.

    Exactly one source:
        * ``data_root`` alone: every image under the folder tree (sorted; labels/sub-folders ignored);
        * ``ann_file``: a text file with one image path per line (relative to ``data_root`` if given);
        * ``lmdb_path`` (+ ``ann_file`` listing the keys, one per line): the original MCF LMDB layout, values
          are encoded image bytes and the number of samples is stored under the key ``length``.

    Unreadable means: missing, not a regular file (directory, FIFO, socket, device, or a link to one), a symlink
    loop, larger than ``max_file_bytes``, more than ``max_pixels`` pixels, or bytes PIL cannot fully decode.
    Every DataLoader worker opens its own LMDB environment; the counts are shared by all workers
    (``num_skipped``, ``num_checked``; SkippedImagesHook sums them over ranks).

    Args:
        max_bad_fraction: stop with an error once more than this fraction of at least ``min_checked``
            reads failed (a mostly broken dataset fails early, not after hours).
        extensions: file endings scanned in folder mode (others are ignored, not counted).
        max_file_bytes: larger files/values are skipped unread (None: no cap).
        max_pixels: images whose header declares more pixels are skipped undecoded (None: PIL's bomb limit).
        exif_transpose: apply the EXIF orientation.
    """

    def __init__(
        self,
        data_root: str = '',
        ann_file: str = '',
        lmdb_path: Optional[str] = None,
        pipeline: tuple = (),
        max_bad_fraction: float = 0.5,
        min_checked: int = 32,
        extensions: tuple = IMG_EXTENSIONS,
        max_file_bytes: Optional[int] = DEFAULT_MAX_FILE_BYTES,
        max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
        exif_transpose: bool = True,
        **kwargs,
    ) -> None:
        self.lmdb_path = lmdb_path
        self.extensions = tuple(e.lower() for e in extensions)
        self.max_bad_fraction, self.min_checked = max_bad_fraction, min_checked
        self.max_file_bytes, self.max_pixels, self.exif_transpose = max_file_bytes, max_pixels, exif_transpose
        self.scan_report: Dict[str, int] = {}
        self.skip_counter = SkipCounter()  # replaced by one sized to the dataset in full_init
        super().__init__(data_root=data_root, ann_file=ann_file, pipeline=build_pipeline(pipeline), **kwargs)

    def _skip_source(self) -> str:
        return self.lmdb_path or self.ann_file or self.data_root

    # ------------------------------------------------------------------ listing
    def load_data_list(self) -> List[dict]:
        if self.lmdb_path:
            return self._list_lmdb()
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(
                    f'list file not found: {self.ann_file!r}; set `ann_file` to a text file '
                    'with one image path per line, or leave it empty to scan `data_root`.'
                )
            with open(self.ann_file, encoding='utf-8') as f:
                names = [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]
            paths = [n if osp.isabs(n) else osp.join(self.data_root, n) for n in names]
        else:
            if not self.data_root or not osp.isdir(self.data_root):
                raise FileNotFoundError(
                    f'image folder not found: {self.data_root!r}; set `data_root` to a folder '
                    'of face images (or `ann_file` / `lmdb_path`).'
                )
            paths, self.scan_report = scan_image_files(self.data_root, self.extensions)
            print_log(describe_scan(self.data_root, len(paths), self.scan_report), logger='current')
        if not paths:
            raise ValueError(
                f'no images found (data_root={self.data_root!r}, ann_file={self.ann_file!r}); '
                f'accepted extensions: {self.extensions}.'
            )
        return [dict(img_path=p) for p in paths]

    def _list_lmdb(self) -> List[dict]:
        env = open_lmdb(self.lmdb_path)
        with env.begin() as txn:
            raw = txn.get(b'length')
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(
                    f'keys file not found: {self.ann_file!r}; set `ann_file` to a text file '
                    'with one LMDB key per line, or leave it empty to use the `length` key.'
                )
            with open(self.ann_file, encoding='utf-8') as f:
                keys = [ln.rstrip('\r\n') for ln in f if ln.strip()]
        elif raw is None:
            raise ValueError(
                f'LMDB {self.lmdb_path!r} has no `length` key and no `ann_file` of keys; '
                'give the keys file as `ann_file`.'
            )
        else:
            keys = [str(i) for i in range(int(raw.decode()))]
        if raw is not None and int(raw.decode()) != len(keys):
            print_log(
                f'LMDB {self.lmdb_path}: `length`={raw.decode()} but the keys file lists {len(keys)}; '
                'using the keys file.',
                logger='current',
                level=30,
            )
        return [dict(lmdb_key=k) for k in keys]

    # ------------------------------------------------------------------ loading
    def _read_bytes(self, info: dict) -> bytes:
        if 'img_path' in info:
            return read_regular_file(info['img_path'], self.max_file_bytes)
        import lmdb

        try:
            with open_lmdb(self.lmdb_path).begin(buffers=True) as txn:
                buf = txn.get(info['lmdb_key'].encode())
                if buf is None:
                    raise ImageDecodeError(f'key {info["lmdb_key"]!r} is missing from the LMDB')
                if self.max_file_bytes is not None and len(buf) > self.max_file_bytes:
                    raise ImageDecodeError(f'{len(buf)} bytes is more than max_file_bytes={self.max_file_bytes}')
                return bytes(buf)
        except lmdb.Error as err:  # a corrupt page: this sample is lost, the others may be fine
            raise ImageDecodeError(f'LMDB read failed: {err}') from err

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Decode sample ``idx`` and run the pipeline; None (mmengine then draws another) if unreadable."""
        info = self.get_data_info(idx)
        self.skip_counter.checked()
        try:
            img = decode_image(self._read_bytes(info), self.max_pixels, exif_transpose=self.exif_transpose)
        except (ImageDecodeError, OSError) as err:
            self.skip_counter.skip(idx, info.get('img_path', info.get('lmdb_key')), err)
            return None
        results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2], sample_idx=idx)
        results.update({k: v for k, v in info.items() if k in ('img_path', 'lmdb_key')})
        return self.pipeline(results)


@DATASETS.register_module()
class SkimageFaceDataset(BaseDataset):
    """The real face photographs bundled with scikit-image, for demos and tests without downloads.

    ``lfw_subset``: the 100 face crops (25x25 gray, Labeled Faces in the Wild) of ``skimage.data.lfw_subset``
    (its other 100 images are non-faces and are excluded); ``astronaut``: the face of Eileen Collins cropped
    from ``skimage.data.astronaut``. Images are returned as uint8 BGR arrays; the pipeline resizes them.
    """

    def __init__(self, sources: tuple = ('lfw_subset', 'astronaut'), pipeline: tuple = (), **kwargs) -> None:
        self.sources = tuple(sources)
        kwargs.setdefault('serialize_data', False)
        super().__init__(pipeline=build_pipeline(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        from skimage import data as skdata

        images = []
        for source in self.sources:
            if source == 'lfw_subset':
                faces = skdata.lfw_subset()[:100]  # [100, 25, 25] float in [0, 1]
                images += [np.repeat((f * 255).round().astype(np.uint8)[..., None], 3, axis=2) for f in faces]
            elif source == 'astronaut':
                images.append(np.ascontiguousarray(skdata.astronaut()[20:220, 140:340, ::-1]))  # face, BGR
            else:
                raise ValueError(f'unknown skimage source {source!r}; choose from ("lfw_subset", "astronaut").')
        return [dict(img=img, sample_idx=i) for i, img in enumerate(images)]

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        img = info['img']
        return self.pipeline(dict(img=img.copy(), img_shape=img.shape[:2], ori_shape=img.shape[:2], sample_idx=idx))
