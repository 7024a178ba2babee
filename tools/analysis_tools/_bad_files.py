"""The data_stress zoo: good, unusual and bad image files in folder, list-file and LMDB layouts.

Test material, shared by tools/analysis_tools/data_stress.py and tests/datasets/test_bad_data.py (which also use
the single-file encoders ``enc`` and ``png_bomb``). See data_stress.py for what the zoo holds.
"""

import hashlib
import io
import os
import os.path as osp
import stat
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

# EXIF orientation -> how the stored [H, W, C] array is shown (the EXIF 2.3 definitions, written with numpy).
ORIENT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}
MAX_PIXELS, MAX_BYTES = 250_000, 64 << 10  # caps the zoo is read with (small, so bombs and oversize stay tiny)


def digest(bgr: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(bgr).tobytes()).hexdigest()


def enc(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _chunk(tag: bytes, body: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack('>I', len(body)) + tag + body + struct.pack('>I', zlib.crc32(tag + body))


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height gray pixels; the data is one tiny zlib stream."""
    import struct
    import zlib

    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    return (
        b'\x89PNG\r\n\x1a\n' + _chunk(b'IHDR', ihdr) + _chunk(b'IDAT', zlib.compress(b'\0' * 64)) + _chunk(b'IEND', b'')
    )


def good_blobs(rng, n: int, reps: int) -> List[Tuple[str, bytes, tuple, str]]:
    """(name, bytes, displayed shape, sha1 of the BGR pixels or '' when lossy) of images that must decode."""
    out = []

    def rgb(h=None, w=None):
        h, w = h or int(rng.integers(4, 25)), w or int(rng.integers(4, 25))
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)

    for i in range(n):
        a = rgb()
        if i % 2:
            out.append((f'good_{i:06d}.png', enc(Image.fromarray(a), 'PNG'), a.shape[:2], digest(a[..., ::-1])))
        else:
            out.append((f'good_{i:06d}.jpg', enc(Image.fromarray(a), 'JPEG'), a.shape[:2], ''))
    for r in range(reps):
        a = rgb()
        gray = Image.fromarray(a).convert('L')
        deep = Image.fromarray(rng.integers(0, 65536, a.shape[:2], dtype=np.uint16))
        frames = [Image.fromarray(rgb(*a.shape[:2])) for _ in range(3)]
        px = rgb(1, 1)
        variants = {
            'deep16.png': enc(deep, 'PNG'),
            'deep16.tif': enc(deep, 'TIFF'),
            'cmyk.jpg': enc(Image.fromarray(a).convert('CMYK'), 'JPEG'),
            'cmyk.tif': enc(Image.fromarray(a).convert('CMYK'), 'TIFF'),
            'palette.png': enc(Image.fromarray(a).convert('P'), 'PNG'),
            'palette_transp.png': enc(Image.fromarray(a).convert('P'), 'PNG', transparency=0),
            'palette.gif': enc(Image.fromarray(a), 'GIF'),
            'rgba.png': enc(Image.fromarray(a).convert('RGBA'), 'PNG'),
            'rgba.webp': enc(Image.fromarray(a).convert('RGBA'), 'WEBP'),
            'la.png': enc(gray.convert('LA'), 'PNG'),
            'bilevel.png': enc(gray.convert('1'), 'PNG'),
            'bilevel.tif': enc(gray.convert('1'), 'TIFF'),
            'gray.jpg': enc(gray, 'JPEG'),
            'float.tif': enc(gray.convert('F'), 'TIFF'),
            'int32.tif': enc(gray.convert('I'), 'TIFF'),
            'px1.png': enc(Image.fromarray(px), 'PNG'),
            'px1.jpg': enc(Image.fromarray(px), 'JPEG'),
            'px1.gif': enc(Image.fromarray(px), 'GIF'),
            'px1.bmp': enc(Image.fromarray(px), 'BMP'),
            'anim.gif': enc(frames[0], 'GIF', save_all=True, append_images=frames[1:]),
            'anim.png': enc(frames[0], 'PNG', save_all=True, append_images=frames[1:]),
            'anim.webp': enc(frames[0], 'WEBP', save_all=True, append_images=frames[1:]),
            'multipage.tif': enc(frames[0], 'TIFF', save_all=True, append_images=frames[1:]),
            'lzw.tif': enc(Image.fromarray(a), 'TIFF', compression='tiff_lzw'),
            'deflate.tif': enc(Image.fromarray(a), 'TIFF', compression='tiff_adobe_deflate'),
            'lossy.webp': enc(Image.fromarray(a), 'WEBP'),
            'lossless.webp': enc(Image.fromarray(a), 'WEBP', lossless=True),
            'plain.bmp': enc(Image.fromarray(a), 'BMP'),
            'plain.ppm': enc(Image.fromarray(a), 'PPM'),
            'gray.pgm': enc(gray, 'PPM'),
            'progressive.jpg': enc(Image.fromarray(a), 'JPEG', progressive=True),
            'interlaced.png': enc(Image.fromarray(a), 'PNG', interlace=1),
            'png_named.jpg': enc(Image.fromarray(a), 'PNG'),
            'upper.JPG': enc(Image.fromarray(a), 'JPEG'),
            'trailing_junk.jpg': enc(Image.fromarray(a), 'JPEG') + b'\0junk' * 20,
        }
        for name, data in variants.items():
            shape = (1, 1) if name.startswith('px1') else a.shape[:2]
            lossless = name in ('lossless.webp', 'plain.bmp', 'plain.ppm', 'lzw.tif', 'interlaced.png', 'png_named.jpg')
            out.append((f'u{r:03d}_{name}', data, shape, digest(a[..., ::-1]) if lossless else ''))
        for o, turn in ORIENT.items():  # EXIF orientations: lossless PNG (pixels checked) and JPEG (shape)
            exif = Image.Exif()
            exif[0x0112] = o
            shown = turn(a)
            out.append(
                (
                    f'u{r:03d}_exif{o}.png',
                    enc(Image.fromarray(a), 'PNG', exif=exif),
                    shown.shape[:2],
                    digest(shown[..., ::-1]),
                )
            )
            out.append((f'u{r:03d}_exif{o}.jpg', enc(Image.fromarray(a), 'JPEG', exif=exif), shown.shape[:2], ''))
    return out


def bad_blobs(rng, cuts: int, reps: int) -> List[Tuple[str, bytes]]:
    """(name, bytes) of files that must be skipped with the zoo's caps (MAX_PIXELS, MAX_BYTES)."""
    a = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    bases = {
        'jpg': enc(Image.fromarray(a), 'JPEG'),
        'png': enc(Image.fromarray(a), 'PNG'),
        'webp': enc(Image.fromarray(a), 'WEBP'),
        'gif': enc(Image.fromarray(a), 'GIF'),
        'tif': enc(Image.fromarray(a), 'TIFF'),
        'bmp': enc(Image.fromarray(a), 'BMP'),
    }
    out = []
    for ext, data in bases.items():  # cut points spread over the first 90% (the pixel data is never complete)
        for c in sorted(set(np.linspace(0, int(len(data) * 0.9), cuts).astype(int).tolist())):
            out.append((f'trunc_{ext}_{c:06d}.{ext}', data[:c]))
    jpeg_header = bases['jpg'][: bases['jpg'].index(b'\xff\xda')]  # everything before the scan
    for r in range(reps):
        out += [
            (f'b{r:03d}_empty.jpg', b''),
            (f'b{r:03d}_text.png', b'not an image, just text\n' * (r + 1)),
            (f'b{r:03d}_random.jpg', rng.bytes(int(rng.integers(1, 4000)))),
            (f'b{r:03d}_random_jpeg_magic.jpg', b'\xff\xd8\xff' + rng.bytes(int(rng.integers(1, 4000)))),
            (f'b{r:03d}_random_png_magic.png', bases['png'][:16] + rng.bytes(int(rng.integers(1, 4000)))),
            (f'b{r:03d}_header_only.jpg', jpeg_header),
            (f'b{r:03d}_header_only.png', bases['png'][:33]),
            (f'b{r:03d}_header_only.gif', bases['gif'][:13]),
            (f'b{r:03d}_header_only.webp', bases['webp'][:30]),
            (f'b{r:03d}_bomb_header.png', png_bomb(100_000, 100_000)),  # PIL's own bomb limit
            (f'b{r:03d}_bomb_zlib.png', enc(Image.new('L', (1000, 1000 + r)), 'PNG')),  # > MAX_PIXELS, ~1 KB
            (
                f'b{r:03d}_oversize.png',
                enc(Image.fromarray(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)), 'PNG'),
            ),  # > MAX_BYTES
            (f'b{r:03d}_eps.jpg', b'%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n'),
            (f'b{r:03d}_ico.png', enc(Image.fromarray(a), 'ICO')),
            (f'b{r:03d}_pdf.jpg', b'%PDF-1.4\n%%EOF\n'),
        ]
    return out


def write_zoo(root: str, good: int = 200, reps: int = 4, cuts: int = 80, seed: int = 0) -> Dict:
    """Write the zoo under ``root``; returns what each layout must yield (good names -> shape/sha1, bad names)."""
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, 'images')
    os.makedirs(osp.join(img_dir, 'sub'), exist_ok=True)
    goods, bads = good_blobs(rng, good, reps), bad_blobs(rng, cuts, reps)
    for name, data, *_ in goods + bads:
        with open(osp.join(img_dir, name), 'wb') as f:
            f.write(data)
    expect = {name: (tuple(shape), sha) for name, _, shape, sha in goods}
    for name, data, shape, sha in goods[:3]:  # nested, inside a directory named like an image, and via a link
        for folder in ('sub', 'dir_named_like.jpg'):
            os.makedirs(osp.join(img_dir, folder), exist_ok=True)
            with open(osp.join(img_dir, folder, name), 'wb') as f:
                f.write(data)
            expect[f'{folder}/{name}'] = (tuple(shape), sha)
        os.symlink(name, osp.join(img_dir, f'link_to_{name}'))
        expect[f'link_to_{name}'] = (tuple(shape), sha)
    special = []
    for i in range(3):
        os.mkfifo(osp.join(img_dir, f'fifo_{i}.jpg'))
        special.append(f'fifo_{i}.jpg')
    os.mknod(osp.join(img_dir, 'socket.png'), stat.S_IFSOCK | 0o600)
    for dev in ('zero', 'null', 'urandom'):
        os.symlink(f'/dev/{dev}', osp.join(img_dir, f'dev_{dev}.jpg'))
    os.symlink('loop_self.jpg', osp.join(img_dir, 'loop_self.jpg'))
    os.symlink('loop_b.jpg', osp.join(img_dir, 'loop_a.jpg'))
    os.symlink('loop_a.jpg', osp.join(img_dir, 'loop_b.jpg'))
    os.symlink('does_not_exist.jpg', osp.join(img_dir, 'dangling.jpg'))
    special += [
        'socket.png',
        'dev_zero.jpg',
        'dev_null.jpg',
        'dev_urandom.jpg',
        'loop_self.jpg',
        'loop_a.jpg',
        'loop_b.jpg',
        'dangling.jpg',
    ]
    os.symlink('..', osp.join(img_dir, 'sub', 'back_up'))  # directory symlink loops
    os.symlink('.', osp.join(img_dir, 'dir_link_loop.png'))
    file_bad = [n for n, _ in bads] + special
    list_bad = file_bad + ['dir_named_like.jpg', 'dir_link_loop.png', 'missing_file.jpg']
    with open(osp.join(root, 'list.txt'), 'w') as f:
        f.write('\n'.join(sorted(list(expect) + list_bad)) + '\n')
    lmdb_bad = [n for n, _ in bads] + ['missing_key_1', 'missing_key_2']
    _write_lmdb(osp.join(root, 'zoo.lmdb'), [(n, d) for n, d, *_ in goods] + bads)
    with open(osp.join(root, 'keys.txt'), 'w') as f:
        f.write('\n'.join(sorted([n for n, *_ in goods] + lmdb_bad)) + '\n')
    return dict(
        img_dir=img_dir,
        list_file=osp.join(root, 'list.txt'),
        lmdb=osp.join(root, 'zoo.lmdb'),
        keys=osp.join(root, 'keys.txt'),
        good=expect,
        lmdb_good={n: (tuple(s), h) for n, _, s, h in goods},
        folder_bad=set(file_bad),
        list_bad=set(list_bad),
        lmdb_bad=set(lmdb_bad),
    )


def _write_lmdb(path: str, items: List[Tuple[str, bytes]]) -> None:
    import lmdb

    env = lmdb.open(path, map_size=max(1 << 24, 4 * sum(len(d) for _, d in items)))
    with env.begin(write=True) as txn:
        for key, data in items:
            txn.put(key.encode(), data)
        txn.put(b'length', str(len(items)).encode())
    env.close()
