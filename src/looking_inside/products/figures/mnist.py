"""Figures of the MNIST chapters: templates, mistakes, confusion, hidden filters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from looking_inside.products import analysis
from looking_inside.products.figures.common import (
    SIGNED,
    confusion_axes,
    confusion_figure,
    diverging_cmap,
    draw_tiles,
    neuron,
    picture,
    scaled,
)
from looking_inside.products.figures.numbers import Table, matrix_table, pixels
from looking_inside.products.figures.style import Theme, new_figure
from looking_inside.products.labels import class_names

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

PIXELS = pixels(28)
DIGITS = class_names("mnist")


def _templates(inputs: ProductInputs) -> np.ndarray:
    return inputs.results["mnist-1layer"].weights[0].reshape(10, 28, 28)


def weights_as_grid(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """Left: the 0-neuron with its inputs unrolled. Right: the same sum as 28x28 grids.
    ``narrow``: the unrolled neuron above, the grids below it."""
    res = inputs.results["mnist-1layer"]
    test = inputs.test["mnist"]
    i = int(np.argmax(test.labels == 0))  # the first 0 (index 0 if none)
    x = test.images[i].astype(np.float32) / 255.0
    w = res.weights[0][0].reshape(28, 28)
    b = float(res.biases[0][0])
    z = b + float((w * x).sum())

    if narrow:
        fig = new_figure(3.6, 4.7)
        ax = fig.add_axes((0.16, 0.5, 0.68, 0.48))
        # The first grid's left, bottom, width and height, the pitch to the next, the
        # formula's height; font sizes.
        left, bottom, width, height, pitch, below = 0.02, 0.1, 0.28, 0.27, 0.35, 0.03
        size = {"neuron": 7.5, "z": 9, "text": 7.5, "symbol": 11, "dots": 12, "formula": 8}
        titles = ["输入 x\n（一张 0）", "权重 w\n（28×28 排列）", "逐像素相乘\nw·x"]
    else:
        fig = new_figure(7.0, 3.0)
        ax = fig.add_axes((0.0, 0.04, 0.3, 0.92))
        left, bottom, width, height, pitch, below = 0.36, 0.18, 0.17, 0.62, 0.2, 0.04
        size = {"neuron": 8.5, "z": 10, "text": 9, "symbol": 14, "dots": 14, "formula": 10}
        titles = ["输入 x（一张 0）", "权重 w（28×28 排列）", "逐像素相乘 w·x"]
    ax.set(xlim=(0, 6), ylim=(-0.8, 10))
    ax.set_axis_off()
    labels = ["x₁", "x₂", "x₃", None, "x₇₈₄"]
    for y, lab in zip(np.linspace(9.2, 1.0, len(labels)), labels, strict=True):
        if lab is None:
            ax.text(1.0, y, "⋮", ha="center", va="center", fontsize=size["dots"])
            continue
        neuron(ax, 1.0, y, 0.5, theme, lab, fontsize=size["neuron"])
        ax.plot([1.5, 4.6], [y, 5.0], color=theme.edge, lw=0.9, zorder=1)
        ax.text(2.9, y + (5.0 - y) * 0.45 + 0.25, lab.replace("x", "w"), ha="center",
                fontsize=size["neuron"])
    neuron(ax, 5.1, 5.0, 0.55, theme, "z", fontsize=size["z"])
    ax.text(3.0, -0.5, "像素展开成一列", ha="center", fontsize=size["text"])

    for k, (img, title) in enumerate(zip((x, w, w * x), titles, strict=True)):
        lim = float(np.abs(img).max()) or 1.0
        cmap, vmin, vmax = ("gray", 0, 1) if k == 0 else (diverging_cmap(theme), -lim, lim)
        a = picture(fig, (left + k * pitch, bottom, width, height), img, cmap=cmap, vmin=vmin,
                    vmax=vmax)
        a.set_title(title, fontsize=size["text"], linespacing=1.2)
        if k < 2:
            fig.text(left + k * pitch + width + (pitch - width) / 2, bottom + height / 2,
                     "×" if k == 0 else "→", fontsize=size["symbol"], ha="center", va="center")
    fig.text(left + pitch + width / 2, below, f"z = b + Σ w·x = {b:+.2f} + {z - b:.2f} = {z:.2f}",
             ha="center", fontsize=size["formula"])
    return fig


def weights_zero(inputs: ProductInputs, theme: Theme) -> Figure:
    fig = new_figure(3.2, 3.4)
    t = _templates(inputs)[0]
    ax = picture(fig, (0.05, 0.12, 0.9, 0.8), t, cmap="gray", vmin=float(t.min()),
                 vmax=float(t.max()))
    ax.set_title("输出神经元“0”的 784 个权重", fontsize=9)
    fig.text(0.5, 0.04, "黑 = 最低权重　白 = 最高权重", ha="center", fontsize=8.5,
             color=theme.muted)
    return fig


def weights_all(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """The ten templates, 0-4 over 5-9; ``narrow``: the same grid, smaller."""
    fig = new_figure(3.7, 1.75) if narrow else new_figure(8.0, 3.6)
    draw_tiles(fig.add_axes((0.01, 0.01, 0.98, 0.98)), [scaled(t) for t in _templates(inputs)],
               5, [f"“{d}”" for d in DIGITS], fontsize=8.5 if narrow else 10, row_gap=7)
    return fig


def weights_training(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """The 10 templates at a few snapshots: one column per snapshot, digits 0-4 over
    5-9 in each, every template scaled to its own range as in ``weights_all``.
    ``narrow``: three snapshots a row, in rows."""
    snaps = inputs.results["mnist-1layer"].snapshots
    assert snaps is not None, "mnist-1layer records snapshots (config.py)"
    shown = analysis.shown_snapshots(len(snaps.steps))
    cols = 3 if narrow else len(shown)
    rows = -(-len(shown) // cols)
    fig = new_figure(3.6, 2.95 * rows) if narrow else new_figure(8.0, 4.0)
    width, height = 0.98 / cols, 1 / rows
    for c, k in enumerate(shown):
        tiles = [scaled(t) for t in snaps.weights[0][k].reshape(10, 28, 28)]
        # A thin gap between the two columns, NaN: drawn as the "bad" colour, transparent,
        # so the page shows through.
        gap = np.full((5 * 28, 2), np.nan)
        row, col = divmod(c, cols)
        ax = picture(fig, (0.01 + col * width, 1 - (row + 1) * height + 0.02 * height,
                           width * 0.92, 0.78 * height),
                     np.hstack([np.vstack(tiles[:5]), gap, np.vstack(tiles[5:])]), cmap="gray",
                     vmin=0, vmax=1)
        step = int(snaps.steps[k])
        head = "初始化" if step == 0 else f"第 {step:,} 步"
        ax.set_title(f"{head}\n准确率 {snaps.test_accuracy[k]:.0%}", fontsize=8 if narrow else 9.5)
    return fig


def mistakes(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """The two forgivable mistakes, then the two bad ones: side by side, or ``narrow``
    one pair over the other."""
    picks = analysis.select_mistakes(inputs.results["mnist-1layer"], inputs.results["mnist-2layer"])
    images = inputs.test["mnist"].images
    heads = (("情有可原", theme.fg), ("错得离谱", theme.error))
    if narrow:
        fig = new_figure(3.6, 5.0)
        size = 8.0
        for g, (head, colour) in enumerate(heads):
            fig.text(0.5, 0.97 - g * 0.5, head, ha="center", va="top", fontsize=9,
                     color=colour, fontweight="bold")
        fig.add_artist(Rectangle((0.05, 0.5), 0.9, 0.003, transform=fig.transFigure,
                                 color=theme.muted))
        rects = [(0.08 + (k % 2) * 0.48, 0.705 - (k // 2) * 0.5, 0.36, 0.2)
                 for k in range(len(picks))]
    else:
        fig = new_figure(8.0, 2.9)
        size = 9.5
        for g, (head, colour) in enumerate(heads):
            fig.text(0.25 + g * 0.515, 0.93, head, ha="center", fontsize=10.5, color=colour,
                     fontweight="bold")
        fig.add_artist(Rectangle((0.5, 0.08), 0.002, 0.86, transform=fig.transFigure,
                                 color=theme.muted))
        rects = [(0.02 + k * 0.245 + (0.02 if k >= 2 else 0), 0.2, 0.2, 0.58)
                 for k in range(len(picks))]
    for m, rect in zip(picks, rects, strict=True):
        ax = picture(fig, rect, images[m.index], cmap="gray")
        ax.set_title(f"实际 {m.actual} → 认成 {m.predicted}", fontsize=size)
        probs = f"P({m.predicted}) = {m.confidence:.2%}\nP({m.actual}) = {m.true_prob:.2%}"
        ax.text(14, 30.5, probs, ha="center", va="top", fontsize=size, linespacing=1.3)
    return fig


def confusion(inputs: ProductInputs, theme: Theme) -> Figure:
    return confusion_figure(inputs.results["mnist-1layer"].confusion, DIGITS, theme, 3.55,
                            (0.12, 0.02, 0.86, 0.84))


def confusion_samples(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """The most confident test image of every cell; ``narrow``: the same, smaller."""
    res = inputs.results["mnist-1layer"]
    best = analysis.most_confident_per_cell(res.test_labels, res.test_probs)
    images = inputs.test["mnist"].images
    fig = new_figure(3.6, 3.72) if narrow else new_figure(6.0, 6.2)
    ax = fig.add_axes((0.12, 0.02, 0.86, 0.84) if narrow else (0.09, 0.02, 0.89, 0.86))
    mosaic = np.zeros((10 * 30, 10 * 30), dtype=np.float32)
    for a in range(10):
        for p in range(10):
            if best[a, p] >= 0:
                mosaic[a * 30 + 1:a * 30 + 29, p * 30 + 1:p * 30 + 29] = \
                    images[best[a, p]] / 255.0
            if a == p:
                ax.add_patch(Rectangle((p - 0.5, a - 0.5), 1, 1, fill=False,
                                       edgecolor=theme.correct, lw=1.5 if narrow else 2.0))
            elif best[a, p] < 0:
                # An empty cell says so: a bare grey square read as a broken image.
                ax.add_patch(Rectangle((p - 0.47, a - 0.47), 0.94, 0.94,
                                       facecolor=theme.cell, edgecolor="none"))
                ax.text(p, a, "无", ha="center", va="center", fontsize=8 if narrow else 10,
                        color=theme.muted)
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, extent=(-0.5, 9.5, 9.5, -0.5))
    confusion_axes(ax, DIGITS)
    return fig


def hidden_filters(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """Top: the hidden neurons' input weights. Below: a bar row per digit class, each
    bar under its unit's filter. Two axes in all (an axes per filter and per row took
    three times as long to draw), sharing the mosaic's pixel columns as x."""
    w_in, w_out = inputs.results["mnist-2layer"].weights[:2]  # (H, 784), (10, H)
    h, gap = len(w_in), 3
    pitch = 28 + gap
    if narrow:
        fig = new_figure(3.6, 4.4)
        left, width, size = 0.1, 0.88, {"number": 7.5, "digit": 8, "key": 7.5}
        top = fig.add_axes((left, 0.845, width, 0.11), anchor="S")
        bars = fig.add_axes((left, 0.06, width, 0.76))
    else:
        fig = new_figure(8.5, 9.0)
        left, width, size = 0.08, 0.9, {"number": 10, "digit": 10, "key": 10}
        top = fig.add_axes((left, 0.86, width, 0.1), anchor="S")
        bars = fig.add_axes((left, 0.03, width, 0.8))
    draw_tiles(top, [scaled(w.reshape(28, 28)) for w in w_in], h,
               [f"{j + 1}" for j in range(h)], fontsize=size["number"], gap=gap)
    x = np.arange(h) * pitch + 13.5  # under each filter's centre
    rows = 9 - np.arange(10) + 0.5  # digit 0 at the top
    heights = w_out / (float(np.abs(w_out).max()) or 1.0) * 0.42  # just under half a row
    bars.bar(np.tile(x, 10), heights.ravel(), bottom=np.repeat(rows, h), width=0.7 * pitch,
             color=[SIGNED[theme.name][0 if v >= 0 else 1] for v in w_out.ravel()])
    right = h * pitch - gap - 0.5  # the mosaic's last pixel column
    bars.hlines(rows, -0.5, right, color=theme.muted, lw=0.6)
    bars.set(xlim=(-0.5, right), ylim=(0, 10))
    bars.set_axis_off()
    for d, y in enumerate(rows):
        bars.text(-0.25 * pitch, y, f"“{d}”", ha="right", va="center", fontsize=size["digit"])
    fig.text(left + width, 0.005, "红色：正权重（偏爱）　蓝色：负权重（厌恶）", ha="right",
             fontsize=size["key"])
    return fig


