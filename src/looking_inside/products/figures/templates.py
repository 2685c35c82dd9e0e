"""Templates beside class averages: for each class, the average training image, the
single-layer network's template, and what the template has that the average has not
(MNIST in the weights chapter, CIFAR-10 in its own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from looking_inside.config import spec
from looking_inside.products import analysis
from looking_inside.products.figures.common import draw_tiles, scaled, signed_cmap
from looking_inside.products.figures.numbers import Table, pixels
from looking_inside.products.figures.style import Theme, new_figure
from looking_inside.products.inputs import once
from looking_inside.products.labels import CIFAR_CLASSES_ZH, class_names

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

ROWS = ("平均", "模板", "差值")
FONT = 10.5  # every text; the figure is narrow enough that it stays legible on a phone


@once
def _match(inputs: ProductInputs, dataset: str, network: str) -> analysis.TemplateMatch:
    train = inputs.train[dataset]
    return analysis.match_templates(inputs.results[network].weights[0], train.images,
                                    train.labels, spec(dataset).centre)


def _difference_rgb(d: np.ndarray, theme: Theme) -> np.ndarray:
    """A signed array, clipped to [-1, 1], -> RGB. In colour ``(H, W, 3)``, grey at 0:
    each channel brighter where the template weighs that colour more than the scaled
    average does. In grey, ``signed_cmap``: blue where the template is lower than the
    scaled average, red above, and the page's colour at 0 (the panels fade into it)."""
    rgb = (np.clip(d, -1, 1) + 1) / 2
    return rgb if d.ndim == 3 else signed_cmap(theme)(rgb)[..., :3]


def _draw(inputs: ProductInputs, theme: Theme, dataset: str, network: str,
          names: Sequence[str], shape: tuple[int, ...]) -> Figure:
    m = _match(inputs, dataset, network)
    w = inputs.results[network].weights[0]
    # One scale for every class, saturating at the largest 1% of values: a handful
    # of extreme pixels would otherwise wash every other difference out to the page.
    lim = float(np.quantile(np.abs(m.difference), 0.99)) or 1.0
    colour = len(shape) == 3

    def image(v: np.ndarray) -> np.ndarray:
        """A flat row as (H, W) or (H, W, 3)."""
        return v.reshape(shape).transpose(1, 2, 0) if colour else v.reshape(shape)

    fig = new_figure(5.4, 7.0)
    side, gap = shape[-1], 3
    for block in range(2):
        classes = range(5 * block, 5 * block + 5)
        tiles: list[np.ndarray | None] = [scaled(image(m.means[c])) for c in classes]
        tiles += [scaled(image(w[c])) for c in classes]
        tiles += [_difference_rgb(image(m.difference[c]) / lim, theme) for c in classes]
        ax = fig.add_axes((0.1, 0.52 - 0.5 * block, 0.9, 0.4))
        draw_tiles(ax, tiles, 5, [f"{names[c]}\nr = {m.own[c]:.2f}" for c in classes], FONT,
                   gap=gap, row_gap=gap, pad=3)
        for row, label in enumerate(ROWS):
            ax.annotate(label, (-0.5, row * (side + gap) + (side - 1) / 2), xytext=(-4, 0),
                        textcoords="offset points", ha="right", va="center", fontsize=FONT,
                        annotation_clip=False)
    return fig


def mnist_templates(inputs: ProductInputs, theme: Theme) -> Figure:
    return _draw(inputs, theme, "mnist", "mnist-1layer", [f"“{d}”" for d in range(10)], (28, 28))


def cifar_templates(inputs: ProductInputs, theme: Theme) -> Figure:
    return _draw(inputs, theme, "cifar10", "cifar-1layer", CIFAR_CLASSES_ZH, (3, 32, 32))


# --- the numbers behind the figures ------------------------------------------------------

def _table(inputs: ProductInputs, dataset: str, network: str, columns: list[str]) -> Table:
    """Per class three rows of pixels, the average training image (0-255), the template
    and the difference (template minus the scaled average input, in weights), each with
    the template's correlation with the average, the scale, the difference's negative
    share and its correlation with the other classes' average input."""
    m = _match(inputs, dataset, network)
    w = inputs.results[network].weights[0]
    rows: Table = [["class", "name", "image", "r_template_average", "scale",
                    "negative_share", "r_difference_other_averages", *columns]]
    for c, name in enumerate(class_names(dataset)):
        for kind, values in (("average", m.means[c]), ("template", w[c]),
                             ("difference", m.difference[c])):
            rows.append([c, name, kind, float(m.own[c]), float(m.scale[c]),
                         float(m.negative_share[c]), float(m.against_others[c]), *values])
    return rows


def mnist_templates_data(inputs: ProductInputs) -> Table:
    return _table(inputs, "mnist", "mnist-1layer", pixels(28))


def cifar_templates_data(inputs: ProductInputs) -> Table:
    return _table(inputs, "cifar10", "cifar-1layer", pixels(32, "RGB"))
