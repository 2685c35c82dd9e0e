"""The shift test: trained networks run in numpy (products never import torch) from
their stored weights on test digits moved a few pixels (zero-filled), to show which
networks see pixel positions and which see shapes. tests/test_shifts.py checks the
forward passes against torch's ``training.models.build_model``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from looking_inside.config import convnet_name, seeds_of, spec, sweep_experiments
from looking_inside.products import analysis

if TYPE_CHECKING:
    from looking_inside.training.results import Results

# The largest shift, in pixels, in each direction.
MAX_SHIFT = 4
# The shift the chapters quote and the flipped digit is shown at: far enough that
# the single-layer network's templates no longer line up, small enough that every
# digit stays whole on the 28x28 canvas.
QUOTED_SHIFT = 2
# Test digits of each class in the shift test, drawn at random with a fixed seed (the
# first ones in file order are easier than the rest). A fixed number, whatever the
# size of the test split: the three networks' forward passes over 17 shifts of all
# 10,000 test digits, three seeds each, would cost seconds in numpy at every build.
PER_CLASS = 30
SUBSET_SEED = 0

# (name, label, (dx, dy) per pixel of shift): right and down are positive, as image
# columns and rows count.
DIRECTIONS: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("left", "左", (-1, 0)), ("right", "右", (1, 0)),
    ("up", "上", (0, -1)), ("down", "下", (0, 1)))

# The networks compared, by role: the single-layer network of the weights chapter,
# the capacity sweep's best perceptron, the convnet. "best" is resolved by
# ``network`` from the results (analysis.best_point).
ROLES: tuple[tuple[str, str], ...] = (
    ("single", "单层网络"), ("best", "最好的多层网络"), ("conv", "卷积网络"))


def shifts() -> list[tuple[int, int]]:
    """(0, 0), then every direction's shifts of 1..MAX_SHIFT pixels: (dx, dy) each."""
    return [(0, 0), *((ux * k, uy * k) for _, _, (ux, uy) in DIRECTIONS
                      for k in range(1, MAX_SHIFT + 1))]


def quoted_shifts(pixels: int = QUOTED_SHIFT) -> list[tuple[int, int]]:
    """The four shifts of ``pixels`` pixels, in ``DIRECTIONS`` order."""
    return [(ux * pixels, uy * pixels) for _, _, (ux, uy) in DIRECTIONS]


def subset(labels: np.ndarray) -> np.ndarray:
    """Ascending indices of ``PER_CLASS`` test images of each class (all of a class that
    has fewer), drawn without replacement by a fixed seed."""
    rng = np.random.default_rng(SUBSET_SEED)
    members = [np.flatnonzero(labels == c) for c in range(10)]
    return np.sort(np.concatenate([rng.choice(m, size=min(PER_CLASS, m.size), replace=False)
                                   for m in members]))


