"""Selections and summaries computed from results, shared by figures, facts and the
interactive exports so that all three always agree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from looking_inside.config import Dataset, seeds_of, spec, sweep_experiments

if TYPE_CHECKING:
    from looking_inside.training.results import Results


# "Easy" digits for the glaring mistakes: the two-layer network reads them right
# with at least this confidence.
EASY_CONFIDENCE = 0.9


def largest_confusion(confusion: np.ndarray) -> tuple[int, int, int]:
    """(actual, predicted, count) of the largest off-diagonal cell; ties -> first."""
    off = confusion.copy()
    np.fill_diagonal(off, -1)
    a, p = divmod(int(np.argmax(off)), off.shape[1])  # row-major: first of equal cells wins
    return a, p, int(confusion[a, p])


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    totals = confusion.sum(1)
    return np.divide(np.diag(confusion), totals, out=np.zeros(len(totals)), where=totals > 0)


def cell_members(labels: np.ndarray, probs: np.ndarray, actual: int, predicted: int) -> np.ndarray:
    """Test indices in cell (actual, predicted), most confident first (ties: lower index)."""
    idx = np.flatnonzero((labels == actual) & (probs.argmax(1) == predicted))
    return idx[np.lexsort((idx, -probs[idx, predicted]))]


def most_confident_per_cell(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(10, 10) test index of the most confident sample per cell, -1 where empty."""
    out = np.full((10, 10), -1, dtype=np.int64)
    for a, p in np.ndindex(10, 10):
        out[a, p] = next(iter(cell_members(labels, probs, a, p)), -1)
    return out


@dataclass(frozen=True)
class Mistake:
    index: int  # test-set index
    actual: int
    predicted: int
    confidence: float  # probability given to the wrong answer
    true_prob: float  # probability given to the true class
    kind: Literal["understandable", "glaring"]


def select_mistakes(single: Results, reference: Results) -> list[Mistake]:
    """Two understandable and two glaring mistakes of ``single``, deterministically,
    each pair of two different true digits. Understandable: the true class was the
    runner-up, by the smallest margin. Glaring: the most confident errors on digits
    that ``reference`` (another network) reads right with >= EASY_CONFIDENCE, i.e.
    digits that are plainly legible."""
    labels, probs = single.test_labels, single.test_probs
    preds = probs.argmax(1)
    wrong = np.flatnonzero(preds != labels)
    p_pred = probs[wrong, preds[wrong]]
    p_true = probs[wrong, labels[wrong]]
    runner_up = np.argsort(-probs[wrong], axis=1)[:, 1] == labels[wrong]

    def pick(order: np.ndarray, kind: Literal["understandable", "glaring"]) -> list[Mistake]:
        chosen: list[Mistake] = []
        for j in order:
            i = int(wrong[j])
            if len(chosen) < 2 and all(m.actual != labels[i] for m in chosen):
                chosen.append(Mistake(i, int(labels[i]), int(preds[i]), float(p_pred[j]),
                                      float(p_true[j]), kind))
        return chosen

    margin = np.where(runner_up, p_pred - p_true, np.inf)
    understandable = pick(np.lexsort((wrong, margin))[: int(runner_up.sum())], "understandable")
    free = ~np.isin(wrong, [m.index for m in understandable])
    # At >= EASY_CONFIDENCE (over a half) the true class is the reference's answer.
    easy = free & (reference.test_probs[wrong, labels[wrong]] >= EASY_CONFIDENCE)
    order = np.lexsort((wrong, -p_pred))
    glaring = pick(order[easy[order]], "glaring")
    if len(glaring) < 2:  # tiny synthetic inputs: fall back to the most confident errors
        glaring = pick(order[free[order]], "glaring")
    return understandable + glaring


def sample_indices(n: int, k: int, seed: int = 0) -> np.ndarray:
    """``k`` distinct indices below ``n`` chosen by a fixed seed."""
    return np.random.default_rng(seed).choice(n, size=min(k, n), replace=False)


