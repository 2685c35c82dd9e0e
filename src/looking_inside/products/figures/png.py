"""PNG bytes from an RGBA array, written here rather than by Pillow: twice as fast
for our figures, and no larger.

A figure is mostly transparent canvas around lines, text and small images. Pillow
tries all five PNG filters on every row and keeps the best before deflating; the
"up" filter alone (each row minus the one above: one numpy subtraction) leaves such
pictures just as compressible. The site's 30 PNG files: 2.0 -> 1.0 s to
encode, 2.67 -> 2.65 MB. The bytes depend on zlib's version, which is therefore
part of every figure's key (``registry``).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# zlib's level: 6 is 1% smaller and a third slower to write.
LEVEL = 5


def encode(rgba: np.ndarray, dpi: int) -> bytes:
    """``rgba``: (height, width, 4) uint8, straight (not premultiplied) alpha."""
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4 or 0 in rgba.shape:
        raise ValueError(f"expected a non-empty (h, w, 4) uint8 array, got {rgba.dtype} "
                         f"{rgba.shape}")
    h, w, _ = rgba.shape
    flat = np.ascontiguousarray(rgba).reshape(h, 4 * w)
    rows = np.empty((h, 1 + 4 * w), np.uint8)
    rows[:, 0] = 2  # each row's filter: "up"
    rows[0, 1:] = flat[0]  # (above the first row is taken as zeros)
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])  # uint8 wraps around, as PNG's does
    per_metre = int(dpi / 0.0254 + 0.5)  # as Pillow rounds it
    return b"".join((
        SIGNATURE,
        _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)),  # 8-bit RGBA
        _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        _chunk(b"IDAT", zlib.compress(rows.tobytes(), LEVEL)),
        _chunk(b"IEND", b""),
    ))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))
