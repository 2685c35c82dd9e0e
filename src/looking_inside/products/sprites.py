"""Sprite sheets: many small test images tiled into one image file, one request and one
decode instead of hundreds. The bytes are deterministic for given pixels and Pillow
version (no timestamps or other metadata), so the cache and the site stay reproducible.
numpy and Pillow are imported when a sheet is made, not when a warm build reads settings.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

Format = Literal["png", "jpeg"]

# CIFAR photos hardly compress losslessly (~2.2 kB per 32x32 tile as PNG against
# ~0.5 kB as JPEG at this quality with full colour resolution, measured on the test
# set), and the explorer page must stay within the site's per-page weight budget. 32
# is a multiple of JPEG's 16 px block, so no tile's compression bleeds into another.
JPEG_QUALITY = 85


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """``(N, t, t)`` or ``(N, t, t, 3)`` uint8 -> one sheet, black padding; tile ``k``
    at column ``k % columns``, row ``k // columns``."""
    import numpy as np

    n, t = images.shape[:2]
    cols = max(1, min(columns, n))
    rows = max(1, -(-n // cols))
    padded = np.zeros((rows * cols, *images.shape[1:]), dtype=np.uint8)
    padded[:n] = images
    grid = padded.reshape(rows, cols, t, t, *images.shape[3:])
    return grid.swapaxes(1, 2).reshape(rows * t, cols * t, *images.shape[3:])


def encode(sheet: np.ndarray, fmt: Format) -> bytes:
    """A sheet (grayscale ``(H, W)`` or colour ``(H, W, 3)``) as PNG or JPEG bytes."""
    import numpy as np
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(sheet, dtype=np.uint8))
    buf = io.BytesIO()
    if fmt == "png":
        # zlib level 6: much faster than ``optimize`` (level 9 and a filter search)
        # on the MNIST sheet, for a few per cent more bytes.
        img.save(buf, format="PNG", compress_level=6)
    else:
        # 4:4:4 keeps the colour of 32 px photos; 4:2:0 smears it across 2 px.
        img.save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return buf.getvalue()
