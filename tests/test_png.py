"""Our PNG writer against Pillow's reader: any picture comes back pixel for pixel."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from looking_inside.products.figures import png

SIDES = st.integers(1, 40)


@given(arrays(np.uint8, st.tuples(SIDES, SIDES, st.just(4))), st.integers(1, 1200))
def test_pillow_reads_back_every_pixel_and_the_resolution(rgba: np.ndarray, dpi: int) -> None:
    data = png.encode(rgba, dpi)
    with Image.open(io.BytesIO(data)) as img:
        img.verify()  # chunk CRCs and structure
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == "RGBA"
        assert np.array_equal(np.asarray(img), rgba)
        # The resolution as Pillow's own writer stores it (in pixels per metre).
        buf = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buf, format="PNG", dpi=(dpi, dpi))
        with Image.open(buf) as ref:
            assert img.info["dpi"] == ref.info["dpi"]


def test_a_view_is_encoded_as_its_pixels() -> None:
    """A strided slice (a cut out of a canvas) is written as what it shows."""
    canvas = np.arange(20 * 30 * 4, dtype=np.uint32).astype(np.uint8).reshape(20, 30, 4)
    view = canvas[3:17:2, 5:25]
    with Image.open(io.BytesIO(png.encode(view, 200))) as img:
        assert np.array_equal(np.asarray(img), view)


@pytest.mark.parametrize("bad", [np.zeros((0, 3, 4), np.uint8), np.zeros((3, 3, 3), np.uint8),
                                 np.zeros((3, 3, 4), np.float32), np.zeros((3, 4), np.uint8)],
                         ids=["empty", "rgb", "float", "2d"])
def test_what_is_not_rgba_bytes_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected a non-empty"):
        png.encode(bad, 200)
