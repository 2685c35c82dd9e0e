"""Drawing helpers shared by the figure modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.patches import Circle, Rectangle

from looking_inside.products.figures.style import Theme


def show_gray(ax: Axes, image: np.ndarray, *, invert: bool = False) -> None:
    """A 2-D array as a grayscale image scaled to its own range, lowest black."""
    lo, hi = float(image.min()), float(image.max())
    ax.imshow(image, cmap="gray_r" if invert else "gray", vmin=lo, vmax=hi if hi > lo else lo + 1)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def template_rgb(w: np.ndarray) -> np.ndarray:
    """A (3072,) CIFAR weight vector as a (32, 32, 3) image scaled to [0, 1]."""
    img = w.reshape(3, 32, 32).transpose(1, 2, 0)
    lo, hi = img.min(), img.max()
    return (img - lo) / (hi - lo if hi > lo else 1.0)


def cifar_rgb(image: np.ndarray) -> np.ndarray:
    """(3, 32, 32) uint8 -> (32, 32, 3) for imshow."""
    return image.transpose(1, 2, 0)


def bare(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def confusion_axes(ax: Axes, labels: Sequence[str], theme: Theme) -> None:
    """Rows = actual, columns = predicted, labels on top like a table."""
    n = len(labels)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.tick_params(length=0)
    ax.set_xlabel("预测的类别", color=theme.fg)
    ax.set_ylabel("实际的类别", color=theme.fg)
    for s in ax.spines.values():
        s.set_visible(False)


def draw_confusion_counts(ax: Axes, confusion: np.ndarray, labels: Sequence[str],
                          theme: Theme) -> None:
    """Counts in cells; diagonal green, errors shaded by their share of the row."""
    n = len(labels)
    confusion_axes(ax, labels, theme)
    rows = confusion.sum(1, keepdims=True).clip(min=1)
    share = confusion / rows
    worst = max(float(share[~np.eye(n, dtype=bool)].max()), 1e-9)
    for a in range(n):
        for p in range(n):
            count = int(confusion[a, p])
            if a == p:
                face = to_rgba(theme.correct, 0.25 + 0.65 * share[a, p])
            else:
                face = to_rgba(theme.error, 0.75 * share[a, p] / worst) if count else \
                    to_rgba(theme.cell, 0.6)
            ax.add_patch(Rectangle((p - 0.48, a - 0.48), 0.96, 0.96, facecolor=face,
                                   edgecolor="none"))
            ax.text(p, a, str(count), ha="center", va="center", fontsize=8.5,
                    color=theme.fg, fontweight="bold" if a == p else "normal")


def neuron(ax: Axes, x: float, y: float, r: float, theme: Theme, label: str = "",
           fontsize: float = 8) -> None:
    ax.add_patch(Circle((x, y), r, facecolor=theme.node, edgecolor=theme.fg, linewidth=0.8,
                        zorder=3))
    if label:
        ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, color=theme.fg,
                zorder=4)
