"""Themes, the CJK font, and the one place figures are saved and closed."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")  # chosen once, before pyplot is imported anywhere

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from looking_inside.errors import BuildError  # noqa: E402
from looking_inside.products.figures import png  # noqa: E402
from looking_inside.products.figures.fonts import CJK_FAMILIES, ENV_FONT  # noqa: E402


@dataclass(frozen=True)
class Theme:
    """Colours for one of Material's palettes; backgrounds stay transparent."""

    name: Literal["light", "dark"]
    fg: str  # text, axes, outlines
    muted: str  # secondary text, gridlines
    correct: str  # the confusion matrix diagonal
    error: str  # off-diagonal shading at its strongest
    positive: str  # bars for positive weights
    negative: str  # bars for negative weights
    node: str  # neuron fill in diagrams
    edge: str  # connection lines in diagrams
    cell: str  # empty cell background


LIGHT = Theme("light", fg="#1f2328", muted="#6b7280", correct="#2e9e4f", error="#d9480f",
              positive="#1f77b4", negative="#e8590c", node="#dbe7f5", edge="#9aa5b1",
              cell="#f1f3f5")
DARK = Theme("dark", fg="#e6e8eb", muted="#9aa3ad", correct="#3fbf6a", error="#ff7a45",
             positive="#5aa9e6", negative="#ff922b", node="#2b3a4d", edge="#5c6773",
             cell="#2a2f37")
THEMES = (LIGHT, DARK)

_font_family: str | None = None


def cjk_family() -> str:
    """The CJK font family to draw with; a clear error instead of tofu boxes."""
    global _font_family
    if _font_family:
        return _font_family
    path = os.environ.get(ENV_FONT)
    if path:
        if not os.path.isfile(path):
            raise BuildError(f"{ENV_FONT}={path}: no such font file")
        font_manager.fontManager.addfont(path)
        _font_family = font_manager.FontProperties(fname=path).get_name()
        return _font_family
    for attempt in range(2):
        available = {f.name for f in font_manager.fontManager.ttflist}
        for fam in CJK_FAMILIES:
            if fam in available:
                _font_family = fam
                return fam
        if attempt == 0:
            # matplotlib caches its font list: a font installed after the list was
            # made is invisible until it is rebuilt, so rebuild it once before failing.
            fresh = font_manager._load_fontmanager(try_read_cache=False)  # type: ignore[attr-defined]
            font_manager.fontManager = fresh
            font_manager.findfont = fresh.findfont
    raise BuildError(
        "no font with Chinese glyphs found for the figures (tried: "
        + ", ".join(CJK_FAMILIES)
        + "). Fix: install one, e.g. `apt-get install fonts-noto-cjk` on Debian/Ubuntu, "
        f"or point {ENV_FONT} at a .ttf/.otf/.ttc file with Chinese glyphs"
    )


def setup(theme: Theme) -> None:
    """rcParams shared by every figure; called before each render."""
    plt.rcParams.update({
        "font.family": [cjk_family(), "DejaVu Sans"],
        "font.size": 10,
        "axes.unicode_minus": False,  # CJK fonts often lack U+2212
        "text.color": theme.fg,
        "axes.labelcolor": theme.fg,
        "axes.edgecolor": theme.muted,
        "xtick.color": theme.fg,
        "ytick.color": theme.fg,
        "figure.facecolor": "none",
        "axes.facecolor": "none",
        "savefig.facecolor": "none",
        "svg.hashsalt": "looking-inside",  # stable element ids, so stable bytes
        "svg.fonttype": "path",  # glyphs as paths: no font needed in the browser
        "image.interpolation": "nearest",
        # Titles where matplotlib would put them anyway (no figure has ticks above a
        # title), without it measuring every twin axis's tick labels to check, in
        # both passes of a save: ~15% of the capacity sweep's time, the same bytes.
        "axes.titley": 1.0,
    })


