"""The how-built page's training curves: loss and test accuracy per epoch, one small
panel pair per experiment in a grid, read from each experiment's ``history``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from looking_inside.products.figures.numbers import Table
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

ROWS = (("loss", "训练损失"), ("test_accuracy", "测试准确率"))


# Panels per row: a grid of small multiples that stays readable at any count of
# experiments (the site trains about two dozen: the article's, the sweeps, convnets).
COLUMNS = 6


def training_curves(inputs: ProductInputs, theme: Theme) -> Figure:
    names = list(inputs.results)
    cols = min(COLUMNS, len(names))
    rows = -(-len(names) // cols)
    fig = new_figure(1.45 * cols + 0.5, 2.25 * rows + 0.3)
    outer = fig.add_gridspec(rows, cols, hspace=0.4, wspace=0.32, left=0.07, right=0.99,
                             top=1 - 0.28 / (2.25 * rows + 0.3), bottom=0.04)
    colours = (theme.positive, theme.correct)
    for i, name in enumerate(names):
        history = inputs.results[name].history
        inner = outer[i // cols, i % cols].subgridspec(2, 1, hspace=0.1)
        top = None
        for r, (key, label) in enumerate(ROWS):
            ax = fig.add_subplot(inner[r], sharex=top)
            top = top or ax
            y = np.asarray(history[key], dtype=float)
            epochs = np.arange(1, len(y) + 1)
            ax.plot(epochs, y, color=colours[r], lw=1.4, marker="o", ms=1.8)
            ax.grid(True, color=theme.muted, alpha=0.3, lw=0.5)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
            ax.tick_params(labelsize=6.5, length=2, pad=1)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            if key == "test_accuracy":
                ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            else:
                ax.tick_params(labelbottom=False)
            if i % cols == 0:
                ax.set_ylabel(label, fontsize=7.5, color=theme.fg)
        assert top is not None
        top.set_title(name, fontsize=7.5, color=theme.fg, pad=3)
    return fig


def training_curves_data(inputs: ProductInputs) -> Table:
    """One row per experiment and epoch: what the curves plot, and train accuracy."""
    table: Table = [["experiment", "epoch", "loss", "train_accuracy", "test_accuracy"]]
    for name, res in inputs.results.items():
        h = res.history
        for e in range(len(h["loss"])):
            table.append([name, e + 1, *(float(h[k][e]) for k in
                                         ("loss", "train_accuracy", "test_accuracy"))])
    return table
