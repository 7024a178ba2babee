"""Random access into plain (uncompressed) webdataset tar shards: expand shard lists, index members once, read by seek.

A member ``dir/<key>.<ext>`` belongs to sample ``dir/<key>`` (the key is the file name up to its first dot, as
webdataset groups members). Indexing is one sequential pass over the shard's headers; members whose extension is in
``read_exts`` are read in that same pass (the face-shard dataset reads every ``.json`` there).
"""

import glob
import os
import os.path as osp
import re
import tarfile
from collections import defaultdict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log

from .decode import ImageDecodeError

Span = Tuple[int, int]  # (byte offset of the member's data in the shard, its size in bytes)
IMAGE_EXTS = ('jpg', 'jpeg', 'png', 'webp')  # image members, in order of preference
COMPRESSED_SUFFIXES = ('.gz', '.tgz', '.bz2', '.xz', '.zst')


class MemberTooLargeError(ImageDecodeError):
    """A tar member is larger than the reader's cap (``max_file_bytes``)."""


def expand_shards(shards: Union[str, Sequence[str]], root: str = '') -> List[str]:
    """Shard list from paths, globs or webdataset brace ranges (``part-{00000..00009}.tar``).

    Args:
        shards: one pattern or a list of them; globs are sorted, lists keep their order.
        root: folder the patterns are relative to ('' = as given).
    Returns:
        The paths in that order (a plain path is returned even if it does not exist).
    """
    items = [shards] if isinstance(shards, str) else list(shards)
    out = []
    for item in items:
        match = re.search(r'\{(\d+)\.\.(\d+)\}', item)
        if match:
            lo, hi = match.group(1), match.group(2)
            names = [
                item[: match.start()] + str(i).zfill(len(lo)) + item[match.end() :] for i in range(int(lo), int(hi) + 1)
            ]
        else:
            names = [item]
        for name in names:
            path = osp.join(root, name) if root else name
            found = sorted(glob.glob(path)) if any(c in path for c in '*?[') else [path]
            out.extend(found)
    return out


def check_shard(path: str) -> None:
    """Raise a clear error when ``path`` is missing or compressed (random access needs plain .tar)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'tar shard {path!r} does not exist.')
    if path.endswith(COMPRESSED_SUFFIXES):
        raise ValueError(
            f'{path!r} is compressed; random access needs plain .tar shards (img2dataset writes them by default).'
        )


def split_member_name(name: str) -> Tuple[str, str]:
    """``'dir/000123.face.json'`` -> (``'dir/000123'``, ``'face.json'``); the extension is lower-cased."""
    base = osp.basename(name)
    key, _, ext = base.partition('.')
    return osp.join(osp.dirname(name), key), ext.lower()


def iter_tar_members(
    path: str,
    read_exts: Sequence[str] = (),
    max_read_bytes: Optional[int] = None,
    problems: Optional[List[str]] = None,
) -> Iterator[Tuple[str, str, Span, Optional[bytes]]]:
    """Regular-file members of a plain tar in file order, in one sequential pass.

    Args:
        path: the shard.
        read_exts: extensions whose data is read during the pass (others are skipped by seeking).
        max_read_bytes: members of ``read_exts`` larger than this yield ``data=None`` (not read).
        problems: when given, a message is appended for a truncated or corrupt shard (and always logged).
    Yields:
        (key, ext, (offset, size), data or None). A truncated or corrupt shard yields the members before the
        damage: a member whose data runs past the end of the file is not yielded.
    """
    read_exts = set(read_exts)
    file_size = os.path.getsize(path)

    def problem(msg: str) -> None:
        print_log(f'tar shard {path}: {msg}; indexed the members before it', logger='current', level=30)
        if problems is not None:
            problems.append(f'{path}: {msg}')

    with open(path, 'rb') as f:
        try:
            tar = tarfile.open(fileobj=f, mode='r:')
        except tarfile.TarError as err:
            problem(f'not a readable tar ({err})')
            return
        try:
            while True:
                try:
                    m = tar.next()
                except tarfile.TarError as err:
                    problem(f'corrupt header ({err})')
                    return
                if m is None:
                    f.seek(tar.offset)
                    block = f.read(tarfile.BLOCKSIZE)
                    if len(block) < tarfile.BLOCKSIZE:
                        problem('truncated (no end-of-archive marker)')
                    elif block.count(0) != len(block):
                        problem(f'corrupt header at byte {tar.offset}')
                    return
                tar.members.clear()  # tarfile keeps every header; the index only needs the current one
                if not m.isfile():
                    continue
                if m.offset_data + m.size > file_size:
                    problem(f'truncated in member {m.name!r}')
                    return
                key, ext = split_member_name(m.name)
                data = None
                if ext in read_exts and (max_read_bytes is None or m.size <= max_read_bytes):
                    f.seek(m.offset_data)
                    data = f.read(m.size)
                yield key, ext, (m.offset_data, m.size), data
        finally:
            tar.close()


def index_tar(path: str, problems: Optional[List[str]] = None) -> Dict[str, Dict[str, Span]]:
    """``{key: {ext: (offset, size)}}`` of a plain tar shard, keys in first-member order (see iter_tar_members).

    Args:
        path: the shard.
        problems: when given, collects messages about truncated/corrupt shards.
    """
    members: Dict[str, Dict[str, Span]] = defaultdict(dict)
    for key, ext, span, _ in iter_tar_members(path, problems=problems):
        members[key][ext] = span
    return dict(members)


def read_span(path: str, span: Span, max_bytes: Optional[int] = None) -> bytes:
    """The bytes of one member, read by seeking.

    Args:
        path: the shard.
        span: (offset, size) from the index.
        max_bytes: larger members raise :class:`MemberTooLargeError` without being read (None: no cap).
    Raises:
        MemberTooLargeError: the member is over ``max_bytes``.
        OSError: the file is shorter than the index says (it changed after indexing).
    """
    offset, size = span
    if max_bytes is not None and size > max_bytes:
        raise MemberTooLargeError(f'tar member of {size} bytes is more than max_file_bytes={max_bytes}')
    with open(path, 'rb') as f:
        f.seek(offset)
        data = f.read(size)
    if len(data) != size:
        raise OSError(f'{path} is shorter than its index: read {len(data)} of {size} bytes at offset {offset}')
    return data