# The white space kept around a figure's bounding box (matplotlib's ``pad_inches``).
PAD_INCHES = 0.05
# How far a PNG figure's labels may hang out of its canvas and still be drawn once
# (``_png_cut``); beyond that, matplotlib's tight save.
MARGIN_INCHES = 0.5


def save(fig: Figure, fmt: Literal["png", "svg"], dpi: int = 200) -> bytes:
    """Render to bytes without timestamps or version stamps; always closes ``fig``."""
    try:
        if fmt == "png":
            # 2x the CSS size for retina screens; no Software/time chunks in the file.
            return _png_cut(fig, dpi) or _png_tight(fig, dpi)
        # The tight box measured by Agg, not by the SVG backend's own measuring pass,
        # which lays every label out as glyph paths (13% of the SVGs' time); the boxes
        # agree to a fraction of a point, well inside the pad.
        box = fig.get_tightbbox(fig.canvas.get_renderer())  # type: ignore[attr-defined]
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                    bbox_inches=box.padded(PAD_INCHES))
        return buf.getvalue()
    finally:
        plt.close(fig)


class _Discard(io.RawIOBase):
    """A file that drops what is written: the pixels are read off the renderer."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def _png_cut(fig: Figure, dpi: int) -> bytes | None:
    """The figure drawn once, onto a canvas ``MARGIN_INCHES`` larger on every side,
    and cut to its ink plus ``PAD_INCHES``; None when ink reaches that canvas's edge
    (it may go on beyond).

    ``savefig(bbox_inches="tight")`` draws twice: once without pixels, to measure the
    artists' box, then again shifted into it. That measuring pass was ~30% of
    rendering the PNG figures; measuring the box after the one real draw still cost a
    sixth of a draw (every axis lays its ticks out again). The canvas is transparent
    wherever nothing is drawn, so the drawn pixels' alpha gives the box for free: the
    ink's, which is what the tight box stands for (the artists' boxes add a few pixels
    of line spacing around text). Ink wholly beyond the margin would leave no pixel to
    find: the tests measure every registered figure's artists to check there is none."""
    w, h = fig.get_size_inches()
    m = MARGIN_INCHES
    fig.savefig(_Discard(), format="raw", dpi=dpi,  # type: ignore[arg-type]
                bbox_inches=Bbox([[-m, -m], [w + m, h + m]]))
    rgba = np.asarray(fig.canvas.renderer.buffer_rgba())  # type: ignore[attr-defined]
    alpha = rgba[..., 3]
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if not rows.size:
        return None  # nothing drawn: matplotlib's save decides what that looks like
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if y0 == 0 or x0 == 0 or y1 == alpha.shape[0] or x1 == alpha.shape[1]:
        return None
    pad = round(PAD_INCHES * dpi)
    # The pad may reach past the canvas: transparent there.
    out = np.zeros((y1 - y0 + 2 * pad, x1 - x0 + 2 * pad, 4), np.uint8)
    cy0, cx0 = max(y0 - pad, 0), max(x0 - pad, 0)
    cy1, cx1 = min(y1 + pad, alpha.shape[0]), min(x1 + pad, alpha.shape[1])
    out[cy0 - y0 + pad:cy1 - y0 + pad, cx0 - x0 + pad:cx1 - x0 + pad] = rgba[cy0:cy1, cx0:cx1]
    return png.encode(out, dpi)


def _png_tight(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None},
                pil_kwargs={"compress_level": 6}, bbox_inches="tight",
                pad_inches=PAD_INCHES)
    return buf.getvalue()


def warm() -> None:
    """Load the fonts and fill matplotlib's text caches by saving a tiny figure.

    A process's first figure pays ~0.3 s for that; the builder calls this once before
    forking its workers, so that none of them pays it again."""
    setup(LIGHT)
    fig = new_figure(1.0, 0.5)
    fig.text(0.5, 0.5, "图 0.5%“", fontsize=10)
    save(fig, "png")


def new_figure(width: float, height: float) -> Figure:
    return plt.figure(figsize=(width, height))
