"""Face crops from LAION-Face-style webdataset tar shards (img2dataset layout plus MTCNN detections).

A shard holds ``<key>.jpg`` (or png/webp), ``<key>.json`` and ``<key>.txt``. The ``.json`` carries the
detections in the crop tool's format (tools/dataset_converters/crop_laion_face.py): ``"faces": [{"box": [x1, y1,
x2, y2], "landmarks": [[x, y] x 5], "score": 0.99}, ...]`` in pixels of the stored, EXIF-applied image. Each shard
is indexed once (one sequential pass reading the headers and the ``.json`` members; under torch.distributed each
rank indexes 1/W of the shards and the ranks all-gather the parts) into compact numpy columns
(:class:`~mcf_mm.datasets.face_index.FaceIndex`), then every sample is read by seeking to its image and cropped on
the fly with :func:`mcf_mm.datasets.face_crop.crop_face`, exactly as the crop tool crops it.
"""

import json
import math
import multiprocessing as mp
import time
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from torch.utils.data import get_worker_info

from mcf_mm.registry import DATASETS

from .decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image
from .face_crop import crop_face
from .face_image import build_pipeline
from .face_index import FaceIndex
from .file_io import DEFAULT_MAX_FILE_BYTES
from .skip_counter import SkipCounter, SkipCountingMixin
from .tar_index import IMAGE_EXTS, check_shard, expand_shards, iter_tar_members, read_span

FACE_CHOICES = ('largest', 'best', 'first', 'all')


def select_faces(faces: Sequence[dict], face: str = 'largest', score_thr: float = 0.9) -> List[int]:
    """Indices (into ``faces``) of the faces that become samples.

    Args:
        faces: detections, each with ``box`` [x1, y1, x2, y2] and optional ``score`` (missing: 1.0, as in the
            crop tool). Faces must be valid (see :func:`valid_face`).
        face: 'largest' (box area), 'best' (score), 'first' (list order) or 'all'; ties go to the earlier face.
        score_thr: faces with ``score < score_thr`` are never chosen.
    Returns:
        [] when no face passes the threshold; one index, or all passing ones in list order for 'all'.
    """
    keep = [i for i, f in enumerate(faces) if float(f.get('score', 1.0)) >= score_thr]
    if not keep or face == 'all':
        return keep
    if face == 'first':
        return keep[:1]
    if face == 'best':
        return [max(keep, key=lambda i: (float(faces[i].get('score', 1.0)), -i))]
    if face == 'largest':

        def area(i: int) -> Tuple[float, int]:
            x1, y1, x2, y2 = map(float, faces[i]['box'])
            return (x2 - x1) * (y2 - y1), -i

        return [max(keep, key=area)]
    raise ValueError(f'face={face!r}; choose one of {FACE_CHOICES}.')


def _points(value, n: int = 5) -> Optional[List[List[float]]]:
    """``n`` finite (x, y) pairs as floats, or None when ``value`` is not that."""
    try:
        pts = [[float(x), float(y)] for x, y in value]
    except (TypeError, ValueError):
        return None
    return pts if len(pts) == n and all(math.isfinite(v) for p in pts for v in p) else None


def valid_face(f, need_landmarks: bool = False) -> bool:
    """True when ``f`` is a dict with a finite, non-degenerate ``box`` [x1, y1, x2, y2] (x2 > x1, y2 > y1), a
    numeric or missing ``score``, and, if ``need_landmarks``, 5 finite ``landmarks``."""
    if not isinstance(f, dict) or not isinstance(f.get('box'), (list, tuple)) or len(f['box']) != 4:
        return False
    try:
        x1, y1, x2, y2 = (float(v) for v in f['box'])
        float(f.get('score', 1.0))
    except (TypeError, ValueError):
        return False
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or x2 <= x1 or y2 <= y1:
        return False
    return not need_landmarks or _points(f.get('landmarks')) is not None


def _subset_rows(indices: Union[Sequence[int], int], n: int) -> np.ndarray:
    """Row numbers of BaseDataset's ``indices``: an int k = the first k (k >= 0) or the last -k rows, a sequence =
    those rows in that order."""
    if isinstance(indices, (int, np.integer)):
        return np.arange(n)[:indices] if indices >= 0 else np.arange(n)[indices:]
    rows = np.asarray(list(indices), np.int64)
    if rows.size and not (-n <= rows.min() and rows.max() < n):
        raise IndexError(f'subset indices must lie in [-{n}, {n}) for a dataset of {n} samples.')
    return rows % n if n else rows


