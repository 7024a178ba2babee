"""The sample index of :class:`~mcf_mm.datasets.FaceShardDataset` as numpy columns (no per-sample Python objects).

At LAION-Face scale (tens of millions of faces) a list of dicts, or mmengine's pickled entries, costs hundreds of
bytes per sample in every training process. :class:`FaceIndex` keeps each field in one numpy array of the
smallest integer type that holds it, so the index costs tens of bytes per sample, pickles fast (for the
distributed all-gather and the indexing processes), and forked DataLoader workers read it without touching its
memory pages (no reference counts per sample).

Every value comes back exactly as parsed: coordinates and scores go through :class:`FloatColumn` (short decimals
such as the json's ``12.34`` as integers with a decimal scale, else float32 when that is exact, else float64),
keys through :class:`KeyColumn` (fixed-width digit strings as integers, else UTF-8 bytes).
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

MAX_DECIMALS = 6  # fixed-point scales tried: 10**0 .. 10**6
_EXACT_INT = 2**53  # integers up to this are exact in float64
_INT_TYPES = (np.int8, np.int16, np.int32, np.int64)


def small_ints(values) -> np.ndarray:
    """``values`` as an array of the smallest signed integer type that holds all of them."""
    arr = np.asarray(values)
    arr = arr.astype(np.int64) if arr.dtype.kind != 'i' else arr
    lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    dtype = next(t for t in _INT_TYPES if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max)
    return arr.astype(dtype, copy=False)


def _concat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return small_ints(np.concatenate([a.astype(np.int64) for a in arrays])) if arrays else small_ints([])


@dataclass
class FloatColumn:
    """Float64 values ``[N, ...]`` held exactly in fewer bytes.

    ``decimals >= 0``: ``data`` holds integers and the values are ``data / 10**decimals`` (exact for values with
    at most ``decimals`` decimal places, as json writers round them); ``decimals == -1``: ``data`` holds the
    values themselves (float32 when every value is a float32, else float64).
    """

    data: np.ndarray
    decimals: int

    @classmethod
    def pack(cls, values) -> 'FloatColumn':
        """The most compact exact form of ``values`` (finite floats; checked by decoding them back)."""
        x = np.asarray(values, np.float64)
        if not np.isfinite(x).all():
            raise ValueError('FloatColumn holds finite values only.')
        for k in range(MAX_DECIMALS + 1):
            ints = np.round(x * 10.0**k)
            if x.size and np.abs(ints).max() >= _EXACT_INT:
                break
            if np.array_equal(ints / 10.0**k, x):  # the decoding of values()
                return cls(small_ints(ints), k)
        with np.errstate(over='ignore'):  # values beyond float32's range become inf: not exact, float64 kept
            f32 = x.astype(np.float32)
        return cls(f32 if np.array_equal(f32.astype(np.float64), x) else x, -1)

    def values(self, rows=slice(None)) -> np.ndarray:
        """The float64 values of ``rows`` (an index, slice or index array)."""
        data = self.data[rows].astype(np.float64)
        return data / 10.0**self.decimals if self.decimals >= 0 else data

    def take(self, rows: np.ndarray) -> 'FloatColumn':
        return FloatColumn(self.data[rows], self.decimals)

    @classmethod
    def concat(cls, parts: Sequence['FloatColumn']) -> 'FloatColumn':
        """The parts' values one after another, exact: integer parts are rescaled to the largest ``decimals``
        (integer arithmetic), float parts are joined as they are, a mix is decoded and packed again."""
        if all(p.decimals >= 0 for p in parts):
            k = max(p.decimals for p in parts)
            scaled = [(p.data.astype(np.int64), 10 ** (k - p.decimals)) for p in parts]
            bound = max((int(np.abs(d).max()) * f for d, f in scaled if d.size), default=0)
            if bound < _EXACT_INT:
                return cls(_concat([d * f for d, f in scaled]), k)
        elif all(p.decimals < 0 for p in parts):
            return cls(np.concatenate([p.data for p in parts]), -1)  # float32 + float64 -> float64, exact
        return cls.pack(np.concatenate([p.values() for p in parts]))


@dataclass
class KeyColumn:
    """``N`` strings: ``digits > 0``: every key is that many ASCII digits, held as integers (``ints``);
    ``digits == 0``: UTF-8 bytes (undecodable names kept as surrogates) in ``buf``, key ``i`` ending at ``ends[i]``."""

    digits: int
    ints: Optional[np.ndarray] = None  # [N]
    buf: Optional[np.ndarray] = None  # [total bytes] uint8
    ends: Optional[np.ndarray] = None  # [N]

    @classmethod
    def pack(cls, keys: Sequence[str]) -> 'KeyColumn':
        widths = {len(k) for k in keys}
        if len(widths) == 1 and 0 < (width := widths.pop()) <= 18 and all(k.isascii() and k.isdigit() for k in keys):
            return cls(width, ints=small_ints([int(k) for k in keys]))
        return cls._from_bytes([k.encode('utf-8', 'surrogateescape') for k in keys])

    @classmethod
    def _from_bytes(cls, blobs: Sequence[bytes]) -> 'KeyColumn':
        buf = np.frombuffer(b''.join(blobs), np.uint8).copy()
        return cls(0, buf=buf, ends=small_ints(np.cumsum([len(b) for b in blobs], dtype=np.int64)))

    def __len__(self) -> int:
        return len(self.ints if self.digits else self.ends)

    def __getitem__(self, i: int) -> str:
        if self.digits:
            return str(int(self.ints[i])).zfill(self.digits)
        start = int(self.ends[i - 1]) if i > 0 else 0
        return self.buf[start : int(self.ends[i])].tobytes().decode('utf-8', 'surrogateescape')

    def _as_bytes(self) -> 'KeyColumn':
        return self if not self.digits else KeyColumn._from_bytes([self[i].encode() for i in range(len(self))])

    def take(self, rows: np.ndarray) -> 'KeyColumn':
        if self.digits:
            return KeyColumn(self.digits, ints=self.ints[rows])
        rows = np.asarray(rows, np.int64)
        if not len(rows):
            return KeyColumn._from_bytes([])
        ends = self.ends.astype(np.int64)
        starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)[rows]  # [n]
        lens = ends[rows] - starts  # [n]
        new_ends = np.cumsum(lens)
        pos = np.repeat(starts - (new_ends - lens), lens) + np.arange(int(new_ends[-1]))
        return KeyColumn(0, buf=self.buf[pos], ends=small_ints(new_ends))

    @classmethod
    def concat(cls, parts: Sequence['KeyColumn']) -> 'KeyColumn':
        widths = {p.digits for p in parts if len(p)}
        if len(widths) == 1 and (width := widths.pop()) > 0:
            return cls(width, ints=_concat([p.ints for p in parts if len(p)]))
        parts = [p._as_bytes() for p in parts]
        shifts = np.cumsum([0] + [len(p.buf) for p in parts[:-1]])
        ends = _concat([p.ends.astype(np.int64) + s for p, s in zip(parts, shifts)])
        return cls(0, buf=np.concatenate([p.buf for p in parts]), ends=ends)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.ints, self.buf, self.ends) if a is not None)


@dataclass
class FaceIndex:
    """The samples of a face-shard dataset, one row each, as columns ([N] unless noted).

    Columns: ``shard_id`` (index into the shard list), ``offset`` / ``size`` (the image member's data span),
    ``key``, ``face_idx`` (index in the json's ``faces``; -1 for shards of crops), and, for shards with
    detections (``box`` is None for crops): ``box`` [N, 4], ``landmarks`` [N, 5, 2] (0 where absent),
    ``has_landmarks`` (bool) and ``score``.
    """

    shard_id: np.ndarray
    offset: np.ndarray
    size: np.ndarray
    key: KeyColumn
    face_idx: np.ndarray
    box: Optional[FloatColumn] = None
    landmarks: Optional[FloatColumn] = None
    has_landmarks: Optional[np.ndarray] = None
    score: Optional[FloatColumn] = None

    @classmethod
    def build(cls, shard_id: int, keys: List[str], spans: List[tuple], face_idx: List[int], faces=None) -> 'FaceIndex':
        """One shard's rows. ``faces``: None (crops) or one dict(box, landmarks (5 [x, y] or None), score) per row."""
        n = len(keys)
        spans_arr = np.asarray(spans, np.int64).reshape(n, 2)  # [N, 2]
        out = cls(
            shard_id=small_ints(np.full(n, shard_id)),
            offset=small_ints(spans_arr[:, 0]),
            size=small_ints(spans_arr[:, 1]),
            key=KeyColumn.pack(keys),
            face_idx=small_ints(face_idx),
        )
        if faces is not None:
            zeros = [[0.0, 0.0]] * 5
            out.box = FloatColumn.pack(np.asarray([f['box'] for f in faces], np.float64).reshape(n, 4))
            lms = [f['landmarks'] if f['landmarks'] is not None else zeros for f in faces]
            out.landmarks = FloatColumn.pack(np.asarray(lms, np.float64).reshape(n, 5, 2))
            out.has_landmarks = np.array([f['landmarks'] is not None for f in faces], bool).reshape(n)
            out.score = FloatColumn.pack(np.asarray([f['score'] for f in faces], np.float64).reshape(n))
        return out

    def __len__(self) -> int:
        return len(self.shard_id)

    def row(self, i: int) -> dict:
        """Row ``i`` as dict(shard_id, key, img_span, face, face_idx) with plain Python values."""
        face = None
        if self.box is not None:
            lms = self.landmarks.values(i).tolist() if self.has_landmarks[i] else None  # 5 x [x, y]
            face = dict(box=self.box.values(i).tolist(), landmarks=lms, score=float(self.score.values(i)))
        return dict(
            shard_id=int(self.shard_id[i]),
            key=self.key[i],
            img_span=(int(self.offset[i]), int(self.size[i])),
            face=face,
            face_idx=int(self.face_idx[i]),
        )

    def take(self, rows) -> 'FaceIndex':
        """The rows ``rows`` (an int array), in that order."""
        rows = np.asarray(rows, np.int64)
        out = FaceIndex(
            self.shard_id[rows], self.offset[rows], self.size[rows], self.key.take(rows), self.face_idx[rows]
        )
        if self.box is not None:
            out.box, out.landmarks = self.box.take(rows), self.landmarks.take(rows)
            out.has_landmarks, out.score = self.has_landmarks[rows], self.score.take(rows)
        return out

    @classmethod
    def concat(cls, parts: Sequence['FaceIndex']) -> 'FaceIndex':
        """The parts' rows one after another (all parts of the same kind: with or without detections)."""
        if not parts:
            raise ValueError('FaceIndex.concat needs at least one part.')
        out = cls(
            _concat([p.shard_id for p in parts]),
            _concat([p.offset for p in parts]),
            _concat([p.size for p in parts]),
            KeyColumn.concat([p.key for p in parts]),
            _concat([p.face_idx for p in parts]),
        )
        if parts[0].box is not None:
            out.box = FloatColumn.concat([p.box for p in parts])
            out.landmarks = FloatColumn.concat([p.landmarks for p in parts])
            out.has_landmarks = np.concatenate([p.has_landmarks for p in parts])
            out.score = FloatColumn.concat([p.score for p in parts])
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns' arrays."""
        arrays = [self.shard_id, self.offset, self.size, self.face_idx, self.has_landmarks]
        arrays += [c.data for c in (self.box, self.landmarks, self.score) if c is not None]
        return sum(a.nbytes for a in arrays if a is not None) + self.key.nbytes
