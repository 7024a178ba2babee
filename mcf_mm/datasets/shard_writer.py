"""Write webdataset tar shards in img2dataset's layout: ``00000.tar``, ``00001.tar``, ... holding ``<key>.<ext>``.

Each shard is written under a temporary name (``00000.tar.partial``, which no ``*.tar`` pattern matches) and
renamed to its final name only once complete, so a killed writer never leaves a half shard under a final name.
"""

import io
import os
import os.path as osp
import tarfile
from typing import Dict, List, Optional


class ShardWriter:
    """Samples in, shards of ``maxcount`` samples out.

    Args:
        out_dir: output folder (created).
        maxcount: samples per shard (the last one may hold fewer).
        start_shard: number of the first shard.
        name_format: shard file name from its number.

    Use as a context manager; leaving the block normally closes and publishes the last shard, leaving it by an
    exception deletes the unfinished shard (the finished ones stay)::

        with ShardWriter('out/', maxcount=1000) as sink:
            sink.write('000000001', {'jpg': jpg_bytes, 'json': json_bytes, 'txt': b'a caption'})
        sink.paths  # the finished shards
    """

    def __init__(
        self, out_dir: str, maxcount: int = 10000, start_shard: int = 0, name_format: str = '{:05d}.tar'
    ) -> None:
        if maxcount < 1:
            raise ValueError(f'maxcount={maxcount}: a shard must hold at least one sample.')
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir, self.maxcount, self.name_format = out_dir, int(maxcount), name_format
        self.shard = int(start_shard)
        self.paths: List[str] = []
        self.num_samples = 0
        self._tar: Optional[tarfile.TarFile] = None
        self._tmp = self._final = ''
        self._count = 0
        self._keys: set = set()

    def write(self, key: str, members: Dict[str, bytes]) -> None:
        """Add one sample: ``members`` maps an extension (``'jpg'``, ``'json'``, ``'txt'``) to its bytes, written
        in that order as ``<key>.<ext>``."""
        if not key or '.' in osp.basename(key) or key.startswith('/'):
            raise ValueError(f'key {key!r} must be non-empty, relative and hold no dot (the dot starts the ext).')
        if not members:
            raise ValueError(f'sample {key!r} has no members.')
        if self._tar is None:
            self._open()
        if key in self._keys:
            raise ValueError(f'key {key!r} is already in shard {self._final}; keys must be unique.')
        self._keys.add(key)
        for ext, data in members.items():
            info = tarfile.TarInfo(f'{key}.{ext}')
            info.size = len(data)
            info.mode = 0o644
            self._tar.addfile(info, io.BytesIO(data))
        self._count += 1
        self.num_samples += 1
        if self._count >= self.maxcount:
            self._finish()

    def _open(self) -> None:
        self._final = osp.join(self.out_dir, self.name_format.format(self.shard))
        self._tmp = self._final + '.partial'
        self._tar = tarfile.open(self._tmp, 'w', format=tarfile.GNU_FORMAT)
        self._count, self._keys = 0, set()

    def _finish(self) -> None:
        """Close the current shard and give it its final name."""
        tar, self._tar = self._tar, None
        tar.close()
        os.replace(self._tmp, self._final)
        self.paths.append(self._final)
        self.shard += 1

    def close(self) -> List[str]:
        """Publish the last (partial-count) shard; returns the paths of all finished shards."""
        if self._tar is not None:
            self._finish()
        return self.paths

    def abort(self) -> None:
        """Delete the unfinished shard (finished shards stay)."""
        if self._tar is not None:
            tar, self._tar = self._tar, None
            tar.close()
            if osp.exists(self._tmp):
                os.remove(self._tmp)

    def __enter__(self) -> 'ShardWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
