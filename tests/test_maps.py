"""The map of representations without a browser: each step against an independent
computation (PCA against numpy's SVD, the neighbour vote against a direct loop, the
convnet's features against torch), the figure and its data, the colours, and the
facts' verdicts against the noise rule re-derived from the points."""

from __future__ import annotations

import dataclasses
import math
import re
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb

from looking_inside.config import get_experiment, seeds_of
from looking_inside.products import facts
from looking_inside.products import representations as reps
from looking_inside.products.figures import maps, style
from looking_inside.products.inputs import ProductInputs
from looking_inside.training.models import build_model, weighted_layers

from helpers import fake_inputs, mcnemar_exact

ROOT = Path(__file__).resolve().parents[1]


# --- independent references ------------------------------------------------------------

def ref_sample(labels: np.ndarray, per_class: int = reps.PER_CLASS) -> np.ndarray:
    taken = {d: 0 for d in range(10)}
    out = []
    for i, y in enumerate(labels.tolist()):
        if taken[y] < per_class:
            taken[y] += 1
            out.append(i)
    return np.array(out)


def ref_pca(f: np.ndarray) -> tuple[np.ndarray, float]:
    """Coordinates on the two widest directions by numpy's SVD (not the covariance's
    eigenvectors), each axis turned so that its largest loading is positive (the
    convention ``reps.pca`` promises); and the share of variance they keep."""
    c = f - f.mean(0)
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    axes = vt[:2] * np.sign(vt[:2][np.arange(2), np.abs(vt[:2]).argmax(1)])[:, None]
    return c @ axes.T, float((s[:2] ** 2).sum() / (s ** 2).sum())


def ref_neighbours(c: np.ndarray, k: int = reps.K) -> list[list[int]]:
    """Every other point sorted by (squared distance, index), one point at a time."""
    out = []
    for i in range(len(c)):
        d = ((c - c[i]) ** 2).sum(1).tolist()
        out.append(sorted((j for j in range(len(c)) if j != i), key=lambda j: (d[j], j))[:k])
    return out


def ref_vote(nb: list[int], labels: np.ndarray) -> int:
    """Majority of the neighbours' classes; a tie goes to the nearest of the tied."""
    votes = [int(labels[j]) for j in nb]
    counts = {v: votes.count(v) for v in votes}
    top = max(counts.values())
    return next(v for v in votes if counts[v] == top)


def torch_features(exp_name: str, weights: tuple, biases: tuple, x: np.ndarray) -> np.ndarray:
    """The convnet's activations before its output layer, by torch itself."""
    model = build_model(get_experiment(exp_name))
    with torch.no_grad():
        layers = weighted_layers(model)[:len(weights)]  # up to the mapped layer
        for m, w, b in zip(layers, weights, biases, strict=True):
            m.weight.copy_(torch.from_numpy(np.asarray(w)))
            m.bias.copy_(torch.from_numpy(np.asarray(b)))
        return model[:-1](torch.from_numpy(x.astype(np.float32))).numpy().astype(np.float64)


# --- the steps ----------------------------------------------------------------------------

def test_sample_is_the_first_of_each_class() -> None:
    labels = np.random.default_rng(0).integers(0, 10, 3000)
    assert np.array_equal(reps.sample(labels), ref_sample(labels))
    assert np.array_equal(reps.sample(labels, 3), ref_sample(labels, 3))
    few = np.array([1, 1, 2, 9, 9, 9])
    assert reps.sample(few, 2).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("dims", [10, 256, 784])
def test_pca_equals_the_svd(dims: int) -> None:
    rng = np.random.default_rng(dims)
    # Unequal spreads, as real representations have; the two widest well apart.
    f = rng.normal(size=(600, dims)) * np.linspace(3, 0.1, dims) + rng.normal(size=dims)
    p = reps.pca(f)
    coords, kept = ref_pca(f)
    np.testing.assert_allclose(p.coords, coords, atol=1e-8 * np.abs(coords).max())
    assert p.kept == pytest.approx(kept, rel=1e-9)
    np.testing.assert_allclose(p.axes @ p.axes.T, np.eye(2), atol=1e-10)
    # What the page does to a drawn digit: its features less the mean, on the axes.
    np.testing.assert_allclose((f[:7] - p.mean) @ p.axes.T, coords[:7],
                               atol=1e-8 * np.abs(coords).max())


def test_pca_of_a_known_plane() -> None:
    """Points spread 3 : 2 : tiny along three known directions."""
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.normal(size=(40, 3)))[0].T  # orthonormal rows
    z = rng.normal(size=(500, 3))
    q = np.linalg.qr(z - z.mean(0))[0]  # centred, uncorrelated columns
    p = reps.pca(q * [3.0, 2.0, 1e-3] @ basis + 5.0)
    for axis, direction in zip(p.axes, basis[:2], strict=True):
        assert abs(float(axis @ direction)) == pytest.approx(1.0, abs=1e-9)
    assert p.kept == pytest.approx(13 / (13 + 1e-6), rel=1e-9)


