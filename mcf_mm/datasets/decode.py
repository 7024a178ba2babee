"""Robust image decoding: every readable image becomes HxWx3 uint8 BGR; anything else raises ImageDecodeError."""
import io

import numpy as np
from PIL import Image, UnidentifiedImageError


class ImageDecodeError(ValueError):
    """The bytes are not a readable image (empty, truncated, corrupt or another file type)."""


def decode_image(data: bytes) -> np.ndarray:
    """Decode encoded image bytes to an [H, W, 3] uint8 BGR array.

    Handles grayscale, palette, alpha, CMYK and 16-bit images; raises :class:`ImageDecodeError` for empty,
    truncated or non-image data.
    """
    if not data:
        raise ImageDecodeError('empty file (0 bytes)')
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # forces a full decode: truncated files raise here
            arr = _to_rgb8(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageDecodeError(f'{type(err).__name__}: {err}') from err
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageDecodeError(f'decoded to an unusable array of shape {arr.shape}')
    return np.ascontiguousarray(arr[..., ::-1])  # RGB -> BGR (mm* convention)


def _to_rgb8(im: Image.Image) -> np.ndarray:
    if im.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        arr = np.asarray(im).astype(np.float64)
        top = 65535.0 if arr.max() > 255 or im.mode.startswith('I;16') else 255.0
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode == 'F':
        arr = np.asarray(im)
        lo, hi = float(arr.min()), float(arr.max())
        gray = ((arr - lo) / max(hi - lo, 1e-12) * 255.0).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.asarray(im.convert('RGB'))
