"""Reading sample files that may be anything: FIFOs, devices, sockets, directories, symlink loops, huge files.

A path is stat-ed before it is opened and only regular files are read (a FIFO would block ``open`` forever, a
symlink to /dev/zero would be read without end); the open uses O_NONBLOCK (a file swapped for a FIFO after the
stat cannot block) and the descriptor is checked again; at most ``max_bytes + 1`` bytes are read.
"""

import os
import stat
from typing import Dict, List, Optional, Sequence, Tuple

from .decode import ImageDecodeError

# 64 MiB: far above any face crop; a larger "image" is a mistake or an attack.
DEFAULT_MAX_FILE_BYTES = 64 << 20
_KINDS = (
    (stat.S_ISDIR, 'a directory'),
    (stat.S_ISFIFO, 'a FIFO (named pipe)'),
    (stat.S_ISSOCK, 'a socket'),
    (stat.S_ISCHR, 'a character device'),
    (stat.S_ISBLK, 'a block device'),
)


def file_kind(mode: int) -> str:
    """Human name of a non-regular file type (for messages)."""
    return next((name for test, name in _KINDS if test(mode)), 'not a regular file')


def read_regular_file(path: str, max_bytes: Optional[int] = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file (symlinks followed) of at most ``max_bytes``; ImageDecodeError otherwise.

    Raises:
        ImageDecodeError: the path is a directory, FIFO, socket or device (or links to one), or is too large.
        OSError: missing file, dangling link, symlink loop (ELOOP), no permission.
    """
    st = os.stat(path)  # follows symlinks; a loop raises OSError(ELOOP)
    if not stat.S_ISREG(st.st_mode):
        raise ImageDecodeError(f'{file_kind(st.st_mode)}, not an image file')
    if max_bytes is not None and st.st_size > max_bytes:
        raise ImageDecodeError(f'{st.st_size} bytes is more than max_file_bytes={max_bytes}')
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
    try:
        st = os.fstat(fd)  # the file that was actually opened (it may have been replaced since the stat)
        if not stat.S_ISREG(st.st_mode):
            raise ImageDecodeError(f'{file_kind(st.st_mode)}, not an image file')
        limit = st.st_size + 1 if max_bytes is None else max_bytes + 1
        chunks, total = [], 0
        while total < limit:  # a growing file cannot make this read without end
            chunk = os.read(fd, min(limit - total, 1 << 22))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    data = b''.join(chunks)
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageDecodeError(f'more than max_file_bytes={max_bytes} bytes (the file grew while read)')
    return data


def scan_image_files(root: str, extensions: Sequence[str]) -> Tuple[List[str], Dict[str, int]]:
    """Sorted paths under ``root`` whose names end with ``extensions``; directory symlinks are followed.

    Every non-directory entry with a matching name is listed (a FIFO or broken link named x.jpg is then skipped
    and counted when read, never opened here). Each directory is walked once: one reached again (a symlink loop,
    or a second link to it) is not entered, so the walk ends and lists no file twice; one that cannot be listed
    is left out. Both are counted in the returned report, as are directories whose name looks like an image
    (they are walked, not read).
    """
    exts = tuple(e.lower() for e in extensions)
    report = dict(repeated_directories=0, unreadable_directories=0, directories_named_like_images=0)
    paths: List[str] = []
    root_st = os.stat(root)
    seen = {(root_st.st_dev, root_st.st_ino)}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            report['unreadable_directories'] += 1
            continue
        subdirs = []
        for entry in entries:
            named_like_image = entry.name.lower().endswith(exts)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if not is_dir:
                if named_like_image:
                    paths.append(entry.path)
                continue
            report['directories_named_like_images'] += named_like_image
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError:
                report['unreadable_directories'] += 1
                continue
            if (st.st_dev, st.st_ino) in seen:
                report['repeated_directories'] += 1
                continue
            seen.add((st.st_dev, st.st_ino))
            subdirs.append(entry.path)
        stack.extend(reversed(subdirs))  # walked in name order
    paths.sort()
    return paths, report


def describe_scan(root: str, n: int, report: Dict[str, int]) -> str:
    """One log line for a folder scan."""
    notes = {
        'repeated_directories': 'directories reached twice (symlink loops) not re-entered',
        'unreadable_directories': 'directories that could not be listed',
        'directories_named_like_images': 'directories named like images walked as folders',
    }
    extra = '; '.join(f'{report[k]} {text}' for k, text in notes.items() if report.get(k))
    return f'{root}: {n} image files' + (f' ({extra})' if extra else '')
