"""The features chapter's map of representations: the same test digits as pixels,
as the two-layer network's hidden layer and as the convnet's last hidden layer,
each projected to 2-D (``products.representations``), coloured by their class.

A module of its own (not features.py): a figure's key covers its module, so an edit
here redraws this figure only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from looking_inside.products import representations as reps
from looking_inside.products.figures.numbers import Table
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

# One colour per digit: the first ten of IBM Carbon's categorical palettes, whose
# order was chosen for colour-blind readers, each colour at least 3:1 against its
# palette's background (tests/test_maps.py checks both against Material's pages,
# and the smallest difference between any two under simulated deuteranopia and
# protanopia). The interactive page uses the same colours (interactive.css). Digits
# are also written on the maps, so no reader depends on the colours alone.
CLASS_COLOURS: dict[str, tuple[str, ...]] = {
    "light": ("#6929c4", "#1192e8", "#005d5d", "#9f1853", "#fa4d56", "#570408", "#198038",
              "#002d9c", "#ee538b", "#b28600"),
    "dark": ("#8a3ffc", "#33b1ff", "#007d79", "#ff7eb6", "#fa4d56", "#fff1f1", "#6fdc8c",
             "#4589ff", "#d12771", "#d2a106"),
}

TITLES = {reps.RAW: "像素", reps.HIDDEN_NET: "双层网络的隐藏层",
          reps.CONV_NET: "卷积网络的最后一个隐藏层"}
# Each panel's points, a CSS px each at the figure's natural size: the raster is drawn
# pixelated (style.setup), so its pixels must not be smaller than the screen's.
PX_PER_INCH = 96
# Side of the square each digit is drawn as, in those pixels.
DOT = 3
# A panel's side in the wide layout, inches. Its raster serves both layouts: the
# phone layout shows the same image, larger.
PANEL_IN = 2.35
# Room around the points, as a share of their extent.
MARGIN = 0.04


def scatter_image(coords: np.ndarray, labels: np.ndarray, colours: tuple[str, ...],
                  size: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The points as a ``size`` x ``size`` RGBA image (transparent between them) and
    its extent in map units (equal scales on both axes: distances on the map are
    what the neighbour vote measures). Each point a ``DOT`` x ``DOT`` square in its
    class's colour, drawn in a fixed shuffled order so that no class always lies on
    top. 2,000 markers in an SVG weighed 290 kB a panel; the image a tenth of that."""
    lo, hi = coords.min(0), coords.max(0)
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * (1 + 2 * MARGIN) or 1.0
    left, bottom = centre - half
    scale = size / (2 * half)  # pixels per map unit
    col = np.floor((coords[:, 0] - left) * scale - DOT / 2).astype(np.int64)
    row = np.floor((centre[1] + half - coords[:, 1]) * scale - DOT / 2).astype(np.int64)
    order = np.random.default_rng(0).permutation(len(coords))
    dy, dx = np.divmod(np.arange(DOT * DOT), DOT)
    rows = (row[order][:, None] + dy).clip(0, size - 1).ravel()
    cols = (col[order][:, None] + dx).clip(0, size - 1).ravel()
    flat = rows * size + cols
    # Where squares overlap, the one drawn last wins.
    last = len(flat) - 1 - np.unique(flat[::-1], return_index=True)[1]
    rgb = (np.array([to_rgb(c) for c in colours]) * 255).round().astype(np.uint8)
    out = np.zeros((size * size, 4), np.uint8)
    point = np.repeat(order, DOT * DOT)[last]
    out[flat[last], :3] = rgb[labels[point]]
    out[flat[last], 3] = 255
    return out.reshape(size, size, 4), (float(left), float(left + 2 * half), float(bottom),
                                        float(bottom + 2 * half))


def _panel(ax: Axes, m: reps.Map, theme: Theme, size: int, fontsize: float) -> None:
    colours = CLASS_COLOURS[theme.name]
    coords = m.projection.coords
    image, extent = scatter_image(coords, m.labels, colours, size)
    ax.imshow(image, extent=extent)
    # The digit at the middle of its points (the median: robust to a few far ones).
    for d in range(10):
        own = coords[m.labels == d]
        if len(own):
            x, y = np.median(own, 0)
            ax.text(x, y, str(d), ha="center", va="center", fontsize=fontsize + 1,
                    fontweight="bold",
                    bbox={"boxstyle": "circle,pad=0.15", "facecolor": theme.cell,
                          "edgecolor": colours[d], "linewidth": 1.2, "alpha": 0.85})
    ax.set(xticks=[], yticks=[])
    ax.spines[:].set_linewidth(0.6)
    ax.set_title(f"{TITLES[m.kind]}\n（每张图 {m.dims:,} 个数）", fontsize=fontsize + 0.5,
                 linespacing=1.3)
    ax.set_xlabel(f"两根轴留住了全部变化的 {100 * m.projection.kept:.0f}%",
                  fontsize=fontsize, color=theme.muted, labelpad=4)


def representation_maps(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """Three maps side by side (stacked when ``narrow``, the phone layout), and one
    legend of the ten colours."""
    maps = reps.article_maps(inputs)
    # Inches: the title above each panel, and below it the axis note and the legend.
    above, below = 0.55, 0.4
    if narrow:
        width, panel, fontsize, gap, legend_h = 3.9, 3.4, 8.5, 0.15, 0.75
        height = legend_h + 3 * (above + panel + below) + 2 * gap
        corners = [((width - panel) / 2, height - (k + 1) * (above + panel + below) - k * gap
                    + below) for k in range(3)]
    else:
        width, panel, fontsize, gap, legend_h = 8.2, PANEL_IN, 10.0, 0.35, 0.55
        height = legend_h + below + panel + above
        left = (width - 3 * panel - 2 * gap) / 2
        corners = [(left + k * (panel + gap), legend_h + below) for k in range(3)]
    fig = new_figure(width, height)
    size = int(round(PANEL_IN * PX_PER_INCH))
    for (x, y), m in zip(corners, maps, strict=True):
        _panel(fig.add_axes((x / width, y / height, panel / width, panel / height)), m, theme,
               size, fontsize)
    # One row of ten; on a phone two rows of five, as wide as the maps (a legend fills
    # its columns first: 0 above 5, 1 above 6, ...).
    order = [d for c in range(5) for d in (c, c + 5)] if narrow else range(10)
    handles = [Line2D([], [], ls="none", marker="s", ms=7, color=CLASS_COLOURS[theme.name][d],
                      label=str(d)) for d in order]
    fig.legend(handles=handles, loc="lower center", ncol=5 if narrow else 10, frameon=False,
               fontsize=fontsize, handletextpad=0.2, columnspacing=0.9,
               title="点的颜色 = 图像真正的数字", title_fontsize=fontsize,
               bbox_to_anchor=(0.5, 0.0))
    return fig


def representation_maps_data(inputs: ProductInputs) -> Table:
    """Every digit on the maps: its test index, class, the two networks' answers and
    its place on each map."""
    test = inputs.test["mnist"]
    maps = reps.article_maps(inputs)
    index = reps.sample(test.labels)
    answers = [inputs.results[k].predictions[index] for k in reps.KINDS[1:]]
    header = ["test_index", "label", *(f"{k}_answer" for k in reps.KINDS[1:]),
              *(f"{m.kind}_{axis}" for m in maps for axis in ("x", "y"))]
    return [header, *([int(i), int(test.labels[i]), *(int(a[j]) for a in answers),
                       *(float(v) for m in maps for v in m.projection.coords[j])]
                      for j, i in enumerate(index))]
