"""Unlabelled face-image datasets for pre-training: image folder, list file, or the original MCF LMDB."""
import multiprocessing as mp
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from mcf_mm.registry import DATASETS, TRANSFORMS
from .decode import ImageDecodeError, decode_image

def build_pipeline(pipeline) -> list:
    """Build transform dicts in mcf_mm's scope (which also resolves mmpretrain's and mmcv's transforms),
    whatever the current default scope is."""
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]


_LMDB_ENVS: dict = {}  # (path, pid) -> environment; workers open their own
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff', '.ppm', '.pgm')


@DATASETS.register_module()
class FaceImageDataset(BaseDataset):
    """Face images without labels; unreadable files are skipped with a warning and counted.

    Exactly one source:
        * ``data_root`` alone: every image under the folder tree (sorted; labels/sub-folders ignored);
        * ``ann_file``: a text file with one image path per line (relative to ``data_root`` if given);
        * ``lmdb_path`` (+ ``ann_file`` listing the keys, one per line): the original MCF LMDB layout, values
          are encoded image bytes and the number of samples is stored under the key ``length``.

    Args:
        max_bad_fraction: stop with an error once more than this fraction of at least ``min_checked``
            decoded samples were unreadable (a mostly broken dataset fails early, not after hours).
        extensions: file endings scanned in folder mode (others are ignored, not counted).
    """

    def __init__(self, data_root: str = '', ann_file: str = '', lmdb_path: Optional[str] = None,
                 pipeline: tuple = (), max_bad_fraction: float = 0.5, min_checked: int = 32,
                 extensions: tuple = IMG_EXTENSIONS, **kwargs) -> None:
        self.lmdb_path = lmdb_path
        self.extensions = tuple(e.lower() for e in extensions)
        self.max_bad_fraction = max_bad_fraction
        self.min_checked = min_checked
        # Shared across dataloader workers (forked after construction).
        self._checked = mp.Value('q', 0)
        self._skipped = mp.Value('q', 0)
        super().__init__(data_root=data_root, ann_file=ann_file, pipeline=build_pipeline(pipeline), **kwargs)

    # ------------------------------------------------------------------ listing
    def load_data_list(self) -> List[dict]:
        if self.lmdb_path:
            return self._list_lmdb()
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'list file not found: {self.ann_file!r}; set `ann_file` to a text file '
                                        'with one image path per line, or leave it empty to scan `data_root`.')
            with open(self.ann_file, encoding='utf-8') as f:
                names = [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]
            paths = [n if osp.isabs(n) else osp.join(self.data_root, n) for n in names]
        else:
            if not self.data_root or not osp.isdir(self.data_root):
                raise FileNotFoundError(f'image folder not found: {self.data_root!r}; set `data_root` to a folder '
                                        'of face images (or `ann_file` / `lmdb_path`).')
            paths = []
            for root, _, files in os.walk(self.data_root, followlinks=True):
                paths += [osp.join(root, f) for f in files if f.lower().endswith(self.extensions)]
            paths.sort()
        if not paths:
            raise ValueError(f'no images found (data_root={self.data_root!r}, ann_file={self.ann_file!r}); '
                             f'accepted extensions: {self.extensions}.')
        return [dict(img_path=p) for p in paths]

    def _list_lmdb(self) -> List[dict]:
        env = self._lmdb_env()
        if self.ann_file:
            with open(self.ann_file, encoding='utf-8') as f:
                keys = [ln.rstrip('\n') for ln in f if ln.strip()]
        else:
            with env.begin() as txn:
                raw = txn.get(b'length')
            if raw is None:
                raise ValueError(f'LMDB {self.lmdb_path!r} has no `length` key and no `ann_file` of keys; '
                                 'give the keys file as `ann_file`.')
            keys = [str(i) for i in range(int(raw.decode()))]
        with env.begin() as txn:
            raw = txn.get(b'length')
        if raw is not None and int(raw.decode()) != len(keys):
            print_log(f'LMDB {self.lmdb_path}: `length`={raw.decode()} but the keys file lists {len(keys)}; '
                      'using the keys file.', logger='current', level=30)
        return [dict(lmdb_key=k) for k in keys]

    def _lmdb_env(self):
        """One read-only environment per LMDB path and process (py-lmdb forbids opening one twice)."""
        key = (osp.abspath(self.lmdb_path), os.getpid())
        if key not in _LMDB_ENVS:
            import lmdb
            if not osp.exists(self.lmdb_path):
                raise FileNotFoundError(f'LMDB not found: {self.lmdb_path!r}; check `lmdb_path`.')
            _LMDB_ENVS[key] = lmdb.open(self.lmdb_path, readonly=True, lock=False, readahead=False,
                                        meminit=False, subdir=osp.isdir(self.lmdb_path))
        return _LMDB_ENVS[key]

    # ------------------------------------------------------------------ loading
    @property
    def num_skipped(self) -> int:
        """Unreadable samples skipped so far (all workers of this process)."""
        return int(self._skipped.value)

    @property
    def num_checked(self) -> int:
        return int(self._checked.value)

    def _read_bytes(self, info: dict) -> bytes:
        if 'lmdb_key' in info:
            with self._lmdb_env().begin() as txn:
                data = txn.get(info['lmdb_key'].encode())
            if data is None:
                raise ImageDecodeError(f'key {info["lmdb_key"]!r} is missing from the LMDB')
            return bytes(data)
        with open(info['img_path'], 'rb') as f:
            return f.read()

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Decode sample ``idx`` and run the pipeline; None (mmengine then draws another) if unreadable."""
        info = self.get_data_info(idx)
        name = info.get('img_path', info.get('lmdb_key'))
        with self._checked.get_lock():
            self._checked.value += 1
        try:
            img = decode_image(self._read_bytes(info))
        except (ImageDecodeError, OSError) as err:
            with self._skipped.get_lock():
                self._skipped.value += 1
                skipped, checked = self._skipped.value, self._checked.value
            if skipped <= 20 or skipped % 1000 == 0:
                print_log(f'skipping unreadable image {name} ({err}); {skipped} skipped so far',
                          logger='current', level=30)
            if checked >= self.min_checked and skipped > self.max_bad_fraction * checked:
                raise RuntimeError(
                    f'{skipped} of {checked} images read so far are unreadable (> {self.max_bad_fraction:.0%}): '
                    f'the dataset at {self.data_root or self.ann_file or self.lmdb_path!r} looks broken. Check '
                    'the paths/format, or raise `max_bad_fraction` if this is expected.')
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
        return self.pipeline(dict(img=img.copy(), img_shape=img.shape[:2], ori_shape=img.shape[:2],
                                  sample_idx=idx))
