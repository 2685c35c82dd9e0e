"""Drawing helpers shared by the figure modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import Colormap, LinearSegmentedColormap, to_rgba
from matplotlib.patches import Circle

from looking_inside.products.figures.style import Theme


def show_gray(ax: Axes, image: np.ndarray, *, invert: bool = False) -> None:
    """A 2-D array as a grayscale image scaled to its own range, lowest black."""
    lo, hi = float(image.min()), float(image.max())
    ax.imshow(image, cmap="gray_r" if invert else "gray", vmin=lo, vmax=hi if hi > lo else lo + 1)
    bare(ax)


def scaled(image: np.ndarray) -> np.ndarray:
    """An array scaled to [0, 1] over its own range, lowest 0 (``show_gray``'s mapping:
    the gray colour map is the identity from black to white)."""
    img = image.astype(np.float64)
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo if hi > lo else 1.0)


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
               titles: Sequence[str], theme: Theme, fontsize: float, gap: int = 2,
               row_gap: int = 2) -> None:
    """A grid of images in one axes, the first ``len(titles)`` titled above.

    One image and a text per tile, rather than an axes per tile: every small axes
    costs set-up and layout, which dominated the render of a grid. ``row_gap`` (in
    pixels of the tiles) must leave room for a title."""
    h, w = next(t for t in tiles if t is not None).shape[:2]
    ax.imshow(tile_mosaic(tiles, cols, gap, row_gap))
    ax.set_axis_off()
    for k, title in enumerate(titles):
        r, c = divmod(k, cols)
        ax.annotate(title, (c * (w + gap) + (w - 1) / 2, r * (h + row_gap) - 0.5),
                    xytext=(0, 2), textcoords="offset points", ha="center",
                    va="bottom", fontsize=fontsize, color=theme.fg, annotation_clip=False)


def template_rgb(w: np.ndarray) -> np.ndarray:
    """A (3072,) CIFAR weight vector as a (32, 32, 3) image scaled to [0, 1]."""
    return scaled(w.reshape(3, 32, 32).transpose(1, 2, 0))


def cifar_rgb(image: np.ndarray) -> np.ndarray:
    """(3, 32, 32) uint8 -> (32, 32, 3) for imshow."""
    return image.transpose(1, 2, 0)


# The dark page's background (Material's slate), for what must blend into it.
DARK_PAGE = "#1e2129"


# Positive and negative, in every figure that shows a sign (weights, w x x, a score's
# terms, a template's difference): red pushes a score up, blue pulls it down, as RdBu's
# ends; on the dark page lighter ends that still read as red and blue.
SIGNED: dict[str, tuple[str, str]] = {"light": ("#b2182b", "#2166ac"),
                                      "dark": ("#ff7b72", "#79c0ff")}


def diverging_cmap(theme: Theme) -> str | Colormap:
    """Blue for negative, red for positive, zero in the page's own colour: white on
    the light page and, on the dark page, a dark centre (RdBu_r's white there made
    glaring squares) between the ``SIGNED`` ends, so that strong values stand out."""
    if theme.name == "light":
        return "RdBu_r"
    pos, neg = SIGNED["dark"]
    return LinearSegmentedColormap.from_list("li-dark-diverging", [neg, DARK_PAGE, pos])


def bare(ax: Axes) -> None:
    """No ticks, spines or background; the title and anything drawn stay.

    ``set_axis_off`` rather than emptying the ticks: the same pixels, but the axes
    then skip their axis and spine layout in both passes of a tight-bbox save,
    which was a third of the time of the image-grid figures."""
    ax.set_axis_off()


def confusion_axes(ax: Axes, labels: Sequence[str], theme: Theme,
                   labelsize: float = 10) -> None:
    """Rows = actual, columns = predicted, labels on top like a table."""
    n = len(labels)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.tick_params(length=0, labelsize=labelsize)
    ax.set_xlabel("预测的类别", color=theme.fg)
    ax.set_ylabel("实际的类别", color=theme.fg)
    for s in ax.spines.values():
        s.set_visible(False)


def draw_confusion_counts(ax: Axes, confusion: np.ndarray, labels: Sequence[str],
                          theme: Theme, labelsize: float = 10) -> None:
    """Counts in cells; diagonal green, errors shaded by their share of the row."""
    n = len(labels)
    confusion_axes(ax, labels, theme, labelsize)
    rows = confusion.sum(1, keepdims=True).clip(min=1)
    share = confusion / rows
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
            x, y = p - 0.48, a - 0.48
            cells.append([(x, y), (x + 0.96, y), (x + 0.96, y + 0.96), (x, y + 0.96)])
            faces.append(face)
            ax.text(p, a, str(count), ha="center", va="center", fontsize=8.5,
                    color=theme.fg, fontweight="bold" if a == p else "normal")
    # One collection, not a patch per cell: each patch would update the data limits
    # one by one (the limits are set above anyway).
    ax.add_collection(PolyCollection(cells, facecolors=faces, edgecolors="none"),
                      autolim=False)


def neuron(ax: Axes, x: float, y: float, r: float, theme: Theme, label: str = "",
           fontsize: float = 8) -> None:
    ax.add_patch(Circle((x, y), r, facecolor=theme.node, edgecolor=theme.fg, linewidth=0.8,
                        zorder=3))
    if label:
        ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, color=theme.fg,
                zorder=4)
