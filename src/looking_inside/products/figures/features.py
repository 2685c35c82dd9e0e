"""Figures of the features chapter: the capacity sweep and the convolutional networks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from looking_inside.config import (
    CONV_KERNEL,
    SWEEP_DEPTH_WIDTH,
    SWEEP_DEPTHS,
    SWEEP_WIDTHS,
    Dataset,
    convnet_name,
    seeds_of,
    sweep_name,
    width_hidden,
)
from looking_inside.products import analysis
from looking_inside.products.figures.common import draw_tiles, scaled
from looking_inside.products.figures.numbers import Table, pixels
from looking_inside.products.figures.style import Theme, new_figure

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs
    from looking_inside.training.results import Results

DATASETS: tuple[tuple[Dataset, str], ...] = (("mnist", "MNIST"), ("cifar10", "CIFAR-10"))


def _runs(inputs: ProductInputs, name: str) -> list[Results]:
    """Every run (seed) of the configuration whose seed-0 run is ``name``."""
    return [inputs.results[n] for n in seeds_of(name)]


def _spread(values: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Means, and the (2, n) distances down to the lowest and up to the highest run:
    what ``errorbar`` draws as each configuration's range over its seeds."""
    v = [np.asarray(x, dtype=float) for x in values]
    mean = np.array([x.mean() for x in v])
    return mean, np.array([mean - [x.min() for x in v], [x.max() for x in v] - mean])


def _curve(ax: Axes, configs: list[list[Results]], labels: list[str], theme: Theme,
           size: dict[str, float], title: str, xlabel: str) -> None:
    """Mean test and train accuracy over categorical sizes, each with its range over
    the seeds as an error bar; training cost as bars on a second axis behind them."""
    x = np.arange(len(configs))
    cost = ax.twinx()
    gflops = [analysis.training_gflops(runs[0].experiment.forward_flops, runs[0].n_train)
              for runs in configs]
    cost.bar(x, gflops, width=0.5, color=theme.node, edgecolor=theme.edge, lw=0.6, zorder=0)
    cost.set_ylabel("每轮训练的计算量（GFLOP）", color=theme.muted, fontsize=size["label"])
    cost.tick_params(colors=theme.muted, labelsize=size["tick"])
    cost.set_ylim(0, max(gflops) * 2.2)  # bars in the lower half, under the lines
    ax.set_zorder(cost.get_zorder() + 1)
    ax.patch.set_visible(False)
    mean, err = _spread([[r.train_accuracy for r in runs] for runs in configs])
    ax.errorbar(x, mean, yerr=err, capsize=3, elinewidth=1.2, ls="--", marker="o", ms=3.5,
                color=theme.muted, label="训练集")
    mean, err = _spread([[float(analysis.correct(r).mean()) for r in runs] for runs in configs])
    ax.errorbar(x, mean, yerr=err, capsize=3, elinewidth=1.2, marker="o", ms=4.5,
                color=theme.positive, label=f"测试集（{len(configs[0])} 次训练的平均与范围）")
    ax.set_xticks(x, labels)
    ax.tick_params(labelsize=size["tick"])
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_title(title, fontsize=size["title"])
    ax.set_xlabel(xlabel, fontsize=size["label"])


def capacity_sweep(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """Accuracy against width (top) and depth (bottom), MNIST left, CIFAR-10 right;
    every point the mean of its seeds, with their range. ``narrow``: the four panels
    in one column, in the same order (MNIST and CIFAR-10 by width, then by depth)."""
    fig = new_figure(3.6, 10.4) if narrow else new_figure(7.0, 6.0)
    axes = fig.subplots(4, 1).reshape(2, 2) if narrow else fig.subplots(2, 2)
    size = ({"tick": 7.5, "label": 7.5, "title": 8.5} if narrow
            else {"tick": 8.5, "label": 8.5, "title": 10})
    for col, (dataset, title) in enumerate(DATASETS):
        widths = [_runs(inputs, sweep_name(dataset, width_hidden(w))) for w in SWEEP_WIDTHS]
        _curve(axes[0, col], widths, [str(w) for w in SWEEP_WIDTHS], theme, size,
               f"{title}：一个隐藏层，宽度不同", "隐藏神经元个数（0 = 单层网络）")
        deep = [_runs(inputs, sweep_name(dataset, (SWEEP_DEPTH_WIDTH,) * d)) for d in SWEEP_DEPTHS]
        _curve(axes[1, col], deep, [str(d) for d in SWEEP_DEPTHS], theme, size,
               f"{title}：每层 {SWEEP_DEPTH_WIDTH} 个神经元，层数不同", "隐藏层层数")
    for ax in axes.ravel() if narrow else axes[:, 0]:
        ax.set_ylabel("准确率", fontsize=size["label"])
    # Above the panels, where no curve can run into it.
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=2,
               fontsize=size["tick"], frameon=False)
    if narrow:
        fig.subplots_adjust(left=0.16, right=0.84, top=0.95, bottom=0.035, hspace=0.5)
    else:
        fig.subplots_adjust(left=0.09, right=0.9, top=0.9, bottom=0.08, wspace=0.5, hspace=0.42)
    return fig


