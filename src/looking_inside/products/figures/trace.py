"""One test digit through the networks: every number between its pixels and the answer.

The single-layer network's score of a class is its bias plus the sum of the product
map ``w ⊙ x``, exactly; the two-layer network's is its bias plus one term per hidden
unit. Both figures are drawn narrow (under 5 in): the same layout reads at >= 9 CSS px
on a 390 px phone and at >= 11 CSS px at its natural size on a wide screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from looking_inside.products import analysis
from looking_inside.products.figures.common import PAGE, SIGNED, box, diverging_cmap, picture
from looking_inside.products.figures.numbers import Table, pixels
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

PIXELS = pixels(28)
SMALL = 9.0  # pt: the smallest text; 9 pt x 4/3 x (358 px / 4.85 in x 96) >= 9 CSS px
LABEL = 10.0
WIDTH = 4.7  # in; with the saved padding the file stays under 4.85 in


def _digit(inputs: ProductInputs) -> tuple[int, np.ndarray]:
    """The traced test digit (analysis.traced_digit) and the network's input row."""
    i = analysis.traced_digit(inputs.results["mnist-1layer"], inputs.results["mnist-2layer"])
    return i, analysis.network_input(inputs.test["mnist"].images[i], "mnist")


def single_trace(inputs: ProductInputs) -> tuple[int, analysis.LinearTrace]:
    i, x = _digit(inputs)
    res = inputs.results["mnist-1layer"]
    return i, analysis.linear_trace(res.weights[0], res.biases[0], x)


def two_layer_trace(inputs: ProductInputs) -> tuple[int, analysis.HiddenTrace]:
    i, x = _digit(inputs)
    return i, analysis.hidden_trace(inputs.results["mnist-2layer"], x)


def _score_rows(ax: Axes, values: np.ndarray, ranked: np.ndarray, theme: Theme,
                text: list[str], lo: float, hi: float, title: str) -> None:
    """Horizontal bars, digit 0 at the top; the top two classes in the text colour
    (red and blue mean "pushed up" and "pulled down" in these figures), each bar's
    value printed beyond its end."""
    colours = [theme.fg if c in ranked[:2] else theme.edge for c in range(10)]
    ax.barh(np.arange(10), values, height=0.7, color=colours)
    ax.axvline(0, color=theme.muted, lw=0.8)
    pad = 0.02 * (hi - lo)
    for c in range(10):
        v = float(values[c])
        ax.text(v + pad if v >= 0 else v - pad, c, text[c], va="center",
                ha="left" if v >= 0 else "right", fontsize=SMALL,
                fontweight="bold" if c == ranked[0] else "normal")
    _frame(ax, (lo, hi), (9.6, -0.6), title)


def _frame(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float], title: str) -> None:
    ax.set(xlim=xlim, ylim=ylim)
    ax.set_axis_off()
    ax.set_title(title, fontsize=LABEL, loc="left")


def _digit_labels(ax: Axes, ranked: np.ndarray, theme: Theme) -> None:
    for c in range(10):
        ax.text(-0.02, c, str(c), ha="right", va="center", fontsize=LABEL,
                color=theme.fg if c in ranked[:2] else theme.muted,
                fontweight="bold" if c in ranked[:2] else "normal",
                transform=ax.get_yaxis_transform())