def _all_gather_cpu(obj) -> list:
    """Every rank's ``obj`` (picklable), in rank order, through a new gloo group (CPU memory, whatever the default
    backend: under NCCL the index never passes through GPU memory). Every rank must call it."""
    import torch.distributed as tdist

    group = tdist.new_group(backend='gloo')
    try:
        out = [None] * tdist.get_world_size()
        tdist.all_gather_object(out, obj, group=group)
    finally:
        tdist.destroy_process_group(group)
    return out


INDEX_STATS = ('keys', 'no_image', 'no_json', 'bad_json', 'no_face', 'faces_below_thr', 'invalid_faces', 'samples')


def index_face_shard(
    shard_id: int,
    path: str,
    face: str = 'largest',
    score_thr: float = 0.9,
    center: str = 'box',
    cropped: bool = False,
    max_json_bytes: Optional[int] = DEFAULT_MAX_FILE_BYTES,
) -> Tuple[FaceIndex, Dict[str, int], List[str]]:
    """The samples of one shard (FaceShardDataset's arguments of the same names), in member order.

    Returns:
        (the shard's rows as a :class:`FaceIndex`, counts of :data:`INDEX_STATS`, messages about a
        truncated/corrupt shard).
    """
    stats: Dict[str, int] = dict.fromkeys(INDEX_STATS, 0)
    problems: List[str] = []
    members: Dict[str, Dict[str, tuple]] = {}  # key -> {ext: (span, data)}, in first-member order
    for key, ext, span, blob in iter_tar_members(path, () if cropped else ('json',), max_json_bytes, problems):
        members.setdefault(key, {})[ext] = (span, blob)
    keys, spans, face_ids, faces = [], [], [], []
    for key, parts in members.items():
        stats['keys'] += 1
        img_ext = next((e for e in IMAGE_EXTS if e in parts), None)
        if img_ext is None:
            stats['no_image'] += 1
            continue
        if cropped:
            keys.append(key)
            spans.append(parts[img_ext][0])
            face_ids.append(-1)
            continue
        part = parts.get('json')
        if part is None:
            stats['no_json'] += 1
            continue
        for face_idx, det in _faces_of(part[1], face, score_thr, center == 'landmarks', stats):
            keys.append(key)
            spans.append(parts[img_ext][0])
            face_ids.append(face_idx)
            faces.append(det)
    del members
    stats['samples'] = len(keys)
    return FaceIndex.build(shard_id, keys, spans, face_ids, None if cropped else faces), stats, problems


def _faces_of(
    blob: Optional[bytes], face: str, score_thr: float, need_lms: bool, stats: Dict[str, int]
) -> List[Tuple[int, dict]]:
    """(index in the json's faces, dict(box, landmarks, score)) of the chosen faces of one sample's json."""
    try:
        if blob is None:
            raise ValueError('json member over max_file_bytes')
        faces = json.loads(blob.decode('utf-8')).get('faces', [])
        if not isinstance(faces, list):
            raise ValueError('"faces" is not a list')
    except (ValueError, AttributeError):
        stats['bad_json'] += 1
        return []
    valid = [i for i, f in enumerate(faces) if valid_face(f, need_lms)]
    stats['invalid_faces'] += len(faces) - len(valid)
    chosen = select_faces([faces[i] for i in valid], face, score_thr)
    stats['faces_below_thr'] += sum(float(faces[i].get('score', 1.0)) < score_thr for i in valid)
    if not chosen:
        stats['no_face'] += 1
    out = []
    for j in chosen:
        f = faces[valid[j]]
        det = dict(
            box=[float(v) for v in f['box']],
            landmarks=_points(f.get('landmarks')),  # None when absent or malformed (centre 'box' only)
            score=float(f.get('score', 1.0)),
        )
        out.append((valid[j], det))
    return out


