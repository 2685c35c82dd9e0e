"""Drawing helpers shared by the figure modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import Colormap, LinearSegmentedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from looking_inside.products.figures.style import Theme, new_figure

# The page's background (white; Material's slate), for what must blend into it.
PAGE = {"light": "#ffffff", "dark": "#1e2129"}
# Positive and negative, in every figure that shows a sign (weights, w x x, a score's
# terms, a template's difference): red pushes a score up, blue pulls it down, as RdBu's
# ends; on the dark page lighter ends that still read as red and blue.
SIGNED: dict[str, tuple[str, str]] = {"light": ("#b2182b", "#2166ac"),
                                      "dark": ("#ff7b72", "#79c0ff")}


def scaled(image: np.ndarray) -> np.ndarray:
    """An array scaled to [0, 1] over its own range, lowest 0."""
    img = image.astype(np.float64)
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo if hi > lo else 1.0)


def picture(fig: Figure, rect: tuple[float, float, float, float], image: np.ndarray,
            **imshow: Any) -> Axes:
    """An axes at ``rect`` showing ``image``, without frame or ticks."""
    ax = fig.add_axes(rect)
    ax.imshow(image, **imshow)
    ax.set_axis_off()
    return ax


def tile_mosaic(tiles: Sequence[np.ndarray | None], cols: int, gap: int = 2,
                row_gap: int = 2) -> np.ndarray:
    """Equal-sized tiles in [0, 1], grey ``(h, w)`` or colour ``(h, w, 3)``, in rows of
    ``cols``, ``gap`` pixels apart across and ``row_gap`` down: one RGBA image,
    transparent between the tiles and where a tile is None. 8 bits a channel, as the
    SVG embeds it (a PNG inside): matplotlib writes uint8 RGBA as it is."""
    h, w = next(t for t in tiles if t is not None).shape[:2]
    rows = -(-len(tiles) // cols)
    out = np.zeros((rows * (h + row_gap) - row_gap, cols * (w + gap) - gap, 4), np.uint8)
    for k, tile in enumerate(tiles):
        if tile is None:
            continue
        r, c = divmod(k, cols)
        y, x = r * (h + row_gap), c * (w + gap)
        rgb = np.rint(np.clip(tile, 0.0, 1.0) * 255)
        out[y:y + h, x:x + w, :3] = rgb[..., None] if tile.ndim == 2 else rgb
        out[y:y + h, x:x + w, 3] = 255
    return out


def draw_tiles(ax: Axes, tiles: Sequence[np.ndarray | None], cols: int,
               titles: Sequence[str], fontsize: float, gap: int = 2, row_gap: int = 2,
               pad: float = 2) -> None:
    """A grid of images in one axes, the first ``len(titles)`` titled ``pad`` pt above.

    One image and a text per tile, rather than an axes per tile: every small axes
    costs set-up and layout, which dominated the render of a grid. ``row_gap`` (in
    pixels of the tiles) must leave room for a title."""
    h, w = next(t for t in tiles if t is not None).shape[:2]
    ax.imshow(tile_mosaic(tiles, cols, gap, row_gap))
    ax.set_axis_off()
    for k, title in enumerate(titles):
        r, c = divmod(k, cols)
        ax.annotate(title, (c * (w + gap) + (w - 1) / 2, r * (h + row_gap) - 0.5),
                    xytext=(0, pad), textcoords="offset points", ha="center",
                    va="bottom", fontsize=fontsize, annotation_clip=False)


def signed_cmap(theme: Theme) -> Colormap:
    """From the negative ``SIGNED`` end through the page's colour to the positive."""
    pos, neg = SIGNED[theme.name]
    return LinearSegmentedColormap.from_list(f"li-{theme.name}-signed",
                                             [neg, PAGE[theme.name], pos])


def diverging_cmap(theme: Theme) -> str | Colormap:
    """Blue for negative, red for positive, zero in the page's own colour: RdBu_r on
    the light page and, on the dark page, ``signed_cmap``'s dark centre (RdBu_r's white
    there made glaring squares), so that strong values stand out."""
    return "RdBu_r" if theme.name == "light" else signed_cmap(theme)


def confusion_axes(ax: Axes, labels: Sequence[str], labelsize: float = 10) -> None:
    """Rows = actual, columns = predicted, labels on top like a table."""
    n = len(labels)
    ax.set(xlim=(-0.5, n - 0.5), ylim=(n - 0.5, -0.5), aspect="equal", xlabel="预测的类别",
           ylabel="实际的类别")
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.tick_params(length=0, labelsize=labelsize)
    ax.spines[:].set_visible(False)


def confusion_figure(confusion: np.ndarray, labels: Sequence[str], theme: Theme,
                     height: float, rect: tuple[float, float, float, float],
                     labelsize: float = 10) -> Figure:
    """Counts in cells; diagonal green, errors shaded by their share of the row. One
    layout for every screen: as narrow as a phone's column, its counts as big as the
    wide layouts' smallest text."""
    fig = new_figure(3.6, height)
    ax = fig.add_axes(rect)
    n = len(labels)
    confusion_axes(ax, labels, labelsize)
    share = confusion / confusion.sum(1, keepdims=True).clip(min=1)
    worst = max(float(share[~np.eye(n, dtype=bool)].max()), 1e-9)
    cells, faces = [], []
    for a in range(n):
        for p in range(n):
            count = int(confusion[a, p])
            if a == p:
                face = to_rgba(theme.correct, 0.25 + 0.65 * share[a, p])
            else:
                face = to_rgba(theme.error, 0.75 * share[a, p] / worst) if count else \
                    to_rgba(theme.cell, 0.6)
            cells.append(box(p - 0.48, p + 0.48, a - 0.48, a + 0.48))
            faces.append(face)
            ax.text(p, a, str(count), ha="center", va="center", fontsize=8.5,
                    fontweight="bold" if a == p else "normal")
    # One collection, not a patch per cell: each patch would update the data limits
    # one by one (the limits are set above anyway).
    ax.add_collection(PolyCollection(cells, facecolors=faces, edgecolors="none"), autolim=False)
    return fig


def box(x0: float, x1: float, y0: float, y1: float) -> list[tuple[float, float]]:
    """A rectangle's corners, for a ``PolyCollection``."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def neuron(ax: Axes, x: float, y: float, r: float, theme: Theme, label: str,
           fontsize: float) -> None:
    ax.add_patch(Circle((x, y), r, facecolor=theme.node, edgecolor=theme.fg, linewidth=0.8,
                        zorder=3))
    ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, zorder=4)
