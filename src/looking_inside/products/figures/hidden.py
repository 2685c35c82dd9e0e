"""Figures of the hidden-layer chapter drawn from test images: what excites a unit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from looking_inside.products import analysis
from looking_inside.products.figures.common import picture, scaled, tile_mosaic
from looking_inside.products.figures.numbers import Table
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

# The mosaic's geometry, in pixels of the 28x28 images: 2 between digits of a group,
# 12 between the filter and the groups and between the groups, 4 between rows.
SIDE, GAP, GROUP_GAP, ROW_GAP = 28, 2, 12, 4
GROUPS = ("最兴奋的", "最不兴奋的")


def mosaic(filters: np.ndarray, groups: tuple[np.ndarray, ...], theme: Theme) -> np.ndarray:
    """One RGBA image (uint8), a row per hidden unit: its filter scaled to its own range
    (lowest black), then each group of test digits, ink dark on the light page and
    light on the dark one; transparent between them. One image in one axes, rather
    than 30 axes: the figure renders several times faster."""
    columns = [tile_mosaic([scaled(f.reshape(SIDE, SIDE)) for f in filters], 1, row_gap=ROW_GAP)]
    for digits in groups:  # (h, k, 28, 28) uint8
        ink = digits.reshape(-1, SIDE, SIDE) / 255.0
        columns += [np.zeros((len(columns[0]), GROUP_GAP, 4), np.uint8),
                    tile_mosaic(list(1.0 - ink if theme.name == "light" else ink),
                                digits.shape[1], gap=GAP, row_gap=ROW_GAP)]
    return np.concatenate(columns, axis=1)


def top_images(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """Per hidden unit of mnist-2layer: its filter, the test digits that excite it
    most, and those that excite it least. ``narrow``: the two groups one block above
    the other, each row starting with the unit's filter again."""
    res = inputs.results["mnist-2layer"]
    images = inputs.test["mnist"].images  # (N, 28, 28) uint8
    assert res.hidden is not None, "mnist-2layer records its hidden activations"
    top, bottom = analysis.extreme_examples(res.hidden, analysis.EXAMPLES)
    filters = res.weights[0]
    h = len(filters)
    blocks = ((images[top],), (images[bottom],)) if narrow else ((images[top], images[bottom]),)
    fig = new_figure(3.6, 2 * (0.37 * h + 0.5)) if narrow else new_figure(8.5, 0.5 * h + 0.6)
    size = 8.0 if narrow else 10
    width = analysis.EXAMPLES * (SIDE + GAP) - GAP
    for b, groups in enumerate(blocks):
        ax = picture(fig, (0.07, 0.51 - 0.5 * b, 0.92, 0.44) if narrow else (0.04, 0.01, 0.95, 0.9),
                     mosaic(filters, groups, theme))
        for j in range(h):
            ax.text(-4, j * (SIDE + ROW_GAP) + (SIDE - 1) / 2, f"{j + 1}", ha="right",
                    va="center", fontsize=size)
        names = GROUPS[b:b + 1] if narrow else GROUPS
        for x, title in ((SIDE / 2, "过滤器"),
                         *((SIDE + GROUP_GAP + g * (width + GROUP_GAP) + width / 2,
                            f"{name} {analysis.EXAMPLES} 张")
                           for g, name in enumerate(names))):
            ax.annotate(title, (x - 0.5, -0.5), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=size, annotation_clip=False)
    return fig


def top_images_data(inputs: ProductInputs) -> Table:
    """Which test digits each unit shows, with the activation that ranked them."""
    res = inputs.results["mnist-2layer"]
    assert res.hidden is not None, "mnist-2layer records its hidden activations"
    picks = analysis.extreme_examples(res.hidden, analysis.EXAMPLES)
    labels = inputs.test["mnist"].labels
    return [["unit", "group", "rank", "test_index", "label", "activation"],
            *([j + 1, group, r + 1, int(i), int(labels[i]), float(res.hidden[i, j])]
              for group, idx in zip(("most", "least"), picks, strict=True)
              for j in range(len(idx)) for r, i in enumerate(idx[j]))]