def shift_images(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Images moved ``dx`` pixels right and ``dy`` down (negative: left, up); what
    moves out is lost and what comes in is 0 (no ink, or black). Works on (N, H, W)
    and (N, C, H, W)."""
    out = np.zeros_like(images)
    h, w = images.shape[-2:]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src = images[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    out[..., max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] = src
    return out


def _inputs(r: Results, images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 network inputs (``training.models.preprocess``)."""
    centre = np.float32(spec(r.experiment.dataset).centre)
    return images.astype(np.float32) / np.float32(255) - centre


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Valid convolution (torch's Conv2d, a cross-correlation) of channels-last
    ``x`` (N, H, W, C) with ``w`` (O, C, k, k): (N, H-k+1, W-k+1, O), as one matrix
    product over every k x k window."""
    o, c, k, _ = w.shape
    n, h, wd, _ = x.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))  # N h w C k k
    # Windows copied channel-innermost, as ``x`` holds them: twice as fast as in the
    # view's (C, k, k) order.
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * (h - k + 1) * (wd - k + 1), -1)
    out = cols @ w.transpose(0, 2, 3, 1).reshape(o, c * k * k).T.astype(np.float32)
    out += b.astype(np.float32)
    return out.reshape(n, h - k + 1, wd - k + 1, o)


def _max2(x: np.ndarray) -> np.ndarray:
    """The maximum of every 2x2 window at stride 1 (channels last): max pooling's
    value at every offset; taking every other row and column of it is
    ``MaxPool2d(2)`` of the matching crop."""
    return np.maximum(np.maximum(x[:, :-1, :-1], x[:, 1:, :-1]),
                      np.maximum(x[:, :-1, 1:], x[:, 1:, 1:]))


def _dense(r: Results, x: np.ndarray, first: int) -> np.ndarray:
    """The linear layers from layer ``first`` on: (N, D) -> (N, 10) scores."""
    layers = list(zip(r.weights[first:], r.biases[first:], strict=True))
    for i, (w, b) in enumerate(layers):
        x = x @ w.T.astype(np.float32) + b.astype(np.float32)
        if i < len(layers) - 1:
            x = analysis.activate(x, r.experiment.activation)
    return x


def shifted_scores(r: Results, images: np.ndarray, moves: Sequence[tuple[int, int]]
                   ) -> np.ndarray:
    """(len(moves), N, 10) scores of ``r``'s network on ``images`` moved by each
    (dx, dy) of ``moves`` (``shift_images``)."""
    n, m = len(images), len(moves)
    if r.experiment.conv:
        return _dense(r, conv_features(r, images, moves), len(r.experiment.conv)
                      ).reshape(m, n, -1)
    # A linear first layer sees a moved image as the image against weights moved the
    # other way (sum of w[p + d] x[p] over the pixels p both cover), plus what the
    # pixels moved in contribute: the input of a 0 pixel (-centre) times the weights
    # they meet. One matrix product for every move at once, and no stack of moved
    # copies of the images.
    w, b = r.weights[0].astype(np.float32), r.biases[0].astype(np.float32)
    units = w.reshape(len(w), *r.experiment.image_shape)
    moved = np.stack([shift_images(units, -dx, -dy).reshape(len(w), -1)
                      for dx, dy in moves])  # (moves, units, D)
    x = _inputs(r, images).reshape(n, -1) @ moved.reshape(-1, w.shape[1]).T
    x = x.reshape(n, m, len(w)).transpose(1, 0, 2)
    blank = -np.float32(spec(r.experiment.dataset).centre)
    if blank:
        x = x + blank * (w.sum(1) - moved.sum(2))[:, None, :]
    x = x + b
    if len(r.weights) > 1:
        x = analysis.activate(x, r.experiment.activation)
    return _dense(r, x.reshape(m * n, -1), 1).reshape(m, n, -1)


def conv_features(r: Results, images: np.ndarray,
                  moves: Sequence[tuple[int, int]] = ((0, 0),)) -> np.ndarray:
    """(len(moves) * N, D) float32: what a convnet's first linear layer reads (its last
    pooled convolution, flattened as torch's ``nn.Flatten``) for ``images`` moved by
    each of ``moves``, sharing work between the moves.

    A shifted, zero-filled image is a crop of the image padded with ``pad`` zeros
    all round, so every shift's first convolution is a crop of the padded image's
    (one convolution, not one per shift); the activation keeps that. Max pooling
    at stride 2 of a crop is every other value of the stride-1 window maximum,
    starting at the crop's offset: the crops of one parity of offset (even or odd,
    across and down) share one pooled grid, so each later convolution runs once per
    parity, and its output for a shift is again a crop. Exact, not an approximation:
    the tests compare it with the network run on each shifted image.
    """
    exp = r.experiment
    pad = max(max(abs(dx), abs(dy)) for dx, dy in moves)
    x = _inputs(r, images)
    x = x[..., None] if x.ndim == 3 else x.transpose(0, 2, 3, 1)  # channels last
    # Padded with the input of a 0 pixel (what a shift moves in), not with 0.
    blank = -float(spec(exp.dataset).centre)
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=blank)
    side = images.shape[-1]
    # Per layer: the grids computed so far, by the parity of the crop's offset into
    # them, each with the crop's offset at that layer.
    grids: dict[tuple[int, ...], np.ndarray] = {(): x}
    offsets = {m: (pad - m[1], pad - m[0]) for m in moves}  # (row, col) of the crop
    keys: dict[tuple[int, int], tuple[int, ...]] = {m: () for m in moves}
    for i in range(len(exp.conv)):
        w, b = r.weights[i], r.biases[i]
        k = w.shape[-1]
        conv = {key: _max2(analysis.activate(_conv(g, w, b), exp.activation))
                for key, g in grids.items()}
        side = (side - k + 1) // 2
        new_grids: dict[tuple[int, ...], np.ndarray] = {}
        for m in moves:
            oy, ox = offsets[m]
            key = (*keys[m], oy % 2, ox % 2)
            if key not in new_grids:
                new_grids[key] = conv[keys[m]][:, oy % 2::2, ox % 2::2]
            keys[m], offsets[m] = key, (oy // 2, ox // 2)
        grids = new_grids
    flat = []
    for m in moves:
        oy, ox = offsets[m]
        crop = grids[keys[m]][:, oy:oy + side, ox:ox + side]  # N H W C
        flat.append(crop.transpose(0, 3, 1, 2).reshape(len(images), -1))  # torch's order
    return np.concatenate(flat)


# --- The test ---------------------------------------------------------------------------

def network(results: Mapping[str, Results], role: str) -> str:
    """The seed-0 run of the network playing ``role`` (see ``ROLES``)."""
    if role == "single":
        return "mnist-1layer"
    if role == "conv":
        return convnet_name("mnist")
    best = analysis.best_point(results, "mnist")
    assert best is not None, "the shift test declares every point of the MNIST sweep"
    return best


def experiments() -> tuple[str, ...]:
    """What the shift test may read: every run of the three networks' candidates
    (the whole MNIST sweep, since the best point is chosen from it)."""
    names = ["mnist-1layer", convnet_name("mnist"), *(e.name for e in sweep_experiments("mnist"))]
    return tuple(dict.fromkeys(n for name in names for n in seeds_of(name)))


@dataclass(frozen=True)
class ShiftTest:
    """Which subset digits each run reads right, per move."""

    moves: list[tuple[int, int]]
    index: np.ndarray  # (N,) test indices of the subset
    labels: np.ndarray  # (N,)
    runs: dict[str, list[str]]  # role -> run names
    correct: dict[str, np.ndarray]  # run name -> (len(moves), N) bool
    predicted: dict[str, np.ndarray]  # run name -> (len(moves), N) int

    def accuracy(self, run: str) -> np.ndarray:
        """(len(moves),) accuracy of ``run`` per move."""
        return self.correct[run].mean(1)


def run_test(results: Mapping[str, Results], images: np.ndarray, labels: np.ndarray,
             moves: Sequence[tuple[int, int]], roles: Sequence[str] = ("single", "best", "conv"),
             seeds: bool = True) -> ShiftTest:
    """The subset of the test split moved by each of ``moves``, read by every run of
    the networks of ``roles`` (only their seed-0 runs unless ``seeds``)."""
    idx = subset(labels)
    x, y = images[idx], labels[idx]
    runs = {role: list(seeds_of(network(results, role)) if seeds else
                       [network(results, role)]) for role in roles}
    predicted = {name: shifted_scores(results[name], x, moves).argmax(2)
                 for names in runs.values() for name in names}
    correct = {name: p == y[None, :] for name, p in predicted.items()}
    return ShiftTest(list(moves), idx, y, runs, correct, predicted)


@dataclass(frozen=True)
class Flip:
    """The digit shown flipping (``pick_flip``)."""

    index: int  # test index
    label: int
    single: list[int]  # its answers: unshifted, then per quoted shift
    conv: list[int]
    single_wrong: int
    conv_wrong: int


def pick_flip(test: ShiftTest) -> Flip | None:
    """The rule: among the subset digits that the single-layer network and the
    convnet (seed 0) both read right unshifted, the one the convnet misreads under
    the fewest of the four ``QUOTED_SHIFT``-pixel shifts, then the single-layer
    network under the most; ties: the lower test index. ``test`` holds (0, 0) and
    the quoted shifts. None if no digit is read right by both."""
    single, conv = test.runs["single"][0], test.runs["conv"][0]
    at = [test.moves.index(m) for m in [(0, 0), *quoted_shifts()]]
    s_ok, c_ok = test.correct[single][at], test.correct[conv][at]
    both = np.flatnonzero(s_ok[0] & c_ok[0])
    if not both.size:
        return None
    s_wrong = (~s_ok[1:, both]).sum(0)
    c_wrong = (~c_ok[1:, both]).sum(0)
    k = np.lexsort((test.index[both], -s_wrong, c_wrong))[0]
    j = both[k]
    return Flip(int(test.index[j]), int(test.labels[j]), test.predicted[single][at, j].tolist(),
                test.predicted[conv][at, j].tolist(), int(s_wrong[k]), int(c_wrong[k]))
