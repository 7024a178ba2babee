"""Robust image decoding: every readable image becomes HxWx3 uint8 BGR; anything else raises ImageDecodeError."""

import io
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageOps

# Formats a face crop is stored in. PIL's other plugins (EPS runs Ghostscript, PSD/FITS/ICO/...) are never tried,
# whatever the file's name says. JPEG includes MPO (multi-picture JPEG from phones).
SAFE_FORMATS = ('JPEG', 'PNG', 'WEBP', 'BMP', 'GIF', 'TIFF', 'PPM')
# 8192 x 8192: far above any face crop, below PIL's own decompression-bomb limits (which stay in force).
DEFAULT_MAX_PIXELS = 1 << 26


class ImageDecodeError(ValueError):
    """The sample is not a readable image (empty, truncated, corrupt, too large, a special file or another type)."""


def decode_image(
    data: bytes,
    max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
    formats: Sequence[str] = SAFE_FORMATS,
    exif_transpose: bool = True,
) -> np.ndarray:
    """Decode encoded image bytes to an [H, W, 3] uint8 BGR array.

    Handles grayscale, palette, alpha, CMYK and 16-bit images and the first frame of animations; applies the EXIF
    orientation (the image comes out as a viewer shows it). The header's size is checked against ``max_pixels``
    before any pixel is decoded (``None``: only PIL's decompression-bomb limit applies).

    Raises:
        ImageDecodeError: for empty, truncated, corrupt, oversized or non-image data. Any exception from the decoder
            becomes this error (named in the message): untrusted bytes must never stop a run; a bug that makes
            every image fail is caught by the datasets' ``max_bad_fraction``.
    """
    if not data:
        raise ImageDecodeError('empty file (0 bytes)')
    try:
        with Image.open(io.BytesIO(data), formats=list(formats)) as im:
            width, height = im.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageDecodeError(
                    f'{width}x{height} = {width * height} pixels is more than max_pixels='
                    f'{max_pixels} (raise the cap if such images are expected)'
                )
            im.load()  # forces a full decode: truncated files raise here
            if exif_transpose:
                im = ImageOps.exif_transpose(im)
            arr = _to_rgb8(im)
    except ImageDecodeError:
        raise
    except Exception as err:  # noqa: BLE001 - PIL raises many types on corrupt input (OSError, SyntaxError, ...)
        raise ImageDecodeError(f'{type(err).__name__}: {err}') from err
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageDecodeError(f'decoded to an unusable array of shape {arr.shape}')
    return np.ascontiguousarray(arr[..., ::-1])  # RGB -> BGR (mm* convention)


def _to_rgb8(im: Image.Image) -> np.ndarray:
    """[H, W, 3] uint8 RGB from any PIL mode; 16-bit values are scaled (v / 257, rounded), not clipped."""
    if im.mode.startswith('I;16'):
        arr = np.asarray(im).astype(np.uint32)
        gray = ((arr * 255 + 32767) // 65535).astype(np.uint8)  # round(v / 257): 65535 -> 255, 257 -> 1
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode == 'I':
        arr = np.asarray(im).astype(np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode == 'F':
        arr = np.asarray(im)
        lo, hi = float(arr.min()), float(arr.max())
        gray = ((arr - lo) / max(hi - lo, 1e-12) * 255.0).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.asarray(im.convert('RGB'))