@pytest.mark.parametrize("kind", ["random", "grid", "clusters"])
def test_neighbours_and_vote_equal_a_direct_loop(kind: str) -> None:
    rng = np.random.default_rng(7)
    n = 240
    if kind == "random":
        c = rng.normal(size=(n, 2))
    elif kind == "grid":  # many exactly equal distances, and duplicate points
        c = rng.integers(0, 6, size=(n, 2)).astype(float)
    else:  # tight clusters and far outliers
        c = np.concatenate([rng.normal(size=(n - 10, 2)) * 0.01 + rng.integers(0, 3, (n - 10, 1)),
                            rng.normal(size=(10, 2)) * 50])
    labels = rng.integers(0, 10, n)
    want = ref_neighbours(c)
    assert reps.neighbours(c).tolist() == want
    correct = reps.knn_correct(c, labels)
    assert correct.tolist() == [ref_vote(nb, labels) == labels[i] for i, nb in enumerate(want)]


def test_a_tie_between_classes_goes_to_the_nearest() -> None:
    c = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0], [5.0, 0.0]])
    labels = np.array([7, 3, 7, 3, 1, 1])
    # Point 0's neighbours 1 2 3 4 5 vote 3, 7, 3, 1, 1: 3 and 1 tie, 3 is nearer.
    assert reps.neighbours(c)[0].tolist() == [1, 2, 3, 4, 5]
    assert not reps.knn_correct(c, labels)[0]
    labels[0] = 3
    assert reps.knn_correct(c, labels)[0]


def test_conv_features_equal_torch() -> None:
    exp = get_experiment("mnist-conv")
    rng = np.random.default_rng(3)
    weights = tuple(rng.normal(scale=0.3, size=s).astype(np.float32) for s in exp.layer_shapes)
    biases = tuple(rng.normal(scale=0.1, size=s[0]).astype(np.float32) for s in exp.layer_shapes)
    images = rng.integers(0, 256, (37, 28, 28), dtype=np.uint8)
    r = SimpleNamespace(experiment=exp, weights=weights, biases=biases)
    s = reps.Sample(np.arange(37), np.zeros(37, np.int64), images)
    ours = reps.features("mnist-conv", {"mnist-conv": r}, s)  # type: ignore[dict-item]
    theirs = torch_features("mnist-conv", weights[:2], biases[:2],
                            images.reshape(37, -1) / 255.0)
    assert ours.shape == theirs.shape == (37, weights[1].shape[0] * 4 * 4)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


# --- the figure and its data ---------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs() -> ProductInputs:
    return fake_inputs()


def _reference_maps(inputs: ProductInputs) -> dict[str, tuple[np.ndarray, float]]:
    test = inputs.test["mnist"]
    idx = ref_sample(test.labels)
    x = test.images[idx].reshape(len(idx), -1) / 255.0
    r2, rc = inputs.results["mnist-2layer"], inputs.results["mnist-conv"]
    return {
        reps.RAW: ref_pca(x),
        "mnist-2layer": ref_pca(r2.hidden[idx].astype(np.float64)),
        "mnist-conv": ref_pca(torch_features("mnist-conv", rc.weights[:2], rc.biases[:2], x)),
    }


def test_figure_data_is_the_independent_projection(inputs: ProductInputs) -> None:
    rows = maps.representation_maps_data(inputs)
    header, body = rows[0], np.array(rows[1:], dtype=float)
    test = inputs.test["mnist"]
    idx = ref_sample(test.labels)
    assert body[:, 0].astype(int).tolist() == idx.tolist()
    assert body[:, 1].astype(int).tolist() == test.labels[idx].tolist()
    for col, name in ((2, "mnist-2layer"), (3, "mnist-conv")):
        assert header[col] == f"{name}_answer"
        assert body[:, col].astype(int).tolist() == \
            inputs.results[name].test_probs[idx].argmax(1).tolist()
    for k, (kind, (coords, _)) in enumerate(_reference_maps(inputs).items()):
        assert header[4 + 2 * k:6 + 2 * k] == [f"{kind}_x", f"{kind}_y"]
        np.testing.assert_allclose(body[:, 4 + 2 * k:6 + 2 * k], coords,
                                   atol=2e-5 * np.abs(coords).max(), err_msg=kind)