# --- the numbers behind the figures (the data link under each) --------------------

def weights_zero_data(inputs: ProductInputs) -> Table:
    return matrix_table(_templates(inputs)[0], "row", [str(r) for r in range(28)],
                        [str(c) for c in range(28)])


def weights_all_data(inputs: ProductInputs) -> Table:
    """10 x 784: one row per output neuron, pixels row-major."""
    return matrix_table(inputs.results["mnist-1layer"].weights[0], "digit", DIGITS, PIXELS)


def hidden_filters_data(inputs: ProductInputs) -> Table:
    """A row per hidden unit: its weights to the ten outputs (the bars), then its 784
    input weights (the filter), pixels row-major."""
    w_in, w_out = inputs.results["mnist-2layer"].weights[:2]
    return [["unit", *(f"to_{d}" for d in DIGITS), *PIXELS],
            *([j + 1, *w_out[:, j], *w_in[j]] for j in range(len(w_in)))]


def mistakes_data(inputs: ProductInputs) -> Table:
    picks = analysis.select_mistakes(inputs.results["mnist-1layer"], inputs.results["mnist-2layer"])
    return [["test_index", "kind", "actual", "predicted", "p_predicted", "p_actual"],
            *([m.index, m.kind, m.actual, m.predicted, m.confidence, m.true_prob]
              for m in picks)]


def confusion_data(inputs: ProductInputs) -> Table:
    """Counts: rows actual, columns predicted."""
    return matrix_table(inputs.results["mnist-1layer"].confusion, "actual/predicted",
                        DIGITS, DIGITS)


def confusion_samples_data(inputs: ProductInputs) -> Table:
    res = inputs.results["mnist-1layer"]
    best = analysis.most_confident_per_cell(res.test_labels, res.test_probs)
    return [["actual", "predicted", "test_index", "p_predicted"],
            *([a, p, int(best[a, p]), float(res.test_probs[best[a, p], p])]
              for a in range(10) for p in range(10) if best[a, p] >= 0)]