@DATASETS.register_module()
class FaceShardDataset(SkipCountingMixin, BaseDataset):
    """Face crops cut on the fly from webdataset tar shards with detection ``.json`` members.

    Args:
        shards: shard paths / globs / brace ranges (``{00000..00099}.tar``), relative to ``data_root``.
        data_root: folder of the shards.
        face: which detections become samples: 'largest' (box area), 'best' (highest score), 'first' (first
            in the json's list) among the faces with ``score >= score_thr``, or 'all' (each of them is a sample).
        score_thr: minimum detection score (a face without ``score`` counts as 1.0, as in the crop tool).
        margin: fraction of the box's longer side added on each side (crop side = (1 + 2 margin) x box side).
        size: crop side in pixels.
        center: 'box' (crop centred on the box) or 'landmarks' (on the mean of the 5 landmarks; faces without
            landmarks are left out at index time).
        cropped: True when the shards already hold face crops (e.g. the crop tool's ``--out-format shards``):
            every image is one sample as stored (no ``.json`` is read, ``size`` is not applied).
        pipeline: transforms; each sample starts as ``dict(img, img_shape, ori_shape, img_path, key, shard,
            face_idx, sample_idx)`` (img: the crop, BGR uint8 [size, size, 3]; ori_shape: the stored image's).
        max_bad_fraction, min_checked: stop with an error once more than this fraction of at least
            ``min_checked`` reads failed (counted across DataLoader workers).
        max_file_bytes: image (and ``.json``) members larger than this are bad samples (None: no cap).
        max_pixels, exif_transpose: as for :func:`decode_image` (the boxes are in EXIF-applied pixels).
        on_bad: 'drop': an unreadable sample returns None (use ``drop_bad_collate``), so every bad sample is met
            once per epoch and no other sample is read twice; 'redraw': BaseDataset's behaviour (read another,
            random sample instead).
        index_workers: processes indexing shards in parallel (0 or 1: in this process). The result is the same.
        dist_index: under torch.distributed with W processes, rank r indexes shards r, r + W, ... and the ranks
            all-gather the parts (the same index on every rank, as one process builds it, after ~1/W of the
            work). Every rank must then build the dataset (as mmengine's Runner does); False: each rank indexes
            every shard alone.
        **kwargs: BaseDataset's (``indices``, ``lazy_init``; ``serialize_data`` has no effect: the index is
            always the compact :class:`~mcf_mm.datasets.face_index.FaceIndex`).

    The index (``self.index``) is a :class:`~mcf_mm.datasets.face_index.FaceIndex`: numpy columns, tens of
    bytes per sample (``index_nbytes``), values exactly as parsed; ``data_list`` stays empty and
    :meth:`get_data_info` builds each sample's dict from the columns.
    """

    METAINFO = dict(classes=None)

    def __init__(
        self,
        shards: Union[str, Sequence[str]] = '*.tar',
        data_root: str = '',
        face: str = 'largest',
        score_thr: float = 0.9,
        margin: float = 0.3,
        size: int = 224,
        center: str = 'box',
        cropped: bool = False,
        pipeline: Sequence = (),
        max_bad_fraction: float = 0.5,
        min_checked: int = 32,
        max_file_bytes: Optional[int] = DEFAULT_MAX_FILE_BYTES,
        max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
        exif_transpose: bool = True,
        on_bad: str = 'drop',
        index_workers: int = 0,
        dist_index: bool = True,
        **kwargs,
    ) -> None:
        if face not in FACE_CHOICES:
            raise ValueError(f'face={face!r}; choose one of {FACE_CHOICES}.')
        if center not in ('box', 'landmarks'):
            raise ValueError(f"center={center!r}; choose 'box' or 'landmarks'.")
        if on_bad not in ('drop', 'redraw'):
            raise ValueError(f"on_bad={on_bad!r}; choose 'drop' (with drop_bad_collate) or 'redraw'.")
        if margin < 0 or size <= 0:
            raise ValueError(f'margin={margin} must be >= 0 and size={size} > 0.')
        self.shards, self.face, self.score_thr = shards, face, float(score_thr)
        self.margin, self.size, self.center, self.cropped = float(margin), int(size), center, bool(cropped)
        self.max_bad_fraction, self.min_checked = max_bad_fraction, min_checked
        self.max_file_bytes, self.max_pixels, self.exif_transpose = max_file_bytes, max_pixels, exif_transpose
        self.on_bad, self.index_workers = on_bad, int(index_workers)
        self.shard_paths: List[str] = []
        self.index_stats: Dict[str, int] = {}
        self.index_problems: List[str] = []
        self.dist_index = bool(dist_index)
        self.index: Optional[FaceIndex] = None  # built in full_init
        self.skip_counter = SkipCounter()  # shared by the DataLoader workers; sized in full_init
        super().__init__(ann_file='', data_root=data_root, pipeline=build_pipeline(pipeline), **kwargs)

    def _skip_source(self) -> str:
        return f'{self.data_root}/{self.shards}'

    # ----------------------------------------------------------------------------------------------- index
    def _index_split(self) -> Tuple[int, int]:
        """(rank, world size) of the distributed indexing; (0, 1) when it is off, not initialised, or in a
        DataLoader worker (a forked worker must never join a collective)."""
        if not self.dist_index or get_worker_info() is not None:
            return 0, 1
        return get_dist_info()

    def build_index(self) -> Tuple[FaceIndex, List[str], Dict[str, int], List[str]]:
        """Index the shards: one sequential pass per shard (member spans and the detections of every ``.json``).

        Under torch.distributed (``dist_index``) rank r of W indexes shards r, r + W, ... (``index_workers`` at a
        time) and the ranks all-gather their parts, so every rank gets the same index as one process would. An
        error on a rank (a missing shard, a read error) is raised there after the all-gather, and as a
        RuntimeError naming that rank on the others (no rank waits for a failed one).

        Returns:
            (index, shard paths, counts of :data:`INDEX_STATS` over all shards, truncated/corrupt shard messages).
        """
        rank, world = self._index_split()
        paths, mine, results, error = [], [], [], None
        start = time.perf_counter()
        try:
            paths = self._checked_paths()
            mine = list(range(rank, len(paths), world))
            results = self._index_these(paths, mine)
        except Exception as err:  # noqa: BLE001 - raised after the all-gather, so that no rank waits forever
            if world == 1:
                raise
            error = err
        seconds = time.perf_counter() - start
        if world > 1:
            gathered = _all_gather_cpu((paths, results, None if error is None else f'{type(error).__name__}: {error}'))
            if error is not None:
                raise error  # this rank's own error; the other ranks raise a RuntimeError naming this rank
            failed = []
            for r, (their_paths, _, err) in enumerate(gathered):
                if err is not None:
                    failed.append(f'rank {r}: {err}')
                elif their_paths != paths:
                    failed.append(f'rank {r} found other shards ({len(their_paths)})')
            if failed:
                raise RuntimeError(
                    f'indexing the shards failed on other ranks: {"; ".join(failed)} (this rank found {len(paths)} '
                    'shards). Every rank must see the same shard files.'
                )
            results = sorted((res for _, part, _ in gathered for res in part), key=lambda res: res[0])
        assert [res[0] for res in results] == list(range(len(paths)))  # every shard once, in shard order
        stats: Dict[str, int] = dict.fromkeys(INDEX_STATS, 0)
        problems: List[str] = []
        for _, _, shard_stats, shard_problems in results:
            problems.extend(shard_problems)
            for k, v in shard_stats.items():
                stats[k] += v
        index = FaceIndex.concat([res[1] for res in results])
        del results
        print_log(
            f'FaceShardDataset: {len(index)} samples from {len(paths)} shards ({stats}); '
            f'{len(problems)} truncated/corrupt shards{": " + "; ".join(problems[:3]) if problems else ""}; '
            f'{len(mine)} shards indexed here in {seconds:.1f} s (rank {rank} of {world}); '
            f'index {index.nbytes / max(len(index), 1):.0f} bytes per sample',
            logger='current',
        )
        if not len(index):
            raise ValueError(
                f'the shards {paths[:3]}{" ..." if len(paths) > 3 else ""} hold no usable face: {stats} '
                f'(face={self.face!r}, score_thr={self.score_thr}, center={self.center!r}, cropped={self.cropped}). '
                'Lower `score_thr`, check that the .json members carry "faces", or set cropped=True for shards of '
                'face crops.'
            )
        return index, paths, stats, problems

    def _checked_paths(self) -> List[str]:
        """The expanded shard list, every path checked before any is read."""
        paths = expand_shards(self.shards, self.data_root)
        if not paths:
            raise FileNotFoundError(
                f'no tar shards match {self.shards!r} under {self.data_root!r}; point `data_root`/`shards` at '
                'the img2dataset output folder.'
            )
        for path in paths:
            check_shard(path)
        return paths

    def _index_these(self, paths: List[str], shard_ids: List[int]) -> List[tuple]:
        """[(shard_id, FaceIndex, stats, problems)] of the shards ``shard_ids``, ``index_workers`` at a time."""
        job = partial(
            index_face_shard,
            face=self.face,
            score_thr=self.score_thr,
            center=self.center,
            cropped=self.cropped,
            max_json_bytes=self.max_file_bytes,
        )
        args = [(s, paths[s]) for s in shard_ids]
        if self.index_workers > 1 and len(args) > 1:
            ctx = mp.get_context('fork' if 'fork' in mp.get_all_start_methods() else 'spawn')
            with ctx.Pool(min(self.index_workers, len(args))) as pool:
                results = pool.starmap(job, args, chunksize=1)  # in the order of args
        else:
            results = [job(*a) for a in args]
        return [(s, *res) for (s, _), res in zip(args, results)]

    def load_data_list(self) -> List[dict]:
        """The samples as a list of dicts (what BaseDataset would store; this dataset keeps :class:`FaceIndex`
        columns instead, see :meth:`full_init`). Builds the index if needed."""
        if not self._fully_initialized:
            self.full_init()
        return [self.get_data_info(i) for i in range(len(self))]

    def full_init(self) -> None:
        """Build the index (``self.index``), take the ``indices`` subset, size the shared skip counter."""
        if self._fully_initialized:
            return
        self.index, self.shard_paths, self.index_stats, self.index_problems = self.build_index()
        if self._indices is not None:
            self.index = self.index.take(_subset_rows(self._indices, len(self.index)))
        self._fully_initialized = True
        self._size_skip_counter()

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self.index)

    def get_data_info(self, idx: int) -> dict:
        """The sample's entry: shard (path), shard_id, key, img_span (offset, size), face (box, landmarks, score;
        None for cropped shards), face_idx, sample_idx. Built from the columns on each call."""
        if not self._fully_initialized:
            self.full_init()
        n = len(self.index)
        if not -n <= idx < n:
            raise IndexError(f'sample index {idx} is out of range for a dataset of {n} samples.')
        idx = int(idx) % n
        info = self.index.row(idx)
        info['shard'] = self.shard_paths[info['shard_id']]
        info['sample_idx'] = idx
        return info

    def get_subset_(self, indices: Union[Sequence[int], int]) -> None:
        """Keep only ``indices`` (BaseDataset's meaning: an int = the first/last few, a sequence = those rows)."""
        self.index = self.index.take(_subset_rows(indices, len(self)))
        self._size_skip_counter()

    def get_subset(self, indices: Union[Sequence[int], int]) -> 'FaceShardDataset':
        """A copy holding only ``indices`` (with its own skip counter)."""
        if not self._fully_initialized:
            self.full_init()
        index, self.index = self.index, None
        try:
            sub = self._copy_without_annotation()
        finally:
            self.index = index
        sub.index = index.take(_subset_rows(indices, len(index)))
        sub._size_skip_counter()
        return sub

    @property
    def index_nbytes(self) -> int:
        """Bytes the sample index takes (its numpy arrays)."""
        if not self._fully_initialized:
            self.full_init()
        return self.index.nbytes

    def shard_ids(self) -> np.ndarray:
        """[N] int64 shard id (index into ``shard_paths``) of every sample; non-decreasing (unless ``indices`` /
        ``get_subset`` reordered the samples)."""
        if not self._fully_initialized:
            self.full_init()
        return self.index.shard_id.astype(np.int64)

    @property
    def num_shards(self) -> int:
        """Number of shards the pattern expanded to (including shards that gave no sample)."""
        if not self._fully_initialized:
            self.full_init()
        return len(self.shard_paths)

    # ------------------------------------------------------------------------------------------------ read
    def __getitem__(self, idx: int) -> Optional[dict]:
        if self.on_bad == 'redraw':
            return super().__getitem__(idx)
        if not self._fully_initialized:
            self.full_init()
        return self.prepare_data(idx)

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Read, decode and crop one sample; an unreadable one is counted and returns None."""
        info = self.get_data_info(idx)
        self.skip_counter.checked()
        try:
            data = read_span(info['shard'], info['img_span'], self.max_file_bytes)
            img = decode_image(data, self.max_pixels, exif_transpose=self.exif_transpose)  # [H, W, 3] BGR
        except (ImageDecodeError, OSError) as err:
            self.skip_counter.skip(idx, f'{info["key"]} in {info["shard"]}', err)
            return None
        ori_shape = img.shape[:2]
        face = info['face']
        if face is not None:
            lms = np.asarray(face['landmarks']) if self.center == 'landmarks' else None  # [5, 2]
            img = crop_face(img, face['box'], self.margin, self.size, lms)  # [size, size, 3]
        results = dict(
            img=img,
            img_shape=img.shape[:2],
            ori_shape=ori_shape,
            img_path=f'{info["shard"]}/{info["key"]}',
            key=info['key'],
            shard=info['shard'],
            face_idx=info['face_idx'],
            sample_idx=idx,
        )
        return self.pipeline(results)