@pytest.mark.parametrize("narrow", [False, True])
@pytest.mark.parametrize("theme", style.THEMES, ids=lambda t: t.name)
def test_figure_panels_legend_and_points(inputs: ProductInputs, narrow: bool,
                                         theme: style.Theme) -> None:
    style.setup(theme)
    fig = maps.representation_maps(inputs, theme, narrow=narrow)
    try:
        ref = _reference_maps(inputs)
        assert [ax.get_title().split("\n")[0] for ax in fig.axes] == \
            [maps.TITLES[k] for k in reps.KINDS]
        dims = {reps.RAW: 784, "mnist-2layer": 10, "mnist-conv": 256}
        for ax, kind in zip(fig.axes, reps.KINDS, strict=True):
            assert f"每张图 {dims[kind]} 个数" in ax.get_title()
            assert ax.get_xlabel() == f"两根轴留住了全部变化的 {100 * ref[kind][1]:.0f}%"
            (image,) = ax.images
            assert image.get_array().shape[2] == 4
            # Every digit's numeral sits at the median of its class's points.
            labels = inputs.test["mnist"].labels[ref_sample(inputs.test["mnist"].labels)]
            centres = {t.get_text(): t.get_position() for t in ax.texts}
            for d in range(10):
                np.testing.assert_allclose(centres[str(d)],
                                           np.median(ref[kind][0][labels == d], 0), atol=1e-4)
        legend = fig.legends[0]
        texts = sorted(t.get_text() for t in legend.get_texts())
        assert texts == [str(d) for d in range(10)]
        colours = {t.get_text(): h.get_color() for t, h in
                   zip(legend.get_texts(), legend.legend_handles, strict=True)}
        assert [colours[str(d)] for d in range(10)] == list(maps.CLASS_COLOURS[theme.name])
        if narrow:  # stacked: the maps one above another, the legend below them all
            tops = [ax.get_position().y0 for ax in fig.axes]
            assert tops == sorted(tops, reverse=True)
    finally:
        style.plt.close(fig)


def test_scatter_image_draws_each_point_as_a_square_the_last_on_top() -> None:
    rng = np.random.default_rng(5)
    coords = rng.normal(size=(400, 2))
    labels = rng.integers(0, 10, 400)
    colours = maps.CLASS_COLOURS["light"]
    size = 120
    image, (left, right, bottom, top) = maps.scatter_image(coords, labels, colours, size)
    assert right - left == pytest.approx(top - bottom)  # equal scales
    scale = size / (right - left)
    order = np.random.default_rng(0).permutation(len(coords))
    want = np.zeros((size, size, 4), np.uint8)
    rgb = [tuple(int(round(255 * v)) for v in to_rgb(c))
           for c in colours]
    for j in order:  # one square at a time, later ones over earlier ones
        col = math.floor((coords[j, 0] - left) * scale - maps.DOT / 2)
        row = math.floor((top - coords[j, 1]) * scale - maps.DOT / 2)
        for dy in range(maps.DOT):
            for dx in range(maps.DOT):
                r, c = min(max(row + dy, 0), size - 1), min(max(col + dx, 0), size - 1)
                want[r, c] = (*rgb[labels[j]], 255)
    np.testing.assert_array_equal(image, want)


# --- the colours ---------------------------------------------------------------------------

