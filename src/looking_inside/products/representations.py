"""Maps of representations: test digits as the pixels, the two-layer network's hidden
layer and the convnet's last hidden layer see them, each projected to 2-D, and how
well the classes separate there. Shared by the features chapter's figure, its facts
and the interactive map, so all three show the same points.

The projection is PCA: exact (to rounding) and deterministic (a fixed start, nothing
random, nothing to tune), and linear, so the interactive page places a digit the reader
draws with the same mean and two axes. Its limit is measured, not hidden:
``Projection.kept`` is the share of the representation's spread the two axes keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from looking_inside.products import shifts

if TYPE_CHECKING:
    from looking_inside.training.results import Results

# Test digits per class on the maps: 2,000 in all, every class alike, enough that each
# class is a cloud and few enough that the page's data stays small.
PER_CLASS = 200
# Neighbours that vote for a point's class on a map (leave-one-out).
K = 5
# The representations, in the order the figure and the page show them: the pixels,
# then the two networks whose hidden layers are mapped (their seed-0 runs).
HIDDEN_NET = "mnist-2layer"
CONV_NET = "mnist-conv"
RAW = "pixels"
KINDS = (RAW, HIDDEN_NET, CONV_NET)


def sample(labels: np.ndarray, per_class: int = PER_CLASS) -> np.ndarray:
    """The first ``per_class`` test digits of each class, in file order (a fixed rule:
    the same test set always gives the same points), as sorted indices."""
    picked = [np.flatnonzero(labels == d)[:per_class] for d in range(10)]
    return np.sort(np.concatenate(picked))


@dataclass(frozen=True)
class Projection:
    """A 2-D PCA map: ``coords = (features - mean) @ axes.T``."""

    mean: np.ndarray  # (D,)
    axes: np.ndarray  # (2, D), orthonormal, the first the widest
    coords: np.ndarray  # (N, 2)
    kept: float  # the share of the total variance along the two axes


# PCA's two axes to this relative residual (|C v - lambda v| / lambda_1): far below
# anything a picture or a rounded number shows, and reached in a few dozen products.
PCA_TOL = 1e-10


def top_eigenvectors(cov: np.ndarray, dims: int, block: int = 12,
                     max_iter: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """The ``dims`` largest eigenvalues of a symmetric PSD matrix and their unit
    eigenvectors (as rows). The covariance of 784 pixels has 784 of them and a map
    needs two: subspace iteration from a fixed start finds them in a few dozen
    products (a full ``eigh`` took ten times as long). Where the two are hard to
    tell from the next (eigenvalues too close for it to converge in ``max_iter``
    steps), the full decomposition. Deterministic either way."""
    d = len(cov)
    if d > 4 * block:
        # Start from the coordinate axes of the widest-spread features.
        q = np.eye(d)[:, np.argsort(-np.diag(cov), kind="stable")[:block]]
        for _ in range(max_iter):
            q, _ = np.linalg.qr(cov @ q)
            values, small = np.linalg.eigh(q.T @ cov @ q)  # Rayleigh-Ritz, ascending
            top = np.argsort(values)[::-1][:dims]
            vectors = (q @ small[:, top]).T
            residual = np.linalg.norm(vectors @ cov - values[top, None] * vectors, axis=1)
            if residual.max() <= PCA_TOL * max(float(values[top[0]]), 1e-300):
                return values[top], vectors
    values, vectors = np.linalg.eigh(cov)
    top = np.argsort(values)[::-1][:dims]
    return values[top], vectors[:, top].T


def pca(f: np.ndarray, dims: int = 2) -> Projection:
    """The ``dims`` widest directions of ``f`` (N, D): the top eigenvectors of its
    covariance. Each axis is turned so that its largest loading is positive: the
    same data always gives the same picture, not its mirror image."""
    mean = f.mean(0)
    c = f - mean
    cov = c.T @ c
    values, axes = top_eigenvectors(cov, dims)
    flip = np.sign(axes[np.arange(dims), np.abs(axes).argmax(1)])
    axes = axes * flip[:, None]
    total = float(np.trace(cov))
    kept = float(values.clip(min=0).sum()) / total if total > 0 else 0.0
    return Projection(mean, axes, c @ axes.T, kept)


def _smallest(d: np.ndarray, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of candidate distances ``d`` (points ``idx``), the ``k`` nearest, nearest
    first and equal distances by the lower index; and whether that choice is certain
    among these candidates (False where the (k+1)-th is as near as the k-th: a tie at
    the boundary, which the caller settles against every point)."""
    part = np.argpartition(d, k, axis=1)[:, :k + 1]
    pd, pi = np.take_along_axis(d, part, 1), np.take_along_axis(idx, part, 1)
    o = np.lexsort((pi, pd), axis=1)
    pd, pi = np.take_along_axis(pd, o, 1), np.take_along_axis(pi, o, 1)
    return pi[:, :k], pd[:, k] > pd[:, k - 1]


