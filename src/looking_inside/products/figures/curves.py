"""The how-built page's training curves: loss and test accuracy per epoch, one column
per experiment (small multiples), read from each experiment's ``history``."""

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


def training_curves(inputs: ProductInputs, theme: Theme) -> Figure:
    names = list(inputs.results)
    fig = new_figure(1.65 * len(names) + 0.6, 4.2)
    # Rows share their y axis: the columns are compared with each other, and a shared
    # scale keeps MNIST's low loss from looking like CIFAR-10's.
    axes = fig.subplots(len(ROWS), len(names), sharey="row", squeeze=False)
    colours = (theme.positive, theme.correct)
    for c, name in enumerate(names):
        history = inputs.results[name].history
        for r, (key, label) in enumerate(ROWS):
            ax = axes[r][c]
            y = np.asarray(history[key], dtype=float)
            epochs = np.arange(1, len(y) + 1)
            ax.plot(epochs, y, color=colours[r], lw=1.6, marker="o", ms=2.2)
            ax.grid(True, color=theme.muted, alpha=0.3, lw=0.5)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.tick_params(labelsize=8, length=2)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            if key == "test_accuracy":
                ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
                ax.set_xlabel("轮", fontsize=9, color=theme.fg)
            if c == 0:
                ax.set_ylabel(label, fontsize=9, color=theme.fg)
        axes[0][c].set_title(name, fontsize=9.5, color=theme.fg)
    fig.subplots_adjust(left=0.1, right=0.99, top=0.92, bottom=0.12, wspace=0.14,
                        hspace=0.18)
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