def convnet_vs_mlp(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """Per data set, chance, the sweep's single-layer network, its best perceptron and
    the convnet as bars at their mean accuracy over the seeds, their range as an error
    bar, mean and parameter count beside. ``narrow``: the data sets one above the other."""
    fig = new_figure(3.5, 4.6) if narrow else new_figure(7.0, 2.9)
    axes = fig.subplots(2, 1) if narrow else fig.subplots(1, 2)
    size = ({"text": 7.5, "tick": 8, "title": 9} if narrow
            else {"text": 8.5, "tick": 9, "title": 10})
    for ax, (dataset, title) in zip(axes, DATASETS, strict=True):
        best = analysis.best_point(inputs.results, dataset)
        assert best is not None, "the figure declares every point of the sweep"
        rows: list[tuple[str, list[float], int | None]] = [("随机猜测", [0.1], None)]
        for label, name in (("单层网络", sweep_name(dataset, ())), ("最好的多层网络", best),
                            ("卷积网络", convnet_name(dataset))):
            runs = _runs(inputs, name)
            # Counted from the answers, exactly as the facts the chapter quotes are.
            rows.append((label, [float(analysis.correct(r).mean()) for r in runs],
                         runs[0].experiment.n_parameters))
        y = np.arange(len(rows))[::-1]
        mean, err = _spread([r[1] for r in rows])
        ax.barh(y, mean, color=[theme.muted, theme.edge, theme.positive, theme.correct],
                height=0.6)
        ax.errorbar(mean[1:], y[1:], xerr=err[:, 1:], fmt="none", ecolor=theme.fg,
                    elinewidth=1.2, capsize=3)
        for yi, m, hi, (_, _, n_par) in zip(y, mean, mean + err[1], rows, strict=True):
            note = f"{100 * m:.1f}%" + (f"（{n_par:,} 个参数）" if n_par else "")
            ax.text(hi + 0.015, yi, note, va="center", fontsize=size["text"])
        ax.set_yticks(y, [r[0] for r in rows])
        ax.set_xlim(0, 1.6)  # room for the notes after the longest bar
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
        ax.tick_params(labelsize=size["tick"])
        ax.set_title(f"{title} 测试集准确率", fontsize=size["title"])
        ax.spines[["top", "right"]].set_visible(False)
    # Room on the right for the notes of bars up to 100%: the saved figure is cut to
    # what is drawn, so the room costs nothing while the bars are shorter.
    if narrow:
        fig.subplots_adjust(left=0.25, right=0.96, top=0.94, bottom=0.05, hspace=0.4)
    else:
        fig.subplots_adjust(left=0.13, right=0.9, top=0.9, bottom=0.1, wspace=0.85)
    return fig


def _filter_rgb(w: np.ndarray) -> np.ndarray:
    """(3, k, k) colour filter -> (k, k, 3) scaled symmetrically around 0, so that
    grey means 0 and the hue shows which colours the filter weighs up or down."""
    lim = float(np.abs(w).max()) or 1.0
    return (w.transpose(1, 2, 0) / lim + 1) / 2


def convnet_filters(inputs: ProductInputs, theme: Theme, narrow: bool = False) -> Figure:
    """First-layer filters: MNIST's in grey (top), CIFAR-10's in colour (bottom), as
    one mosaic in one axes (16 small axes took twice as long to draw)."""
    mnist_w = inputs.results[convnet_name("mnist")].weights[0]  # (C, 1, 5, 5)
    cifar_w = inputs.results[convnet_name("cifar10")].weights[0]  # (C, 3, 5, 5)
    n = max(len(mnist_w), len(cifar_w))
    tiles: list[np.ndarray | None] = [scaled(w[0]) for w in mnist_w]
    tiles += [None] * (n - len(mnist_w))
    tiles += [_filter_rgb(w) for w in cifar_w]
    fig = new_figure(3.85, 1.42) if narrow else new_figure(8.0, 2.6)
    ax = fig.add_axes((0.2, 0.02, 0.79, 0.8) if narrow else (0.14, 0.02, 0.85, 0.84))
    draw_tiles(ax, tiles, n, [f"{j + 1}" for j in range(n)], fontsize=7.5 if narrow else 9, gap=1)
    for row, label in enumerate(("MNIST", "CIFAR-10")):
        ax.text(-1.5, row * (CONV_KERNEL + 2) + (CONV_KERNEL - 1) / 2, label, ha="right",
                va="center", fontsize=8 if narrow else 10)
    return fig


def convnet_filters_data(inputs: ProductInputs) -> Table:
    """Every first-layer weight: a row per filter and input channel, the kernel
    row-major."""
    rows: Table = [["dataset", "filter", "channel", *pixels(CONV_KERNEL)]]
    for dataset, _ in DATASETS:
        w = inputs.results[convnet_name(dataset)].weights[0]  # (C, channels, k, k)
        rows += [[dataset, j + 1, c, *w[j, c].ravel()]
                 for j in range(len(w)) for c in range(w.shape[1])]
    return rows