# A template has "appeared" once it correlates this well with the finished one: at
# 0.9 the digit shape is plain to the eye and only contrast and speckle still change.
TEMPLATE_FORMED = 0.9


def shown_snapshots(n: int, count: int = 6) -> np.ndarray:
    """Indices of ``count`` snapshots out of ``n``, first and last included, spread
    evenly over the (log-spaced) recording."""
    return np.unique(np.rint(np.linspace(0, n - 1, min(count, n))).astype(np.int64))


def template_similarity(weights: np.ndarray) -> np.ndarray:
    """(S,) mean over classes of the correlation between each snapshot's template
    and the final one; ``weights`` is (S, classes, pixels)."""
    return np.array([np.diag(correlations(w, weights[-1])).mean() for w in weights])


def templates_formed_at(weights: np.ndarray, threshold: float = TEMPLATE_FORMED) -> int:
    """Index of the first snapshot whose templates correlate >= ``threshold`` with
    the final ones (the last snapshot always does)."""
    return int(np.flatnonzero(template_similarity(weights) >= threshold)[0])


# Test images shown per side of a hidden unit: enough to see what its strongest
# responses share, few enough that a row of 1 + 8 + 8 digits still reads on a phone.
EXAMPLES = 8


def extreme_examples(hidden: np.ndarray, k: int = EXAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """(H, k) twice: per hidden unit (column of the (N, H) ``hidden``), the test indices
    that activate it most (strongest first) and least (weakest first), ties to the lower."""
    idx = np.arange(len(hidden))
    top = np.stack([np.lexsort((idx, -unit))[:k] for unit in hidden.T])
    bottom = np.stack([np.lexsort((idx, unit))[:k] for unit in hidden.T])
    return top, bottom


def speckle(template: np.ndarray) -> float:
    """How grainy an (H, W) or (C, H, W) weight image is: the mean absolute difference
    between horizontally and vertically neighbouring pixels, over the template's range
    (so that templates of different scales and data sets compare): 0 is flat, a smooth
    blob a few hundredths, independent per-pixel noise about a third."""
    t = template.astype(np.float64)
    span = float(t.max() - t.min())
    if span == 0:
        return 0.0
    dx = np.abs(np.diff(t, axis=-1)).mean()
    dy = np.abs(np.diff(t, axis=-2)).mean()
    return float((dx + dy) / 2 / span)


def mean_speckle(weights: np.ndarray, image_shape: tuple[int, ...]) -> float:
    """``speckle`` averaged over a single-layer network's templates (rows of ``weights``)."""
    return float(np.mean([speckle(w.reshape(image_shape)) for w in weights]))


def training_gflops(forward_flops: int, n_train: int) -> float:
    """GFLOPs of one training epoch: forward and backward cost about three forward
    passes (the backward pass computes two products per layer)."""
    return 3 * forward_flops * n_train / 1e9


def best_point(results: Mapping[str, Results], dataset: Dataset) -> str | None:
    """The seed-0 run of the capacity sweep's most accurate perceptron on ``dataset`` by
    mean test accuracy over its seeds (ties: first name in sorted order); None if none."""
    names = sorted(e.name for e in sweep_experiments(dataset)
                   if e.seed == 0 and e.name in results)
    if not names:
        return None
    return max(names, key=lambda n: np.mean([correct(results[r]).mean() for r in seeds_of(n)]))


# --- Noise: comparing two configurations trained with several seeds ----------------

def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: of the ``b + c`` test images that exactly one of
    two networks reads right (``b`` only the first), how likely a split at least this
    uneven is if both are equally good. Binomial sums in integers: exact at any size."""
    n, k = b + c, min(b, c)
    term, tail = 1, 1  # C(n, 0), sum of C(n, i) for i <= k
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i
        tail += term
    return min(1.0, 2 * tail / 2**n)


def discordant(a_correct: np.ndarray, b_correct: np.ndarray) -> tuple[int, int]:
    """(images only ``a`` reads right, images only ``b`` reads right)."""
    return int((a_correct & ~b_correct).sum()), int((~a_correct & b_correct).sum())


def correct(r: Results) -> np.ndarray:
    """(N,) bool: which test images ``r``'s network reads right."""
    return np.asarray(r.test_probs.argmax(1) == r.test_labels)


# --- What the pictures show, measured ------------------------------------------------

def class_means(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(10, D) float64: the average image of each class, flattened. Summed in float64
    class by class, without a float64 copy of the whole split (50,000 CIFAR-10
    training images would be 1.2 GB)."""
    x = images.reshape(len(images), -1)
    return np.stack([x[labels == c].mean(0, dtype=np.float64) if (labels == c).any()
                     else np.zeros(x.shape[1]) for c in range(10)])


def correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Pearson correlation of every row of ``a`` with every row of
    ``b`` (rows are flattened images); 0 where a row is constant."""
    a, b = (m.reshape(len(m), -1).astype(np.float64) for m in (a, b))
    a, b = (m - m.mean(1, keepdims=True) for m in (a, b))
    den = np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
    return np.divide(a @ b.T, den, out=np.zeros(den.shape), where=den > 0)


@dataclass(frozen=True)
class TemplateMatch:
    """A single-layer network's templates beside the average image of each class."""

    means: np.ndarray  # (10, D) each class's average image, pixel values 0-255
    corr: np.ndarray  # (10, 10) correlation of template c (row) with average k (column)
    # (10,) the multiple of its class's average input that fits each template best (least
    # squares, no offset: zero weight is zero input), and (10, D) the template minus it.
    scale: np.ndarray
    difference: np.ndarray
    # (10,) the negative share of the difference's absolute sum: weights pushed below
    # what the average alone would give.
    negative_share: np.ndarray
    # (10,) correlation of each difference with the other nine classes' average input:
    # negative when the difference is negative where they are drawn.
    against_others: np.ndarray

    @property
    def own(self) -> np.ndarray:
        """(10,) each template's correlation with its own class's average."""
        return np.diag(self.corr)


def match_templates(weights: np.ndarray, images: np.ndarray, labels: np.ndarray,
                    centre: float = 0.0) -> TemplateMatch:
    """``weights`` (10, D), one template a class, against the class averages of
    ``images`` (by ``labels``); the network's input is ``pixel / 255 - centre``."""
    means = class_means(images, labels)
    inputs = means / 255 - centre  # the average input of each class
    w = weights.reshape(len(weights), -1).astype(np.float64)
    norm = (inputs * inputs).sum(1)
    scale = np.divide((w * inputs).sum(1), norm, out=np.zeros(len(w)), where=norm > 0)
    difference = w - scale[:, None] * inputs
    size = np.abs(difference).sum(1)
    negative = -np.minimum(difference, 0).sum(1)
    others = (inputs.sum(0) - inputs) / 9
    return TemplateMatch(
        means, correlations(w, means), scale, difference,
        np.divide(negative, size, out=np.zeros(len(w)), where=size > 0),
        np.diag(correlations(difference, others)).copy())


# A filter "looks like" a digit when it correlates this well with that digit's
# average image (either sign: a filter and its negative detect the same pattern).
LIKE_DIGIT = 0.5


# A filter "is an edge" (bright on one side, dark on the other) when a tilted plane
# explains at least this share of its weights' variance.
EDGE_FIT = 0.5


def ramp_fit(kernel: np.ndarray) -> float:
    """R² of the best plane ``a·row + b·col + c`` through a (k, k) kernel's weights:
    1 is a pure ramp from one side to the other, 0 nothing of the kind."""
    k = kernel.shape[-1]
    rows, cols = np.mgrid[0:k, 0:k]
    design = np.column_stack([rows.ravel(), cols.ravel(), np.ones(k * k)])
    y = kernel.astype(np.float64).ravel()
    fit, *_ = np.linalg.lstsq(design, y, rcond=None)
    total = float(((y - y.mean()) ** 2).sum())
    return 1 - float(((y - design @ fit) ** 2).sum()) / total if total > 0 else 0.0


def border_blueness(template: np.ndarray, frame: int = 4) -> float:
    """How much a (3, H, W) colour template weighs blue above red and green in its outer
    ``frame`` pixels: positive where the class's pictures tend to have sky or water."""
    t = template.astype(np.float64)
    ring = np.ones(t.shape[1:], dtype=bool)
    ring[frame:-frame, frame:-frame] = False
    r, g, b = (float(t[c][ring].mean()) for c in range(3))
    return b - (r + g) / 2


# --- One digit through the network ---------------------------------------------------
# The weights chapter's example ("假设输入一张 2"): the digit both chapters follow.
TRACED_DIGIT = 2


def traced_digit(single: Results, hidden: Results, digit: int = TRACED_DIGIT) -> int:
    """Test index of a typical ``digit``: of the test images of that digit that both
    networks read right (all of that digit if none is), the one whose single-layer
    margin between its top two scores is the median (the lower one of an even count;
    ties to the lower index). The margin is log p1 - log p2, which is exactly z1 - z2:
    softmax shifts every log-probability by the same amount, so the stored
    probabilities rank the margins without the images."""
    mine = np.flatnonzero(single.test_labels == digit)
    if not mine.size:
        raise ValueError(f"no test image of the digit {digit}")
    both = mine[correct(single)[mine] & correct(hidden)[mine]]
    pool = both if both.size else mine
    logp = np.log(np.maximum(single.test_probs[pool].astype(np.float64), 1e-300))
    top2 = np.sort(logp, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    order = np.lexsort((pool, margin))
    return int(pool[order[(len(pool) - 1) // 2]])


def network_input(image: np.ndarray, dataset: Dataset) -> np.ndarray:
    """A uint8 test image as the network's input row, in float64, as training fed it."""
    return image.reshape(-1).astype(np.float64) / 255.0 - spec(dataset).centre


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass(frozen=True)
class Trace:
    """Every number between a network's input and its answer."""

    x: np.ndarray  # (D,) the input row
    bias: np.ndarray  # (10,)
    scores: np.ndarray  # (10,) the logits
    probs: np.ndarray  # (10,) their softmax

    @property
    def ranked(self) -> np.ndarray:
        """Classes by score, highest first (ties to the lower class)."""
        return np.lexsort((np.arange(len(self.scores)), -self.scores))


@dataclass(frozen=True)
class LinearTrace(Trace):
    """A single-layer network: class c scores ``bias[c] + products[c].sum()``, exactly."""

    products: np.ndarray  # (10, D) weight times pixel, per class


def linear_trace(weights: np.ndarray, bias: np.ndarray, x: np.ndarray) -> LinearTrace:
    products = weights.astype(np.float64) * x[None, :]
    b = bias.astype(np.float64)
    scores = b + products.sum(1)
    return LinearTrace(x, b, scores, softmax(scores), products)


@dataclass(frozen=True)
class HiddenTrace(Trace):
    """A one-hidden-layer network: each unit's weighted sum ``pre`` and activation ``h``;
    class c scores ``bias[c]`` plus one term per unit, ``contributions[c, j] = v[c, j] * h[j]``."""

    pre: np.ndarray  # (H,)
    h: np.ndarray  # (H,)
    contributions: np.ndarray  # (10, H)


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """``Experiment.activation`` ("sigmoid" or "relu") of ``z``."""
    return 1.0 / (1.0 + np.exp(-z)) if activation == "sigmoid" else np.maximum(z, 0.0)


def hidden_trace(r: Results, x: np.ndarray) -> HiddenTrace:
    """``r``: a perceptron with one hidden layer."""
    w1, w2 = (w.astype(np.float64) for w in r.weights)
    b1, b2 = (b.astype(np.float64) for b in r.biases)
    pre = w1 @ x + b1
    h = activate(pre, r.experiment.activation)
    contributions = w2 * h[None, :]
    scores = b2 + contributions.sum(1)
    return HiddenTrace(x, b2, scores, softmax(scores), pre, h, contributions)
