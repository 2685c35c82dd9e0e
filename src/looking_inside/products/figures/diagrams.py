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


def _inputs(ax, x: float, theme: Theme) -> np.ndarray:
    ys = _column(len(INPUT_LABELS), 9.0, 1.0)
    drawn = []
    for y, label in zip(ys, INPUT_LABELS, strict=True):
        if label is None:
            ax.text(x, y, "⋮", ha="center", va="center", fontsize=16, color=theme.fg)
            continue
        neuron(ax, x, y, 0.42, theme, label, fontsize=8.5)
        drawn.append(y)
    ax.text(x, 0.0, "784 个输入神经元\n（像素展开成一列）", ha="center", va="top",
            fontsize=11, color=theme.fg)
    return np.asarray(drawn)


def _outputs(ax, x: float, theme: Theme, labels: list[str], caption: str) -> np.ndarray:
    ys = _column(len(labels), 9.5, 0.5)
    for y, label in zip(ys, labels, strict=True):
        neuron(ax, x, y, 0.38, theme, label, fontsize=9.5)
    ax.text(x, 0.0, caption, ha="center", va="top", fontsize=11, color=theme.fg)
    return ys


def _digit_inset(fig: Figure, image: np.ndarray, rect: tuple[float, float, float, float],
                 theme: Theme) -> None:
    ax = fig.add_axes(rect)
    ax.imshow(image, cmap="gray")
    bare(ax)
    ax.set_title("28×28 图像", fontsize=10, color=theme.fg)


def single_layer_network(inputs: ProductInputs, theme: Theme) -> Figure:
    fig = new_figure(7.0, 4.2)
    ax = fig.add_axes((0.18, 0.0, 0.82, 1.0))
    ax.set_xlim(0, 10)
    ax.set_ylim(-1.6, 10)
    bare(ax)
    ys_in = _inputs(ax, 2.0, theme)
    ys_out = _outputs(ax, 8.0, theme, [str(d) for d in range(10)],
                      "10 个输出神经元\n（数字 0–9）")
    _connect(ax, 2.0, ys_in, 8.0, ys_out, theme)
    ax.annotate("", xy=(1.3, 5.0), xytext=(-0.6, 5.0),
                arrowprops={"arrowstyle": "->", "color": theme.fg, "lw": 1.2})
    ax.text(0.35, 5.4, "展开", ha="center", fontsize=11, color=theme.fg)
    _digit_inset(fig, inputs.test["mnist"].images[0], (0.01, 0.38, 0.15, 0.25), theme)
    return fig


def two_layer_network(inputs: ProductInputs, theme: Theme) -> Figure:
    fig = new_figure(8.0, 4.2)
    ax = fig.add_axes((0.16, 0.0, 0.84, 1.0))
    ax.set_xlim(0, 13)
    ax.set_ylim(-1.6, 10)
    bare(ax)
    ys_in = _inputs(ax, 2.0, theme)
    ys_hid = _outputs(ax, 6.5, theme, [f"h{i}" for i in range(1, 11)], "10 个隐藏神经元")
    ys_out = _outputs(ax, 11.0, theme, [str(d) for d in range(10)],
                      "10 个输出神经元\n（数字 0–9）")
    _connect(ax, 2.0, ys_in, 6.5, ys_hid, theme, alpha=0.25)
    _connect(ax, 6.5, ys_hid, 11.0, ys_out, theme, alpha=0.25)
    ax.annotate("", xy=(1.3, 5.0), xytext=(-0.6, 5.0),
                arrowprops={"arrowstyle": "->", "color": theme.fg, "lw": 1.2})
    _digit_inset(fig, inputs.test["mnist"].images[0], (0.01, 0.38, 0.13, 0.25), theme)
    return fig


def activations(inputs: ProductInputs, theme: Theme) -> Figure:
    """The two activation functions the site's networks use, on one input range:
    sigmoid (the article's two-layer network: every output between 0 and 1) and ReLU
    (the capacity sweep and the convnets: 0 below zero, the input itself above)."""
    fig = new_figure(8.0, 2.8)
    axes = fig.subplots(1, 2)
    z = np.linspace(-6, 6, 241)
    for ax, title, y, ticks in (
            (axes[0], "sigmoid", 1 / (1 + np.exp(-z)), [0, 0.5, 1]),
            (axes[1], "ReLU", np.maximum(z, 0), [0, 2, 4, 6])):
        ax.axhline(0, color=theme.muted, lw=0.6)
        ax.axvline(0, color=theme.muted, lw=0.6)
        ax.plot(z, y, color=theme.positive, lw=2)
        ax.set_title(title, fontsize=11, color=theme.fg)
        ax.set_xlabel("输入 z（加权和）", color=theme.fg, fontsize=9.5)
        ax.set_xticks([-6, -3, 0, 3, 6])
        ax.set_yticks(ticks)
        ax.tick_params(colors=theme.fg, labelsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for s in ax.spines.values():
            s.set_color(theme.muted)
    axes[0].set_ylabel("输出（激活值）", color=theme.fg, fontsize=9.5)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.86, bottom=0.2, wspace=0.3)
    return fig
