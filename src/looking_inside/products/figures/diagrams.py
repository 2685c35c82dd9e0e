"""Diagrams (vector art): the single-layer and two-layer MNIST networks, and the two
activation functions the site's networks use."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from looking_inside.products.figures.common import neuron, picture
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

# Which inputs are drawn: the first three, an ellipsis, the last two.
INPUT_LABELS = ["x₁", "x₂", "x₃", None, "x₇₈₃", "x₇₈₄"]
OUTPUTS = ([str(d) for d in range(10)], "10 个输出神经元\n（数字 0–9）")
# Font sizes, pt: the wide layout, and the phone layout (``narrow=True``), which
# draws the same diagram in half the width; and the neurons' radii, in data units
# (bigger on the phone, to hold their labels).
WIDE = {"neuron": 8.5, "output": 9.5, "caption": 11, "title": 10, "dots": 16,
        "r_in": 0.42, "r_out": 0.38}
NARROW = {"neuron": 7, "output": 7.5, "caption": 7.5, "title": 7.5, "dots": 11,
          "r_in": 0.55, "r_out": 0.44}


def _network(inputs: ProductInputs, theme: Theme, size: dict[str, float],
             figsize: tuple[float, float], left: float, inset: float,
             layers: list[tuple[float, list[str], str]], alpha: float) -> tuple[Figure, Axes]:
    """The input column at x = 2, then each layer's ``(x, labels, caption)``, every
    column joined to the one before; the digit the inputs unroll, ``inset`` wide, left
    of them, with an arrow. The diagram's axes starts ``left`` across the figure."""
    fig = new_figure(*figsize)
    ax = fig.add_axes((left, 0.0, 1 - left, 1.0))
    ax.set(xlim=(0, layers[-1][0] + 2), ylim=(-1.6, 10))
    ax.set_axis_off()
    x0, ys0 = 2.0, []
    for y, label in zip(np.linspace(9.0, 1.0, len(INPUT_LABELS)), INPUT_LABELS, strict=True):
        if label is None:
            ax.text(x0, y, "⋮", ha="center", va="center", fontsize=size["dots"])
        else:
            neuron(ax, x0, y, size["r_in"], theme, label, fontsize=size["neuron"])
            ys0.append(y)
    ax.text(x0, 0.0, "784 个输入神经元\n（像素展开成一列）", ha="center", va="top",
            fontsize=size["caption"])
    for x, labels, caption in layers:
        ys = list(np.linspace(9.5, 0.5, len(labels)))
        for y, label in zip(ys, labels, strict=True):
            neuron(ax, x, y, size["r_out"], theme, label, fontsize=size["output"])
        ax.text(x, 0.0, caption, ha="center", va="top", fontsize=size["caption"])
        # One collection, not a line artist each (the two-layer diagram's 150 lines were
        # most of its time), drawn the same: each segment composited on its own, with a
        # line's projecting caps.
        ax.add_collection(LineCollection([[(x0, a), (x, b)] for a in ys0 for b in ys],
                                         colors=theme.edge, linewidths=0.5, alpha=alpha,
                                         zorder=1, capstyle="projecting"))
        x0, ys0 = x, ys
    ax.annotate("", xy=(1.3, 5.0), xytext=(-0.6, 5.0),
                arrowprops={"arrowstyle": "->", "color": theme.fg, "lw": 1.2})
    digit = picture(fig, (0.01, 0.38, inset, 0.25), inputs.test["mnist"].images[0], cmap="gray")
    digit.set_title("28×28 图像", fontsize=size["title"])
    return fig, ax


def single_layer_network(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    size = NARROW if narrow else WIDE
    fig, ax = _network(inputs, theme, size, (3.66, 3.4) if narrow else (7.0, 4.2), 0.18, 0.15,
                       [(8.0, *OUTPUTS)], alpha=0.35)
    ax.text(0.35, 5.4, "展开", ha="center", fontsize=size["caption"])
    return fig


def two_layer_network(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    hidden = (6.5, [f"h{i}" for i in range(1, 11)], "10 个隐藏神经元")
    return _network(inputs, theme, NARROW if narrow else WIDE,
                    (3.62, 3.4) if narrow else (7.05, 4.2), 0.16, 0.13,
                    [hidden, (11.0, *OUTPUTS)], alpha=0.25)[0]


def activations(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """The two activation functions the site's networks use, on one input range:
    sigmoid (the article's two-layer network: every output between 0 and 1) and ReLU
    (the capacity sweep and the convnets: 0 below zero, the input itself above)."""
    fig = new_figure(3.6, 1.9) if narrow else new_figure(8.0, 2.8)
    size = ({"title": 8.5, "label": 7.5, "tick": 7.5} if narrow
            else {"title": 11, "label": 9.5, "tick": 9})
    axes = fig.subplots(1, 2)
    z = np.linspace(-6, 6, 241)
    for ax, title, y, ticks in (
            (axes[0], "sigmoid", 1 / (1 + np.exp(-z)), [0, 0.5, 1]),
            (axes[1], "ReLU", np.maximum(z, 0), [0, 2, 4, 6])):
        ax.axhline(0, color=theme.muted, lw=0.6)
        ax.axvline(0, color=theme.muted, lw=0.6)
        ax.plot(z, y, color=theme.positive, lw=1.5 if narrow else 2)
        ax.set_title(title, fontsize=size["title"])
        ax.set_xlabel("输入 z（加权和）", fontsize=size["label"])
        ax.set(xticks=[-6, -3, 0, 3, 6], yticks=ticks)
        ax.tick_params(labelsize=size["tick"])
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("输出（激活值）", fontsize=size["label"])
    if narrow:
        fig.subplots_adjust(left=0.13, right=0.98, top=0.87, bottom=0.25, wspace=0.35)
    else:
        fig.subplots_adjust(left=0.09, right=0.98, top=0.86, bottom=0.2, wspace=0.3)
    return fig
