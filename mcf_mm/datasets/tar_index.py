"""Random access into plain (uncompressed) webdataset tar shards: expand shard lists, index members once, read by seek.

A member ``dir/<key>.<ext>`` belongs to sample ``dir/<key>`` (the key is the file name up to its first dot, as
webdataset groups members). Indexing is one sequential pass over the shard's headers; members whose extension is in
``read_exts`` are read in that same pass (the face-shard dataset reads every ``.json`` there).
"""

import glob
import os
import os.path as osp
import re
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
    dot = name.find('.', name.rfind('/') + 1)
    return (name, '') if dot < 0 else (name[:dot], name[dot + 1 :].lower())


BLOCK = 512
_REGULAR = (b'0', b'\x00', b'7')  # regular file, old-style regular file, contiguous file


def _nts(field: bytes) -> str:
    """A NUL-terminated header string (names: UTF-8, undecodable bytes kept as surrogates, as tarfile does)."""
    return field.split(b'\x00', 1)[0].decode('utf-8', 'surrogateescape')


def _number(field: bytes) -> int:
    """A header number: octal text, or GNU base-256 (first byte 0x80) for sizes of 8 GiB and more."""
    if field[0] & 0x80:
        return int.from_bytes(field[1:], 'big')
    text = field.split(b'\x00', 1)[0].strip()
    return int(text, 8) if text else 0


def _pax_records(data: bytes) -> Dict[str, str]:
    """``"<len> key=value\\n"`` records of a pax extended header."""
    out, pos = {}, 0
    while pos < len(data) and data[pos : pos + 1] != b'\x00':
        space = data.index(b' ', pos)
        length = int(data[pos:space])
        key, _, value = data[space + 1 : pos + length - 1].partition(b'=')
        out[key.decode('utf-8', 'surrogateescape')] = value.decode('utf-8', 'surrogateescape')
        pos += length
    return out


def iter_tar_members(
    path: str,
    read_exts: Sequence[str] = (),
    max_read_bytes: Optional[int] = None,
    problems: Optional[List[str]] = None,
) -> Iterator[Tuple[str, str, Span, Optional[bytes]]]:
    """Regular-file members of a plain tar in file order, in one sequential pass over the headers.

    Reads ustar, GNU (long names, base-256 sizes) and pax (``path``, ``size``) headers directly: about 3x
    faster than ``tarfile``, whose member offsets it reproduces (tested). Directories, links and other
    non-regular members are passed over.

    Args:
        path: the shard.
        read_exts: extensions whose data is read during the pass (others are skipped by seeking).
        max_read_bytes: members of ``read_exts`` larger than this yield ``data=None`` (not read).
        problems: when given, a message is appended for a truncated or corrupt shard (and always logged).
    Yields:
        (key, ext, (offset, size), data or None). A truncated or corrupt shard yields the members before the
        damage: a member whose data runs past the end of the file, or a header whose checksum is wrong, ends it.
    """
    read_exts = set(read_exts)
    file_size = os.path.getsize(path)

    def problem(msg: str) -> None:
        print_log(f'tar shard {path}: {msg}; indexed the members before it', logger='current', level=30)
        if problems is not None:
            problems.append(f'{path}: {msg}')

    offset, long_name, pax = 0, None, {}
    with open(path, 'rb', buffering=1 << 20) as f:
        while True:
            f.seek(offset)
            block = f.read(BLOCK)
            if len(block) < BLOCK:
                problem('not a tar file (empty)' if offset == 0 else 'truncated (no end-of-archive marker)')
                return
            if not block.strip(b'\x00'):
                return  # end-of-archive marker
            try:
                chksum = _number(block[148:156])
                size = _number(block[124:136])
            except ValueError:
                chksum = size = -1
            unsigned = sum(block) - sum(block[148:156]) + 8 * 32
            signed = unsigned - 256 * sum(b >= 128 for b in block[:148] + block[156:]) if chksum != unsigned else 0
            if chksum not in (unsigned, signed):  # tarfile accepts both sums too
                problem('not a tar file' if offset == 0 else f'corrupt header at byte {offset}')
                return
            kind = block[156:157]
            name = _nts(block[:100])
            if block[257:263] == b'ustar\x00' and block[345] != 0:  # POSIX ustar: name = prefix/name
                name = _nts(block[345:500]) + '/' + name
            data_offset = offset + BLOCK
            if kind in (b'L', b'K', b'x', b'g'):  # extension headers: their data describes the next member
                if data_offset + size > file_size:
                    problem(f'truncated in an extension header at byte {offset}')
                    return
                data = f.read(size)
                if kind == b'L':
                    long_name = _nts(data)
                elif kind == b'x':
                    try:
                        pax.update(_pax_records(data))
                    except ValueError:
                        problem(f'corrupt pax header at byte {offset}')
                        return
                offset = data_offset + -(-size // BLOCK) * BLOCK
                continue
            name = pax.get('path', long_name if long_name is not None else name)
            if 'size' in pax:
                size = int(pax['size'])
            long_name, pax = None, {}
            offset = data_offset + -(-size // BLOCK) * BLOCK
            if kind not in _REGULAR or name.endswith('/'):  # directories, links, devices, ...
                continue
            if data_offset + size > file_size:
                problem(f'truncated in member {name!r}')
                return
            key, ext = split_member_name(name)
            data = None
            if ext in read_exts and (max_read_bytes is None or size <= max_read_bytes):
                data = f.read(size)
            yield key, ext, (data_offset, size), data


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
