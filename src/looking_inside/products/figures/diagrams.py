"""Diagrams (vector art): the single-layer and two-layer MNIST networks, and the two
activation functions the site's networks use."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from looking_inside.products.figures.common import bare, neuron
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

# Which inputs are drawn: the first three, an ellipsis, the last two.
INPUT_LABELS = ["x₁", "x₂", "x₃", None, "x₇₈₃", "x₇₈₄"]


def _column(n: int, top: float, bottom: float) -> np.ndarray:
    return np.linspace(top, bottom, n)


def _connect(ax, xs0: float, ys0, xs1: float, ys1, theme: Theme, alpha: float = 0.35) -> None:
    """Every neuron of one column joined to every one of the next: one collection, not
    a line artist each (the two-layer diagram's 150 lines were most of its time).
    Drawn the same: each segment composited on its own, with a line's projecting
    caps."""
    segments = [[(xs0, y0), (xs1, y1)] for y0 in ys0 for y1 in ys1]
    ax.add_collection(LineCollection(segments, colors=theme.edge, linewidths=0.5, alpha=alpha,
                                     zorder=1, capstyle="projecting"))


# Font sizes, pt: the wide layout, and the phone layout (``narrow=True``), which
# draws the same diagram in half the width.
# draws the same diagram in half the width; and the neurons' radii, in data units
# (bigger on the phone, to hold their labels).
WIDE = {"neuron": 8.5, "output": 9.5, "caption": 11, "title": 10, "dots": 16,
        "r_in": 0.42, "r_out": 0.38}
NARROW = {"neuron": 7, "output": 7.5, "caption": 7.5, "title": 7.5, "dots": 11,
          "r_in": 0.55, "r_out": 0.44}


def _inputs(ax, x: float, theme: Theme, size: dict[str, float]) -> np.ndarray:
    ys = _column(len(INPUT_LABELS), 9.0, 1.0)
    drawn = []
    for y, label in zip(ys, INPUT_LABELS, strict=True):
        if label is None:
            ax.text(x, y, "⋮", ha="center", va="center", fontsize=size["dots"], color=theme.fg)
            continue
        neuron(ax, x, y, size["r_in"], theme, label, fontsize=size["neuron"])
        drawn.append(y)
    ax.text(x, 0.0, "784 个输入神经元\n（像素展开成一列）", ha="center", va="top",
            fontsize=size["caption"], color=theme.fg)
    return np.asarray(drawn)


def _outputs(ax, x: float, theme: Theme, labels: list[str], caption: str,
             size: dict[str, float]) -> np.ndarray:
    ys = _column(len(labels), 9.5, 0.5)
    for y, label in zip(ys, labels, strict=True):
        neuron(ax, x, y, size["r_out"], theme, label, fontsize=size["output"])
    ax.text(x, 0.0, caption, ha="center", va="top", fontsize=size["caption"], color=theme.fg)
    return ys


def _digit_inset(fig: Figure, image: np.ndarray, rect: tuple[float, float, float, float],
                 theme: Theme, size: dict[str, float]) -> None:
    ax = fig.add_axes(rect)
    ax.imshow(image, cmap="gray")
    bare(ax)
    ax.set_title("28×28 图像", fontsize=size["title"], color=theme.fg)


def single_layer_network(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    size = NARROW if narrow else WIDE
    fig = new_figure(3.66, 3.4) if narrow else new_figure(7.0, 4.2)
    ax = fig.add_axes((0.18, 0.0, 0.82, 1.0))
    ax.set_xlim(0, 10)
    ax.set_ylim(-1.6, 10)
    bare(ax)
    ys_in = _inputs(ax, 2.0, theme, size)
    ys_out = _outputs(ax, 8.0, theme, [str(d) for d in range(10)],
                      "10 个输出神经元\n（数字 0–9）", size)
    _connect(ax, 2.0, ys_in, 8.0, ys_out, theme)
    ax.annotate("", xy=(1.3, 5.0), xytext=(-0.6, 5.0),
                arrowprops={"arrowstyle": "->", "color": theme.fg, "lw": 1.2})
    ax.text(0.35, 5.4, "展开", ha="center", fontsize=size["caption"], color=theme.fg)
    _digit_inset(fig, inputs.test["mnist"].images[0], (0.01, 0.38, 0.15, 0.25), theme, size)
    return fig


def two_layer_network(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    size = NARROW if narrow else WIDE
    fig = new_figure(3.62, 3.4) if narrow else new_figure(7.05, 4.2)
    ax = fig.add_axes((0.16, 0.0, 0.84, 1.0))
    ax.set_xlim(0, 13)
    ax.set_ylim(-1.6, 10)
    bare(ax)
    ys_in = _inputs(ax, 2.0, theme, size)
    ys_hid = _outputs(ax, 6.5, theme, [f"h{i}" for i in range(1, 11)], "10 个隐藏神经元",
                      size)
    ys_out = _outputs(ax, 11.0, theme, [str(d) for d in range(10)],
                      "10 个输出神经元\n（数字 0–9）", size)
    _connect(ax, 2.0, ys_in, 6.5, ys_hid, theme, alpha=0.25)
    _connect(ax, 6.5, ys_hid, 11.0, ys_out, theme, alpha=0.25)
    ax.annotate("", xy=(1.3, 5.0), xytext=(-0.6, 5.0),
                arrowprops={"arrowstyle": "->", "color": theme.fg, "lw": 1.2})
    _digit_inset(fig, inputs.test["mnist"].images[0], (0.01, 0.38, 0.13, 0.25), theme, size)
    return fig


def activations(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """The two activation functions the site's networks use, on one input range:
    sigmoid (the article's two-layer network: every output between 0 and 1) and ReLU
    (the capacity sweep and the convnets: 0 below zero, the input itself above).
    ``narrow``: the same two panels, smaller, with smaller type."""
    if narrow:
        fig = new_figure(3.6, 1.9)
        size = {"title": 8.5, "label": 7.5, "tick": 7.5}
    else:
        fig = new_figure(8.0, 2.8)
        size = {"title": 11, "label": 9.5, "tick": 9}
    axes = fig.subplots(1, 2)
    z = np.linspace(-6, 6, 241)
    for ax, title, y, ticks in (
            (axes[0], "sigmoid", 1 / (1 + np.exp(-z)), [0, 0.5, 1]),
            (axes[1], "ReLU", np.maximum(z, 0), [0, 2, 4, 6])):
        ax.axhline(0, color=theme.muted, lw=0.6)
        ax.axvline(0, color=theme.muted, lw=0.6)
        ax.plot(z, y, color=theme.positive, lw=1.5 if narrow else 2)
        ax.set_title(title, fontsize=size["title"], color=theme.fg)
        ax.set_xlabel("输入 z（加权和）", color=theme.fg, fontsize=size["label"])
        ax.set_xticks([-6, -3, 0, 3, 6])
        ax.set_yticks(ticks)
        ax.tick_params(colors=theme.fg, labelsize=size["tick"])
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for s in ax.spines.values():
            s.set_color(theme.muted)
    axes[0].set_ylabel("输出（激活值）", color=theme.fg, fontsize=size["label"])
    if narrow:
        fig.subplots_adjust(left=0.13, right=0.98, top=0.87, bottom=0.25, wspace=0.35)
    else:
        fig.subplots_adjust(left=0.09, right=0.98, top=0.86, bottom=0.2, wspace=0.3)
    return fig
