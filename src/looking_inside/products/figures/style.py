"""Themes, the CJK font, and the one place figures are saved and closed."""

from __future__ import annotations

import contextlib
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # chosen once, before pyplot is imported anywhere

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from looking_inside.errors import BuildError  # noqa: E402
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


@functools.cache
def cjk_family() -> str:
    """The CJK font family to draw with; a clear error instead of tofu boxes."""
    path = os.environ.get(ENV_FONT)
    if path:
        if not os.path.isfile(path):
            raise BuildError(f"{ENV_FONT}={path}: no such font file")
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError) as exc:
            raise BuildError(f"{ENV_FONT}={path}: not a font matplotlib can read ({exc}); "
                             "fix: point it at a .ttf, .otf or .ttc file") from None
    for rebuilt in (False, True):
        available = {f.name for f in font_manager.fontManager.ttflist}
        found = [fam for fam in CJK_FAMILIES if fam in available]
        if found:
            return found[0]
        if not rebuilt:
            _rebuild_font_list()
    raise BuildError(
        "no font with Chinese glyphs found for the figures (tried: "
        + ", ".join(CJK_FAMILIES)
        + "). Fix: install one, e.g. `apt-get install fonts-noto-cjk` on Debian/Ubuntu, "
        f"or point {ENV_FONT} at a .ttf/.otf/.ttc file with Chinese glyphs"
    )


def _rebuild_font_list() -> None:
    """matplotlib caches its font list: a font installed after the list was made is
    invisible until it is rebuilt. A new ``FontManager`` scans the font folders; it
    replaces the cached list on disk and the one this process uses."""
    fresh = font_manager.FontManager()
    version = font_manager.FontManager.__version__
    cache = Path(matplotlib.get_cachedir()) / f"fontlist-v{version}.json"
    with contextlib.suppress(OSError):
        font_manager.json_dump(fresh, cache)
    font_manager.fontManager = fresh
    font_manager.findfont = fresh.findfont


def setup(theme: Theme) -> None:
    """rcParams shared by every figure; called before each render."""
    plt.rcParams.update({
        "font.family": [cjk_family(), "DejaVu Sans"],
        "font.size": 10,
        "axes.unicode_minus": False,  # CJK fonts often lack U+2212
        # Text, titles, axis labels and ticks take the palette's colour from here:
        # the figures name a colour only where it differs.
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
        # An image goes into the SVG as it is, one pixel per value, and the browser
        # scales it with ``image-rendering: pixelated``: sharp on any screen, and a
        # 28x28 digit costs 28x28 pixels, not a resampled copy at some fixed dpi.
        "image.interpolation": "none",
        # Titles where matplotlib would put them anyway (no figure has ticks above a
        # title), without it measuring every twin axis's tick labels to check.
        "axes.titley": 1.0,
    })


# The white space kept around a figure's bounding box (matplotlib's ``pad_inches``),
# part of its width. At its natural size (an SVG inch is 96 CSS px, a point of text
# 4/3 CSS px) a wide layout fits the article column, 688 px on every screen from 720 px
# wide up, with text of at least 8.5 pt (11.3 px); a phone layout (``narrow=True``)
# fits 358 px, a 390 px phone's column, with text of at least 7 pt (9.3 px).
# tests/test_figure_text.py measures them on screen.
PAD_INCHES = 0.05


def save(fig: Figure) -> bytes:
    """The SVG file, without date or version stamps; always closes ``fig``."""
    try:
        # The tight box measured by Agg, not by the SVG backend's own measuring pass,
        # which lays every label out as glyph paths; the boxes agree to a fraction of
        # a point, well inside the pad.
        box = fig.get_tightbbox(fig.canvas.get_renderer())  # type: ignore[attr-defined]
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                    bbox_inches=box.padded(PAD_INCHES))
        return buf.getvalue()
    finally:
        plt.close(fig)


def warm() -> None:
    """Load the fonts and fill matplotlib's text caches with a tiny figure, once before
    the builder forks its workers: none of them pays for it again."""
    setup(LIGHT)
    fig = new_figure(1.0, 0.5)
    fig.text(0.5, 0.5, "图 0.5%“", fontsize=10)
    save(fig)


def new_figure(width: float, height: float) -> Figure:
    return plt.figure(figsize=(width, height))
