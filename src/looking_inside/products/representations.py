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
from looking_inside.products.inputs import once

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs
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


def pca(f: np.ndarray) -> Projection:
    """The two widest directions of ``f`` (N, D): the top eigenvectors of its
    covariance. Each axis is turned so that its largest loading is positive: the
    same data always gives the same picture, not its mirror image."""
    mean = f.mean(0)
    c = f - mean
    cov = c.T @ c
    values, axes = top_eigenvectors(cov, 2)
    flip = np.sign(axes[[0, 1], np.abs(axes).argmax(1)])
    axes = axes * flip[:, None]
    total = float(np.trace(cov))
    kept = float(values.clip(min=0).sum()) / total if total > 0 else 0.0
    return Projection(mean, axes, c @ axes.T, kept)


def neighbours(coords: np.ndarray, k: int = K) -> np.ndarray:
    """(N, k) each point's ``k`` nearest other points on a 2-D map, nearest first
    (squared Euclidean distance; equal distances by the lower index), exactly."""
    n = len(coords)
    k = min(k, n - 1)
    x, y = coords[:, 0], coords[:, 1]
    d = (x[:, None] - x) ** 2 + (y[:, None] - y) ** 2
    np.fill_diagonal(d, np.inf)  # not its own neighbour
    near = np.argpartition(d, k, axis=1)[:, :k + 1]
    near_d = np.take_along_axis(d, near, 1)
    o = np.lexsort((near, near_d), axis=1)
    near, near_d = np.take_along_axis(near, o, 1), np.take_along_axis(near_d, o, 1)
    out = near[:, :k]
    # Where the (k+1)-th is as near as the k-th, the tie may reach beyond these k + 1:
    # order the whole row.
    for r in np.flatnonzero(near_d[:, k] <= near_d[:, k - 1]):
        out[r] = np.lexsort((np.arange(n), d[r]))[:k]
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
    assert r.hidden is not None, f"{r.experiment.name} records no hidden activations"
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


@once
def article_maps(inputs: ProductInputs) -> list[Map]:
    """The map of every representation in ``KINDS``, from the networks' seed-0 runs."""
    test = inputs.test["mnist"]
    s = Sample.of(test.images, test.labels)
    return [make_map(kind, inputs.results, s) for kind in KINDS]
