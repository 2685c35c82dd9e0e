"""Figures of the shift test (``products.shifts``): one digit moved two pixels each
way under two networks' answers (mistakes chapter), and accuracy against the size of
the shift for three networks (features chapter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from looking_inside.products import analysis, shifts
from looking_inside.products.figures.common import tile_mosaic
from looking_inside.products.figures.numbers import Table
from looking_inside.products.figures.style import Theme, new_figure
from looking_inside.products.inputs import once

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs

FONT = 11
FLIP_ROLES = {"single": "单层", "conv": "卷积"}  # role -> its short name under a tile
FLIP_MOVES = [(0, 0), *shifts.quoted_shifts()]


def _move_label(move: tuple[int, int]) -> str:
    if move == (0, 0):
        return "原图"
    name = next(label for _, label, unit in shifts.DIRECTIONS if unit == tuple(np.sign(move)))
    return f"{name}移 {max(abs(move[0]), abs(move[1]))}"


@once
def _flip(inputs: ProductInputs) -> tuple[shifts.Flip | None, dict[str, np.ndarray]]:
    """The digit (``shifts.pick_flip``) and, per network, its softmax probabilities
    under each move: (moves, 10)."""
    test = inputs.test["mnist"]
    t = shifts.run_test(inputs.results, test.images, test.labels, FLIP_MOVES,
                        roles=list(FLIP_ROLES), seeds=False)
    flip = shifts.pick_flip(t)
    probs = {}
    if flip is not None:
        for role in FLIP_ROLES:
            s = shifts.shifted_scores(inputs.results[t.runs[role][0]],
                                      test.images[flip.index:flip.index + 1], FLIP_MOVES)
            probs[role] = np.array([analysis.softmax(z) for z in s[:, 0]])
    return flip, probs


def shift_flip(inputs: ProductInputs, theme: Theme) -> Figure:
    """The digit unshifted and moved two pixels each way, each under the answers of
    the single-layer network and the convnet; a wrong answer in the error colour."""
    flip, _ = _flip(inputs)
    fig = new_figure(5.4, 2.5)
    ax = fig.add_axes((0.01, 0.3, 0.98, 0.58))
    if flip is None:  # only on made-up networks: no digit that both read right
        ax.set_axis_off()
        ax.text(0.5, 0.5, "没有两个网络都认对的数字", ha="center", fontsize=FONT)
        return fig
    image = inputs.test["mnist"].images[flip.index]
    gap = 12
    tiles = [shifts.shift_images(image[None], dx, dy)[0] / 255.0 for dx, dy in FLIP_MOVES]
    ax.imshow(tile_mosaic(tiles, len(tiles), gap=gap))
    ax.set_axis_off()
    for k, move in enumerate(FLIP_MOVES):
        x0 = k * (28 + gap)
        # The canvas edge: where a shifted digit sits inside its 28x28 frame.
        ax.add_patch(Rectangle((x0 - 0.5, -0.5), 28, 28, fill=False, edgecolor=theme.muted, lw=0.8))
        ax.annotate(_move_label(move), (x0 + 13.5, -0.5), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=FONT, annotation_clip=False)
        for line, (role, short) in enumerate(FLIP_ROLES.items()):
            answer = getattr(flip, role)[k]
            wrong = answer != flip.label
            ax.annotate(f"{short}：{answer}" + ("（错）" if wrong else ""),
                        (x0 + 13.5, 27.5), xytext=(0, -4 - line * 1.45 * FONT),
                        textcoords="offset points", ha="center", va="top", fontsize=FONT,
                        color=theme.error if wrong else theme.fg,
                        fontweight="bold" if wrong else "normal", annotation_clip=False)
    return fig


def shift_flip_data(inputs: ProductInputs) -> Table:
    flip, probs = _flip(inputs)
    rows: Table = [["test_index", "label", "move", "dx", "dy", "network", "answer",
                    "p_answer", "p_label"]]
    if flip is None:
        return rows
    for k, (dx, dy) in enumerate(FLIP_MOVES):
        for role in FLIP_ROLES:
            answer = getattr(flip, role)[k]
            rows.append([flip.index, flip.label, _move_label((dx, dy)), dx, dy,
                         shifts.network(inputs.results, role), answer,
                         float(probs[role][k, answer]), float(probs[role][k, flip.label])])
    return rows


@once
def _test(inputs: ProductInputs) -> shifts.ShiftTest:
    test = inputs.test["mnist"]
    return shifts.run_test(inputs.results, test.images, test.labels, shifts.shifts())


def shift_accuracy(inputs: ProductInputs, theme: Theme) -> Figure:
    """Accuracy against a shift across (top) and down (bottom) for the three networks:
    the mean of each network's runs as a line, their range as a band."""
    t = _test(inputs)
    fig = new_figure(4.8, 6.4)
    axes = fig.subplots(2, 1)
    style = {"single": (theme.negative, "o"), "best": (theme.positive, "s"),
             "conv": (theme.correct, "^")}
    for ax, axis, title, ends in ((axes[0], 0, "左右平移", ("向左", "向右")),
                                  (axes[1], 1, "上下平移", ("向上", "向下"))):
        # The moves along ``axis`` (0: across, 1: down), from -MAX_SHIFT to MAX_SHIFT:
        # their signed size and their index.
        moves = sorted((m[axis], k) for k, m in enumerate(t.moves) if m[1 - axis] == 0)
        x, k = [p for p, _ in moves], [k for _, k in moves]
        for role, label in shifts.ROLES:
            acc = np.array([t.accuracy(r)[k] for r in t.runs[role]])  # runs x shifts
            colour, marker = style[role]
            ax.fill_between(x, acc.min(0), acc.max(0), color=colour, alpha=0.25, lw=0)
            ax.plot(x, acc.mean(0), color=colour, marker=marker, ms=5, lw=1.6, label=label)
        ax.set_title(title, fontsize=FONT)
        ax.set_xticks(x, [str(abs(v)) for v in x])
        ax.set(xlim=(min(x) - 0.3, max(x) + 0.3), ylim=(0, 1))
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
        ax.set_xlabel(f"← {ends[0]}　平移的像素数　{ends[1]} →", fontsize=FONT)
        ax.set_ylabel("准确率", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(axis="y", color=theme.muted, lw=0.5, alpha=0.5)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].legend(fontsize=FONT, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.12),
                   ncols=3, handlelength=1.6, columnspacing=1.0)
    fig.subplots_adjust(left=0.16, right=0.98, top=0.86, bottom=0.09, hspace=0.5)
    return fig


def shift_accuracy_data(inputs: ProductInputs) -> Table:
    """A row per network run and move: how many of the subset's digits it reads right."""
    t = _test(inputs)
    rows: Table = [["network", "run", "dx", "dy", "correct", "images", "accuracy"]]
    for role, _ in shifts.ROLES:
        for run in t.runs[role]:
            for k, (dx, dy) in enumerate(t.moves):
                right = int(t.correct[run][k].sum())
                rows.append([role, run, dx, dy, right, len(t.index), right / len(t.index)])
    return rows