def neighbours(coords: np.ndarray, k: int = K, window: int = 128) -> np.ndarray:
    """(N, k) each point's ``k`` nearest other points on a 2-D map, nearest first
    (squared Euclidean distance; equal distances by the lower index), exactly.

    The points sorted by their first coordinate, a point's candidates are the
    ``window`` on either side of it: every point outside is at least as far away as
    the window's edge is along that coordinate. Where an edge is not strictly
    farther than the k-th candidate (an outlier), or the k-th is tied, the point is
    searched against every point instead. The answer is the exhaustive search's, at
    a tenth of its cost on 2,000 points."""
    n = len(coords)
    k = min(k, n - 1)
    w = max(min(window, n - 1), k)
    order = np.lexsort((np.arange(n), coords[:, 0]))
    xs = coords[order]
    # Each point's 2w + 1 neighbours in that order (itself in the middle) as views of
    # the sorted points padded with w points at infinity on either side: no copies.
    pad = np.full((w, 2), np.inf)
    near = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, xs, pad]), 2 * w + 1,
                                                    axis=0)  # (n, 2, 2w + 1)
    d = (near[:, 0] - xs[:, :1]) ** 2 + (near[:, 1] - xs[:, 1:]) ** 2
    d[:, w] = np.inf  # not its own neighbour
    ids = np.lib.stride_tricks.sliding_window_view(
        np.concatenate([np.zeros(w, np.int64), order, np.zeros(w, np.int64)]), 2 * w + 1)
    nb, sure = _smallest(d, ids, k)
    last = ((coords[nb[:, -1]] - xs) ** 2).sum(1)  # the k-th candidate's distance
    left, right = np.arange(n) - w - 1, np.arange(n) + w + 1
    gap_left = np.where(left >= 0, xs[:, 0] - xs[left.clip(0), 0], np.inf) ** 2
    gap_right = np.where(right < n, xs[right.clip(max=n - 1), 0] - xs[:, 0], np.inf) ** 2
    out = np.empty((n, k), dtype=np.int64)
    out[order] = nb
    redo = order[~sure | (gap_left <= last) | (gap_right <= last)]
    if redo.size:
        d = ((coords[redo, None, :] - coords[None, :, :]) ** 2).sum(-1)
        d[np.arange(len(redo)), redo] = np.inf
        nb, sure = _smallest(d, np.broadcast_to(np.arange(n), d.shape), k)
        out[redo] = nb
        for r in np.flatnonzero(~sure):  # a tie at the k-th: order the whole row
            out[redo[r]] = np.lexsort((np.arange(n), d[r]))[:k]
    return out


def knn_correct(coords: np.ndarray, labels: np.ndarray, k: int = K) -> np.ndarray:
    """(N,) bool: whether each point's ``k`` nearest other points (``neighbours``)
    vote for its own class, leave-one-out. A tie between classes goes to the class
    of the nearest neighbour among them."""
    rows = np.arange(len(coords))
    votes = labels[neighbours(coords, k)]  # (n, k), nearest first
    counts = (votes[:, :, None] == np.arange(10)).sum(1)  # (n, 10)
    tied = counts == counts.max(1, keepdims=True)
    first = tied[rows[:, None], votes].argmax(1)  # the nearest neighbour of a tied class
    return votes[rows, first] == labels


@dataclass(frozen=True)
class Sample:
    """The digits on the maps."""

    index: np.ndarray  # (N,) test indices, ascending
    labels: np.ndarray  # (N,) int64
    images: np.ndarray  # (N, 28, 28) uint8

    @classmethod
    def of(cls, images: np.ndarray, labels: np.ndarray) -> Sample:
        index = sample(labels)
        return cls(index, labels[index], images[index])


def features(kind: str, results: Mapping[str, Results], s: Sample,
             run: str | None = None) -> np.ndarray:
    """(N, D) float64 representation ``kind`` of the sampled digits, from the network's
    ``run`` (a seed; by default its seed-0 run). The two-layer network's hidden
    activations are the ones training recorded on the test set (``Results.hidden``)."""
    if kind == RAW:
        # Ink in [0, 1], what the networks read (MNIST is not centred).
        return s.images.reshape(len(s.images), -1).astype(np.float64) / 255.0
    r = results[run or kind]
    if r.experiment.conv:
        return shifts.conv_features(r, s.images).astype(np.float64)
    if r.hidden is None:
        raise ValueError(f"{r.experiment.name} records no hidden activations")
    return r.hidden[s.index].astype(np.float64)


@dataclass(frozen=True)
class Map:
    """One representation's map of the sampled digits."""

    kind: str  # RAW or a network's seed-0 name
    run: str  # RAW or the run (seed) it comes from
    dims: int  # numbers per digit in the representation
    projection: Projection
    labels: np.ndarray

    @cached_property
    def correct(self) -> np.ndarray:
        return knn_correct(self.projection.coords, self.labels)

    @property
    def separation(self) -> float:
        return float(self.correct.mean())


def make_map(kind: str, results: Mapping[str, Results], s: Sample,
             run: str | None = None) -> Map:
    f = features(kind, results, s, run)
    return Map(kind, run or kind, f.shape[1], pca(f), s.labels)


# The last maps made, with the objects they were made from (kept alive, so that
# their ids stay theirs): a figure draws twice (two palettes) and writes its data,
# and each time asks for the same maps.
_memo: list[tuple[tuple[object, ...], list[Map]]] = []


def article_maps(results: Mapping[str, Results], images: np.ndarray,
                 labels: np.ndarray) -> list[Map]:
    """The map of every representation in ``KINDS``, from the networks' seed-0 runs."""
    sources: tuple[object, ...] = (images, labels, *(results[k] for k in KINDS[1:]))
    for key, maps in _memo:
        if all(a is b for a, b in zip(key, sources, strict=True)):
            return maps
    s = Sample.of(images, labels)
    maps = [make_map(kind, results, s) for kind in KINDS]
    _memo[:] = [(sources, maps)]
    return maps
