"""The how-built page's training curves: loss and test accuracy per epoch, one small
panel pair per configuration in a grid (its seeds drawn over each other), read from
each experiment's ``history``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from looking_inside.products.figures.numbers import Table
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

ROWS = (("loss", "训练损失"), ("test_accuracy", "测试准确率"))


@dataclass(frozen=True)
class _Layout:
    """The grid of small multiples, in inches: ``columns`` configurations a row."""

    columns: int
    cell_w: float  # one configuration: its two panels, tick labels, title
    cell_h: float
    panel_w: float  # one panel
    panel_h: float
    tick_room: float  # left of a panel, for its tick labels
    left: float  # room for the row labels
    text: float  # font size of tick labels, row labels and titles, pt


# Wide: four configurations a row, the grid no wider than the article column; narrow
# (phones): two. The site has about two dozen configurations (the article's, the
# sweeps, the convnets), so the grid grows downwards.
WIDE = _Layout(columns=4, cell_w=1.65, cell_h=2.4, panel_w=1.13, panel_h=0.85,
               tick_room=0.42, left=0.4, text=8.5)
NARROW = _Layout(columns=2, cell_w=1.6, cell_h=2.3, panel_w=1.12, panel_h=0.8,
                 tick_room=0.38, left=0.3, text=7.5)
PANEL_GAP = 0.1  # between the two panels of a configuration
TOP = 0.35  # above the first titles
TICK = 0.03  # tick length, inches
MARGIN = 0.05  # data margin inside a panel (matplotlib's default)
CHAR_EM = 0.6  # the widest average advance of a title's Latin characters, in em


def training_curves(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """Every panel is drawn into one axes that spans the figure, in inches.

    Real axes (two per experiment) would lay out their ticks twice for the tight
    bounding box, most of this figure's time; here the ticks are MaxNLocator's
    values, the gridlines and frames two line collections and the labels plain text,
    drawn the same way. ``narrow``: two configurations a row instead of four."""
    lay = NARROW if narrow else WIDE
    # Runs grouped by configuration, in their order: mnist-conv, mnist-conv-seed1, ...
    groups: dict[str, list[str]] = {}
    for n in inputs.results:
        groups.setdefault(re.sub(r"-seed\d+$", "", n), []).append(n)
    cols = min(lay.columns, len(groups))
    rows = -(-len(groups) // cols)
    width, height = lay.cell_w * cols + lay.left, lay.cell_h * rows + TOP
    fig = new_figure(width, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width), ylim=(0, height))
    ax.set_axis_off()
    colours = (theme.positive, theme.correct)
    # A title longer than its cell goes on two lines, the seed count on the second.
    fits = int(lay.cell_w * 72 / (CHAR_EM * lay.text))
    grid: list[list[tuple[float, float]]] = []
    frame: list[list[tuple[float, float]]] = []
    for i, (name, runs) in enumerate(groups.items()):
        histories = [inputs.results[n].history for n in runs]
        row, col = divmod(i, cols)
        x0 = lay.left + col * lay.cell_w + lay.tick_room
        top = height - TOP - row * lay.cell_h
        for r, (key, label) in enumerate(ROWS):
            y0 = top - (r + 1) * lay.panel_h - r * PANEL_GAP
            ys = [np.asarray(h[key], dtype=float) for h in histories]
            epochs = np.arange(1, len(ys[0]) + 1, dtype=float)
            px = _Scale(epochs, x0, lay.panel_w)
            py = _Scale(np.concatenate(ys), y0, lay.panel_h)
            for run in ys:  # every seed's curve, in the same colour
                ax.plot(px.many(epochs), py.many(run), color=colours[r], lw=1.1, marker="o",
                        ms=1.5, alpha=0.8 if len(ys) > 1 else 1.0, clip_on=False)
            x_ticks, y_ticks = px.ticks(integer=True), py.ticks()
            grid += [[(px(t), y0), (px(t), y0 + lay.panel_h)] for t in x_ticks]
            grid += [[(x0, py(t)), (x0 + lay.panel_w, py(t))] for t in y_ticks]
            frame += [[(x0, y0 + lay.panel_h), (x0, y0), (x0 + lay.panel_w, y0)]]
            frame += [[(x0 - TICK, py(t)), (x0, py(t))] for t in y_ticks]
            frame += [[(px(t), y0), (px(t), y0 - TICK)] for t in x_ticks]
            for t, text in zip(y_ticks, _labels(y_ticks, percent=key == "test_accuracy"),
                               strict=True):
                ax.text(x0 - TICK - 0.02, py(t), text, ha="right", va="center", fontsize=lay.text)
            if key == "test_accuracy":
                for t in x_ticks:
                    ax.text(px(t), y0 - TICK - 0.02, f"{t:.0f}", ha="center", va="top",
                            fontsize=lay.text)
            if col == 0:
                ax.text(lay.left - 0.12, y0 + lay.panel_h / 2, label, rotation=90,
                        ha="center", va="center", fontsize=lay.text)
        title = name if len(runs) == 1 else f"{name} ×{len(runs)}"
        if len(title) > fits:
            title = title.replace(" ×", "\n×")
        ax.text(x0 + lay.panel_w / 2, top + 0.05, title, ha="center", va="bottom",
                fontsize=lay.text, linespacing=1.1)
    ax.add_collection(LineCollection(grid, colors=theme.muted, alpha=0.3, linewidths=0.5, zorder=0))
    ax.add_collection(LineCollection(frame, colors=theme.muted, linewidths=0.8))
    return fig


class _Scale:
    """Data values -> inches along one side of a panel, with matplotlib's margin."""

    def __init__(self, values: np.ndarray, start: float, length: float) -> None:
        lo, hi = float(values.min()), float(values.max())
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        pad = MARGIN * (hi - lo)
        self.lo, self.hi = lo - pad, hi + pad
        self.start, self.length = start, length

    def many(self, v: np.ndarray) -> np.ndarray:
        return self.start + (v - self.lo) / (self.hi - self.lo) * self.length

    def __call__(self, v: float) -> float:
        return float(self.many(np.asarray(v)))

    def ticks(self, integer: bool = False) -> list[float]:
        values = MaxNLocator(nbins=3, integer=integer).tick_values(self.lo, self.hi)
        return [float(t) for t in values if self.lo <= t <= self.hi]


def _labels(ticks: list[float], percent: bool) -> list[str]:
    """The fewest decimals that print every tick exactly (0.5 is "0.5", not "0"; 40%
    and 42.5% are "40.0%" and "42.5%")."""
    values = [100 * t if percent else t for t in ticks]
    digits = next((d for d in range(7)
                   if all(abs(round(v, d) - v) < 1e-6 * max(1.0, abs(v)) for v in values)), 6)
    return [f"{v:.{digits}f}" + ("%" if percent else "") for v in values]


def training_curves_data(inputs: ProductInputs) -> Table:
    """One row per experiment and epoch: what the curves plot, and train accuracy."""
    keys = ("loss", "train_accuracy", "test_accuracy")
    return [["experiment", "epoch", *keys],
            *([name, e + 1, *(float(res.history[k][e]) for k in keys)]
              for name, res in inputs.results.items() for e in range(len(res.history["loss"])))]
