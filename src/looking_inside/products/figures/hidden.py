"""Figures of the hidden-layer chapter drawn from test images: what excites a unit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from looking_inside.products import analysis
from looking_inside.products.figures.common import bare, show_gray
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs


def strip(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """(k, H, W) images side by side with ``gap`` blank columns, as one (H, k*(W+gap))
    image: one imshow per strip keeps the figure at 30 axes instead of 170."""
    k, h, w = images.shape
    out = np.full((h, k * (w + gap) - gap), np.nan, dtype=np.float64)
    for i in range(k):
        out[:, i * (w + gap): i * (w + gap) + w] = images[i]
    return out


def top_images(inputs: ProductInputs, theme: Theme) -> Figure:
    """Per hidden unit of mnist-2layer: its filter, the test digits that excite it
    most, and those that excite it least (ink dark on the page's background)."""
    res = inputs.results["mnist-2layer"]
    images = inputs.test["mnist"].images  # (N, 28, 28) uint8
    assert res.hidden is not None, "mnist-2layer records its hidden activations"
    top, bottom = analysis.extreme_examples(res.hidden, analysis.EXAMPLES)
    h = res.weights[0].shape[0]
    fig = new_figure(8.5, 0.62 * h + 0.5)
    row = 0.93 / h
    x_filter, x_top, x_bottom, w_strip = 0.045, 0.11, 0.56, 0.43
    cmap = "gray_r" if theme.name == "light" else "gray"
    for j in range(h):
        y = 0.965 - (j + 1) * row
        ax = fig.add_axes((x_filter, y + 0.004, 0.055, row - 0.008))
        show_gray(ax, res.weights[0][j].reshape(28, 28))
        ax.text(-0.15, 0.5, f"{j + 1}", transform=ax.transAxes, ha="right", va="center",
                fontsize=10, color=theme.fg)
        for x0, idx, title in ((x_top, top[j], "最兴奋的 8 张"),
                               (x_bottom, bottom[j], "最不兴奋的 8 张")):
            ax = fig.add_axes((x0, y + 0.004, w_strip, row - 0.008))
            ax.imshow(strip(images[idx].astype(np.float64)), cmap=cmap, vmin=0, vmax=255,
                      interpolation="nearest")
            bare(ax)
            if j == 0:
                ax.set_title(title, fontsize=10, color=theme.fg)
    fig.text(x_filter + 0.0275, 0.965, "过滤器", ha="center", va="bottom", fontsize=10,
             color=theme.fg)
    return fig