def _linear(hex_colour: str) -> np.ndarray:
    c = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _contrast(a: str, b: str) -> float:
    la, lb = (float(_linear(c) @ [0.2126, 0.7152, 0.0722]) for c in (a, b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _lab(rgb_linear: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ np.clip(rgb_linear, 0, 1)
    t = xyz / np.array([0.9505, 1.0, 1.089])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


# Machado, Oliveira and Fernandes (2009), full severity, on linear RGB.
CVD = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
# Material's page backgrounds: white, and slate's hsl(225, 15%, 14%).
BACKGROUND = {"light": "#ffffff", "dark": "#1e2129"}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_class_colours_read_on_their_page_and_apart_for_colour_blind_readers(
        theme: str) -> None:
    colours = maps.CLASS_COLOURS[theme]
    assert len(set(colours)) == 10
    # WCAG 1.4.11: graphics at least 3:1 against what is behind them.
    assert min(_contrast(c, BACKGROUND[theme]) for c in colours) >= 3.0
    # Any two colours stay apart (CIELAB distance) under simulated red-green blindness;
    # 10 is a difference seen at a glance between small patches.
    for matrix in CVD.values():
        seen = [_lab(matrix @ _linear(c)) for c in colours]
        closest = min(float(np.linalg.norm(a - b)) for k, a in enumerate(seen)
                      for b in seen[k + 1:])
        assert closest >= 10


def test_the_page_uses_the_figures_colours() -> None:
    css = (ROOT / "docs" / "stylesheets" / "map.css").read_text()
    blocks = {"light": css[css.index(":root"):css.index("}", css.index(":root"))],
              "dark": css[css.index('[data-md-color-scheme="slate"]'):]}
    for theme, block in blocks.items():
        found = dict(re.findall(r"--li-class-(\d): (#[0-9a-f]{6})", block.split("}")[0]))
        assert [found[str(d)] for d in range(10)] == list(maps.CLASS_COLOURS[theme])


# --- the facts and the noise rule --------------------------------------------------------------


def _expected(a: list[np.ndarray], b: list[np.ndarray]) -> str:
    acc_a, acc_b = [x.mean() for x in a], [x.mean() for x in b]
    b = b * len(a) if len(b) == 1 else b
    pairs = [(int((x & ~y).sum()), int((~x & y).sum())) for x, y in zip(a, b, strict=True)]
    sig = [mcnemar_exact(p, q) < Fraction(5, 100) for p, q in pairs]
    if min(acc_a) > max(acc_b) and all(s and p > q for s, (p, q) in zip(sig, pairs, strict=True)):
        return "higher"
    if max(acc_a) < min(acc_b) and all(s and p < q for s, (p, q) in zip(sig, pairs, strict=True)):
        return "lower"
    return "noise"


def _separated(inputs: ProductInputs, spread: float) -> ProductInputs:
    """The synthetic results, with the two-layer network's hidden activations (every
    seed's) made of the digit's class plus noise of ``spread``: a map whose classes
    separate as well as wished."""
    results = dict(inputs.results)
    labels = inputs.test["mnist"].labels
    for k, run in enumerate(seeds_of("mnist-2layer")):
        rng = np.random.default_rng(k)
        hidden = np.eye(10)[labels] * 3 + rng.normal(scale=spread, size=(len(labels), 10))
        results[run] = dataclasses.replace(results[run], hidden=hidden.astype(np.float32))
    return dataclasses.replace(inputs, results=results)


@pytest.mark.parametrize("spread", [0.05, 50.0])
def test_map_facts_follow_the_noise_rule(inputs: ProductInputs, spread: float) -> None:
    inp = _separated(inputs, spread)
    f: dict = {}
    for name in ("mnist-2layer", "mnist-conv"):
        facts._runs_facts(f, inp.results, name)
    facts._map_facts(f, inp.results, inp.test)
    test = inp.test["mnist"]
    idx = ref_sample(test.labels)
    labels = test.labels[idx]
    x = test.images[idx].reshape(len(idx), -1) / 255.0

    def correct(coords: np.ndarray) -> np.ndarray:
        return np.array([ref_vote(nb, labels) == labels[i]
                         for i, nb in enumerate(ref_neighbours(coords))])

    runs = {reps.RAW: [correct(ref_pca(x)[0])]}
    runs["mnist-2layer"] = [correct(ref_pca(inp.results[r].hidden[idx].astype(float))[0])
                            for r in seeds_of("mnist-2layer")]
    runs["mnist-conv"] = [correct(ref_pca(torch_features(
        "mnist-conv", inp.results[r].weights[:2], inp.results[r].biases[:2], x))[0])
        for r in seeds_of("mnist-conv")]
    assert f["maps.n"]["value"] == len(idx)
    for kind, answers in runs.items():
        acc = [float(a.mean()) for a in answers]
        assert f[f"maps.{kind}.knn"]["value"] == pytest.approx(float(np.mean(acc)))
        if len(acc) > 1:
            assert f[f"maps.{kind}.knn_runs"]["value"] == pytest.approx(acc)
            assert f[f"maps.{kind}.knn_runs"]["text"].endswith(
                f"{100 * min(acc):.1f}–{100 * max(acc):.1f}%")
    words = {"higher": ("高", "高出"), "lower": ("低", "低了"), "noise": ("持平", "相差")}
    for a, b in (("mnist-2layer", reps.RAW), ("mnist-conv", reps.RAW),
                 ("mnist-conv", "mnist-2layer")):
        name = f"maps.cmp.{a}-vs-{b}"
        want = _expected(runs[a], runs[b])
        assert f[name]["value"]["verdict"] == want, (name, spread)
        assert f[name]["text"] == words[want][0]
        shown = [float(f[f"maps.{k}.knn"]["text"].rstrip("%")) for k in (a, b)]
        gap = f"{abs(shown[0] - shown[1]):.1f}"
        phrase = f[f"{name}.phrase"]["text"]
        assert phrase.startswith(words[want][1]) and f" {gap} 个百分点" in phrase
        assert ("在噪声之内" in phrase) == (want == "noise")
    if spread < 1:  # classes apart: the hidden layer's map must beat the pixels'
        assert f["maps.cmp.mnist-2layer-vs-pixels"]["value"]["verdict"] == "higher"
    per_class = [runs[reps.RAW][0][labels == d].mean() for d in range(10)]
    assert f["maps.pixels.best_class"]["value"] == int(np.argmax(per_class))