def single_layer(inputs: ProductInputs, theme: Theme) -> Figure:
    """Top: the input, and ``w ⊙ x`` of the two best-scoring classes on one colour
    scale with its bar. Below: the ten scores (bias included) and their softmax."""
    i, t = single_trace(inputs)
    height = 5.7
    fig = new_figure(WIDTH, height)
    maps = t.products[t.ranked[:2]]
    lim = float(np.abs(maps).max()) or 1.0
    cmap = diverging_cmap(theme)
    size, top = 0.29, 0.64  # image axes: width as a share of the figure, bottom edge
    tall = size * WIDTH / height
    ax = picture(fig, (0.0, top, size, tall), t.x.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"输入：测试图 #{i}", fontsize=LABEL)
    ax.text(13.5, 29.5, f"真实数字 {inputs.test['mnist'].labels[i]}", ha="center", va="top",
            fontsize=SMALL)
    for k, c in enumerate(t.ranked[:2]):
        ax = picture(fig, (0.355 + k * 0.33, top, size, tall), maps[k].reshape(28, 28), cmap=cmap,
                     vmin=-lim, vmax=lim)
        # A thin frame: the image's zero is the page's colour.
        ax.add_patch(Rectangle((-0.5, -0.5), 28, 28, fill=False, edgecolor=theme.edge, lw=0.6,
                               clip_on=False))
        ax.set_title(f"“{c}”的 w⊙x" + ("（第一）" if k == 0 else "（第二）"), fontsize=LABEL)
        ax.text(13.5, 29.5, f"Σ(w⊙x) = {maps[k].sum():+.2f}\n"
                f"偏置 b = {t.bias[c]:+.2f}\n得分 z = {t.scores[c]:+.2f}",
                ha="center", va="top", fontsize=SMALL, linespacing=1.35)
    # The colour bar as an image of its own 256 steps (drawn pixelated, like every
    # image here), not matplotlib's colorbar, which the SVG would embed resampled.
    bar = fig.add_axes((0.4, top - 0.155, 0.55, 0.017))
    bar.imshow(np.linspace(-lim, lim, 256)[None, :], cmap=cmap, vmin=-lim, vmax=lim,
               aspect="auto", extent=(-lim, lim, 0, 1))
    bar.set_yticks([])
    bar.set_xticks([-lim, 0, lim], [f"{-lim:.2f}", "0", f"{lim:.2f}"])
    bar.tick_params(labelsize=SMALL, length=2)
    zero = "白色" if theme.name == "light" else "暗色"
    fig.text(0.675, top - 0.215, f"像素 × 权重：红色推高这一类的得分，\n蓝色拉低它，{zero}为 0",
             ha="center", va="top", fontsize=SMALL, linespacing=1.35)

    lo, hi = min(0.0, float(t.scores.min())), max(0.0, float(t.scores.max()))
    span = hi - lo or 1.0
    ax = fig.add_axes((0.08, 0.0, 0.47, 0.29))
    _score_rows(ax, t.scores, t.ranked, theme, [f"{z:+.2f}" for z in t.scores],
                lo - 0.3 * span, hi + 0.3 * span, "得分 z = b + Σ(w⊙x)")
    _digit_labels(ax, t.ranked, theme)
    ax = fig.add_axes((0.64, 0.0, 0.34, 0.29))
    _score_rows(ax, t.probs, t.ranked, theme, [f"{100 * p:.1f}%" for p in t.probs],
                0.0, 1.45, "softmax 概率")
    return fig


def _curve(ax: Axes, z: np.ndarray, activation: str, lim: float, theme: Theme) -> None:
    """A small copy of the activation curve per hidden unit (row ``j`` spans
    ``j - 0.4`` to ``j + 0.4``, output 0 at the bottom), its weighted sum marked. One
    collection per kind of line: a plot call per line took a third of the render."""
    grid = np.linspace(-lim, lim, 121)
    curve = analysis.activate(grid, activation)
    scale = 0.8 / max(1.0, float(curve.max()))
    base = np.arange(len(z)) + 0.4
    zc = np.clip(z, -lim, lim)
    y = base - scale * analysis.activate(zc, activation)
    ax.axvline(0, color=theme.edge, lw=0.5, ls=":")
    ax.add_collection(LineCollection([np.column_stack([grid, b - scale * curve]) for b in base],
                                     colors=theme.muted, linewidths=1.0))
    ax.add_collection(LineCollection([[(-lim, b), (lim, b)] for b in base],
                                     colors=theme.edge, linewidths=0.5))
    stems = [[(x, b), (x, v)] for x, b, v in zip(zc, base, y, strict=True)]
    ax.add_collection(LineCollection(stems, colors=theme.fg, linewidths=0.8, linestyles=":"))
    ax.plot(zc, y, "o", ms=4.5, color=theme.fg, ls="none")


