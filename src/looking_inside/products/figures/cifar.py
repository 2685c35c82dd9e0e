"""Figures of the CIFAR-10 chapter: samples, colour templates, confusion."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from looking_inside.products import analysis
from looking_inside.products.figures.common import confusion_figure, draw_tiles, scaled
from looking_inside.products.figures.numbers import Table, matrix_table, pixels
from looking_inside.products.figures.style import Theme, new_figure
from looking_inside.products.labels import CIFAR_CLASSES_ZH

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

SAMPLE_ROWS, SAMPLE_COLS, SAMPLE_SEED = 4, 8, 0


def samples(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """The sampled test images under their classes: ``SAMPLE_COLS`` a row, or
    ``narrow`` half as many, in twice the rows."""
    test = inputs.test["cifar10"]
    idx = analysis.sample_indices(len(test), SAMPLE_ROWS * SAMPLE_COLS, SAMPLE_SEED)
    fig = new_figure(3.6, 8.6) if narrow else new_figure(8.0, 4.6)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    draw_tiles(ax, [test.images[i].transpose(1, 2, 0) / 255.0 for i in idx],
               SAMPLE_COLS // 2 if narrow else SAMPLE_COLS,
               [CIFAR_CLASSES_ZH[int(test.labels[i])] for i in idx],
               fontsize=8.5 if narrow else 9.5, row_gap=9)
    return fig


def weights_all(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """The ten colour templates, five a row; ``narrow``: the same grid, smaller."""
    w = inputs.results["cifar-1layer"].weights[0]  # (10, 3072)
    fig = new_figure(3.7, 1.8) if narrow else new_figure(8.0, 3.7)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    draw_tiles(ax, [scaled(t.reshape(3, 32, 32).transpose(1, 2, 0)) for t in w], 5,
               CIFAR_CLASSES_ZH, fontsize=8.5 if narrow else 10, gap=3, row_gap=8)
    return fig


def confusion(inputs: ProductInputs, theme: Theme) -> Figure:
    # Class names under 8.5 pt, or the ten across the top run into each other.
    return confusion_figure(inputs.results["cifar-1layer"].confusion, CIFAR_CLASSES_ZH, theme,
                            3.6, (0.14, 0.02, 0.84, 0.82), labelsize=8.5)


# --- the numbers behind the figures (the data link under each) --------------------

def samples_data(inputs: ProductInputs) -> Table:
    test = inputs.test["cifar10"]
    idx = analysis.sample_indices(len(test), SAMPLE_ROWS * SAMPLE_COLS, SAMPLE_SEED)
    return [["position", "test_index", "label", "class"],
            *([k, int(i), int(test.labels[i]), CIFAR_CLASSES_ZH[int(test.labels[i])]]
              for k, i in enumerate(idx))]


def weights_all_data(inputs: ProductInputs) -> Table:
    """10 x 3072: one row per class; columns channel-major (R, G, B), then row, column."""
    return matrix_table(inputs.results["cifar-1layer"].weights[0], "class", CIFAR_CLASSES_ZH,
                        pixels(32, "RGB"))


def confusion_data(inputs: ProductInputs) -> Table:
    """Counts: rows actual, columns predicted."""
    return matrix_table(inputs.results["cifar-1layer"].confusion, "actual/predicted",
                        CIFAR_CLASSES_ZH, CIFAR_CLASSES_ZH)