def two_layer(inputs: ProductInputs, theme: Theme) -> Figure:
    """Top: per hidden unit, its weighted sum z marked on the activation curve and
    the activation h it gives. Below: each class's score as its bias plus one term
    ``v·h`` per unit, stacked (positive terms right of 0, negative left), with a thin
    bar under it for their total."""
    i, t = two_layer_trace(inputs)
    activation = inputs.results["mnist-2layer"].experiment.activation
    units = len(t.h)
    height = 7.6
    fig = new_figure(WIDTH, height)

    # -- the input, and the hidden units ----------------------------------------------
    thumb = 0.55 / height
    picture(fig, (0.0, 1 - thumb, thumb * height / WIDTH, thumb), t.x.reshape(28, 28), cmap="gray",
            vmin=0, vmax=1)
    fig.text(0.14, 1 - thumb / 2, f"测试图 #{i} 经过 {units} 个隐藏神经元", va="center",
             fontsize=LABEL, fontweight="bold")
    bottom, tall = 0.52, 0.37  # the hidden units' two panels
    lim = max(6.0, float(np.abs(t.pre).max()) * 1.05)
    ax = fig.add_axes((0.08, bottom, 0.5, tall))
    _curve(ax, t.pre, activation, lim, theme)
    _frame(ax, (-lim, lim), (units - 0.5, -0.5), f"加权和 z 经过 {activation}")
    # The z values themselves are in the data file: a text each cost a tenth of the
    # render, and the dot against the axis below says where each one falls.
    for j in range(units):
        ax.text(-0.03, j, str(j + 1), ha="right", va="center", fontsize=LABEL,
                transform=ax.get_yaxis_transform())
    for v, ha in ((-lim, "left"), (0.0, "center"), (lim, "right")):
        ax.text(v, units - 0.45, f"{v:+.0f}" if v else "z = 0", ha=ha, va="top",
                fontsize=SMALL, color=theme.muted)
    ax = fig.add_axes((0.71, bottom, 0.2, tall))
    ax.barh(np.arange(units), t.h, height=0.6, color=theme.edge)
    ax.plot([0, 0], [-0.5, units - 0.5], color=theme.muted, lw=0.8)
    for j in range(units):
        ax.text(float(t.h[j]) + 0.04, j, f"{t.h[j]:.2f}", va="center", ha="left", fontsize=SMALL)
    _frame(ax, (0, 1.0), (units - 0.5, -0.5), "激活值 h")

    # -- class scores -------------------------------------------------------------------
    # Terms in the ``SIGNED`` colours; the page's colour for text on them (4.5:1) and between.
    pos_c, neg_c = SIGNED[theme.name]
    terms = np.concatenate([t.contributions, t.bias[:, None]], axis=1)  # (10, H + 1)
    lo, hi = float(np.minimum(terms, 0).sum(1).min()), float(np.maximum(terms, 0).sum(1).max())
    span = hi - lo or 1.0
    ax = fig.add_axes((0.08, 0.0, 0.66, 0.42))
    ax.axvline(0, color=theme.muted, lw=0.8)
    # Every term of every class as one collection of rectangles (a bar call each took
    # half the render): positive terms end to end from 0 rightwards, negative ones
    # leftwards, in unit order, the bias last; a thin bar under each row for the total.
    boxes, faces = [], []
    for c in range(10):
        ends = {True: 0.0, False: 0.0}  # where the next positive / negative term starts
        for j in range(units + 1):
            v = float(terms[c, j])
            if v == 0.0:
                continue
            x0, is_bias = ends[v > 0], j == units
            boxes.append(box(x0, x0 + v, c - 0.1 - 0.29, c - 0.1 + 0.29))
            faces.append(theme.muted if is_bias else pos_c if v > 0 else neg_c)
            # A term wide enough for its number is labelled with it (b: the bias).
            if abs(v) >= 0.085 * span:
                ax.text(x0 + v / 2, c - 0.1, "b" if is_bias else str(j + 1), ha="center",
                        va="center", fontsize=SMALL, color=PAGE[theme.name])
            ends[v > 0] = x0 + v
    ax.add_collection(PolyCollection(boxes, facecolors=faces, edgecolors=PAGE[theme.name],
                                     linewidths=0.6), autolim=False)
    totals = [box(0.0, float(t.scores[c]), c + 0.25, c + 0.39) for c in range(10)]
    ax.add_collection(PolyCollection(totals, facecolors=theme.fg, edgecolors="none"), autolim=False)
    _frame(ax, (lo - 0.02 * span, hi + 0.02 * span), (9.6, -0.6),
           "每一类的得分 = 偏置 b + Σ 输出权重 × h")
    _digit_labels(ax, t.ranked, theme)
    for c in range(10):
        ax.text(1.03, c, f"{t.scores[c]:+.2f}  {100 * t.probs[c]:.1f}%", ha="left", va="center",
                fontsize=SMALL, fontweight="bold" if c in t.ranked[:2] else "normal",
                transform=ax.get_yaxis_transform())
    ax.text(1.03, -0.75, "得分 z  概率", ha="left", va="bottom", fontsize=SMALL,
            color=theme.muted, transform=ax.get_yaxis_transform())
    fig.text(0.08, -0.015, "红：这一项推高得分　蓝：拉低　灰 b：偏置\n"
             "格子里是隐藏神经元的编号；下面的细条是合计 z", fontsize=SMALL, va="top",
             linespacing=1.4)
    return fig


# --- the numbers behind the figures ---------------------------------------------------

def single_layer_data(inputs: ProductInputs) -> Table:
    """A row per class, best score first: its bias, the sum of its product map, the
    score, the softmax probability, then the product map itself (pixels row-major);
    the last row is the input."""
    i, t = single_trace(inputs)
    return [["test_index", "class", "rank", "bias", "sum_wx", "score", "probability", *PIXELS],
            *([i, int(c), rank, t.bias[c], t.products[c].sum(), t.scores[c], t.probs[c],
               *t.products[c]] for rank, c in enumerate(t.ranked, start=1)),
            [i, "input", "", "", "", "", "", *t.x]]


def two_layer_data(inputs: ProductInputs) -> Table:
    """A row per hidden unit (its weighted sum and activation), then a row per class
    (its bias, one term per unit, the score and the probability)."""
    i, t = two_layer_trace(inputs)
    units = len(t.h)
    return [["test_index", "row", "z", "h", "bias", *(f"unit{j + 1}" for j in range(units)),
             "score", "probability"],
            # bias, the terms, score and probability: blank for a unit
            *([i, f"unit{j + 1}", t.pre[j], t.h[j], *[""] * (units + 3)] for j in range(units)),
            *([i, f"class{c}", "", "", t.bias[c], *t.contributions[c], t.scores[c], t.probs[c]]
              for c in range(10))]
