"""Templates beside class averages: the averages, correlations and differences against
a plain numpy computation, the figures drawing exactly those, and (full tier) the
real templates against the real training files and the chapters' sentences against
the manifest."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from looking_inside.config import get_experiment, load_settings
from looking_inside.products import analysis, facts
from looking_inside.products.figures import style
from looking_inside.products.figures.common import SIGNED
from looking_inside.products.figures.templates import (
    ROWS,
    cifar_templates,
    cifar_templates_data,
    mnist_templates,
    mnist_templates_data,
)
from looking_inside.products.inputs import ProductInputs
from looking_inside.products.labels import CIFAR_CLASSES_ZH
from looking_inside.training.pipeline import Pipeline

from helpers import CIFAR_TRAIN, MNIST_FILES, fake_inputs, read_cifar_pickle, read_idx


def reference(weights: np.ndarray, images: np.ndarray, labels: np.ndarray,
              centre: float) -> dict[str, np.ndarray]:
    """Everything ``match_templates`` measures, one class at a time: averages by
    summing images in a loop, correlations by np.corrcoef, the best multiple of the
    average input by least squares (np.linalg.lstsq, no offset)."""
    x = images.reshape(len(images), -1)
    means = np.zeros((10, x.shape[1]))
    for c in range(10):
        total, n = np.zeros(x.shape[1]), 0
        for i in np.flatnonzero(labels == c):
            total += x[i].astype(np.float64)
            n += 1
        means[c] = total / n
    w = weights.reshape(10, -1).astype(np.float64)
    corr = np.array([[np.corrcoef(w[c], means[k])[0, 1] for k in range(10)]
                     for c in range(10)])
    inputs = means / 255 - centre
    scale = np.array([np.linalg.lstsq(inputs[c][:, None], w[c], rcond=None)[0][0]
                      for c in range(10)])
    diff = w - scale[:, None] * inputs
    negative = np.array([sum(-v for v in d if v < 0) / sum(abs(v) for v in d) for d in diff])
    others = [np.mean([inputs[k] for k in range(10) if k != c], axis=0) for c in range(10)]
    against = np.array([np.corrcoef(diff[c], others[c])[0, 1] for c in range(10)])
    return {"means": means, "corr": corr, "scale": scale, "difference": diff,
            "negative": negative, "against": against}


@pytest.fixture(scope="module")
def inputs() -> ProductInputs:
    return fake_inputs()


@pytest.mark.parametrize("dataset,network,centre", [("mnist", "mnist-1layer", 0.0),
                                                    ("cifar10", "cifar-1layer", 0.5)])
def test_match_templates_against_numpy(inputs: ProductInputs, dataset: str, network: str,
                                       centre: float) -> None:
    train = inputs.train[dataset]
    w = inputs.results[network].weights[0]
    m = analysis.match_templates(w, train.images, train.labels, centre)
    ref = reference(w, train.images, train.labels, centre)
    np.testing.assert_allclose(m.means, ref["means"], rtol=1e-12)
    np.testing.assert_allclose(m.corr, ref["corr"], atol=1e-12)
    np.testing.assert_allclose(m.own, np.diag(ref["corr"]), atol=1e-12)
    np.testing.assert_allclose(m.scale, ref["scale"], rtol=1e-9)
    np.testing.assert_allclose(m.difference, ref["difference"], atol=1e-9)
    np.testing.assert_allclose(m.negative_share, ref["negative"], atol=1e-12)
    np.testing.assert_allclose(m.against_others, ref["against"], atol=1e-12)


def test_an_average_shaped_template_leaves_no_difference() -> None:
    """A template that is a multiple of its class's average input has correlation 1
    with it and nothing left over; one with the other classes' ink subtracted leaves
    exactly that, all negative, and correlated -1 with the others' average."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    images = rng.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    means = analysis.class_means(images, labels) / 255
    m = analysis.match_templates(3 * means, images, labels)
    np.testing.assert_allclose(m.own, 1.0)
    np.testing.assert_allclose(m.scale, 3.0)
    np.testing.assert_allclose(m.difference, 0.0, atol=1e-12)
    others = (means.sum(0) - means) / 9
    # Orthogonal to the average, so that the best multiple of it stays 2.
    push = others - ((others * means).sum(1) / (means * means).sum(1))[:, None] * means
    m = analysis.match_templates(2 * means - push, images, labels)
    np.testing.assert_allclose(m.scale, 2.0)
    np.testing.assert_allclose(m.difference, -push, atol=1e-12)


def test_class_means_without_a_float_copy_equal_the_plain_mean() -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (500, 3, 8, 8), dtype=np.uint8)
    labels = rng.integers(0, 9, 500)  # class 9 empty: zeros
    plain = np.stack([images[labels == c].reshape(-1, 192).astype(np.float64).mean(0)
                      if (labels == c).any() else np.zeros(192) for c in range(10)])
    np.testing.assert_allclose(analysis.class_means(images, labels), plain, rtol=1e-13)


def _tiles(ax) -> list[np.ndarray]:  # noqa: ANN001 - a matplotlib Axes
    """The tiles of a mosaic (transparent gaps between them), row by row."""
    mosaic = np.asarray(ax.images[0].get_array())
    opaque = mosaic[..., 3] == 255
    ys, xs = np.flatnonzero(opaque.any(1)), np.flatnonzero(opaque.any(0))
    rows = ys[np.r_[True, np.diff(ys) > 1]]
    cols = xs[np.r_[True, np.diff(xs) > 1]]
    side = int(np.flatnonzero(np.diff(xs) > 1)[0]) + 1
    return [mosaic[y:y + side, x:x + side, :3].astype(float) for y in rows for x in cols]


def scaled255(a: np.ndarray) -> np.ndarray:
    return np.rint((a - a.min()) / (a.max() - a.min()) * 255)


@pytest.mark.parametrize("theme", style.THEMES, ids=lambda t: t.name)
def test_mnist_figure_draws_averages_templates_and_differences(inputs: ProductInputs,
                                                               theme: style.Theme) -> None:
    train = inputs.train["mnist"]
    w = inputs.results["mnist-1layer"].weights[0]
    ref = reference(w, train.images, train.labels, 0.0)
    style.setup(theme)
    fig = mnist_templates(inputs, theme)
    lim = np.quantile(np.abs(ref["difference"]), 0.99)
    for block, ax in enumerate(fig.axes):
        classes = range(5 * block, 5 * block + 5)
        texts = [t.get_text() for t in ax.texts]
        assert texts[:5] == [f"“{c}”\nr = {ref['corr'][c, c]:.2f}" for c in classes]
        assert texts[5:] == list(ROWS)
        tiles = _tiles(ax)
        assert len(tiles) == 15
        for k, c in enumerate(classes):
            np.testing.assert_array_equal(tiles[k][..., 0], scaled255(ref["means"][c])
                                          .reshape(28, 28))
            np.testing.assert_array_equal(tiles[5 + k][..., 0], scaled255(w[c].astype(float))
                                          .reshape(28, 28))
            # The difference: the page's colour where it is 0, the negative colour
            # (blue) where it is most negative, the positive (red) where most positive.
            d = ref["difference"][c].reshape(28, 28)
            tile = tiles[10 + k]
            lo, hi = np.unravel_index(d.argmin(), d.shape), np.unravel_index(d.argmax(), d.shape)
            from matplotlib.colors import to_rgb

            if d.min() <= -lim:
                np.testing.assert_allclose(tile[lo] / 255, to_rgb(SIGNED[theme.name][1]), atol=0.01)
            if d.max() >= lim:
                np.testing.assert_allclose(tile[hi] / 255, to_rgb(SIGNED[theme.name][0]), atol=0.01)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_cifar_figure_titles_are_the_classes_and_correlations(inputs: ProductInputs) -> None:
    train = inputs.train["cifar10"]
    w = inputs.results["cifar-1layer"].weights[0]
    ref = reference(w, train.images, train.labels, 0.5)
    style.setup(style.LIGHT)
    fig = cifar_templates(inputs, style.LIGHT)
    heads = [t.get_text() for ax in fig.axes for t in ax.texts[:5]]
    assert heads == [f"{CIFAR_CLASSES_ZH[c]}\nr = {ref['corr'][c, c]:.2f}" for c in range(10)]
    tiles = _tiles(fig.axes[0])
    # Colour tiles: R, G, B planes of the average, scaled over all three together.
    np.testing.assert_array_equal(tiles[0], scaled255(ref["means"][0])
                                  .reshape(3, 32, 32).transpose(1, 2, 0))
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("make,dataset,network,centre", [
    (mnist_templates_data, "mnist", "mnist-1layer", 0.0),
    (cifar_templates_data, "cifar10", "cifar-1layer", 0.5)])
def test_template_tables_against_numpy(inputs: ProductInputs, make, dataset: str,  # noqa: ANN001
                                       network: str, centre: float) -> None:
    train = inputs.train[dataset]
    w = inputs.results[network].weights[0]
    ref = reference(w, train.images, train.labels, centre)
    rows = make(inputs)
    assert rows[0][:7] == ["class", "name", "image", "r_template_average", "scale",
                           "negative_share", "r_difference_other_averages"]
    assert len(rows) == 1 + 30 and all(len(r) == len(rows[0]) for r in rows)
    for k, row in enumerate(rows[1:]):
        c = k // 3
        assert row[0] == c and row[2] == ("average", "template", "difference")[k % 3]
        np.testing.assert_allclose(row[3:7], [ref["corr"][c, c], ref["scale"][c],
                                              ref["negative"][c], ref["against"][c]],
                                   rtol=1e-9, atol=1e-12)
        values = {"average": ref["means"][c], "template": w[c],
                  "difference": ref["difference"][c]}[row[2]]
        np.testing.assert_allclose(np.asarray(row[7:], float), values, rtol=1e-9, atol=1e-9)


def test_template_facts_quote_the_measurements(inputs: ProductInputs) -> None:
    f = facts.compute_facts(inputs.results, inputs.test, inputs.train)
    for prefix, dataset, network, centre in (("mnist", "mnist", "mnist-1layer", 0.0),
                                            ("cifar", "cifar10", "cifar-1layer", 0.5)):
        train = inputs.train[dataset]
        ref = reference(inputs.results[network].weights[0], train.images, train.labels,
                        centre)
        own = np.diag(ref["corr"])
        hits = int((ref["corr"].argmax(1) == np.arange(10)).sum())
        story = f[f"{prefix}.templates.story"]
        assert story["value"]["own"] == hits
        assert story["value"]["min"] == pytest.approx(own.min(), abs=1e-12)
        assert f"相关系数 {own.min():.2f} 到 {own.max():.2f}" in story["text"]
        assert f[f"{prefix}.templates.negative"]["text"] == \
            f"{100 * ref['negative'].min():.0f}% 到 {100 * ref['negative'].max():.0f}%"
        lo, hi = ref["against"].min(), ref["against"].max()
        assert f[f"{prefix}.templates.others"]["text"] == \
            f"{lo:.2f} 到 {hi:.2f}".replace("-", "−")


# --- the real data and the chapters --------------------------------------------------------

def _csv(site: Path, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((site / "figures" / name).read_text(encoding="utf-8"))))


def test_real_templates_against_the_training_files(built_site: Path, data_root: Path,
                                                   session_cache: Path) -> None:
    """The published correlations, for the real templates and the training images read
    straight from the data files (not through the package's readers)."""
    pipeline = Pipeline(load_settings(data_root, session_cache))
    raw = data_root / "MNIST" / "raw"
    mnist = (read_idx(raw / MNIST_FILES["train"][0]), read_idx(raw / MNIST_FILES["train"][1]))
    batches = [read_cifar_pickle(data_root / "cifar-10-batches-py" / b) for b in CIFAR_TRAIN]
    cifar = (np.concatenate([np.asarray(b["data"], np.uint8) for b in batches]),
             np.concatenate([np.asarray(b["labels"]) for b in batches]))
    for name, network, (images, labels) in (
            ("mnist-templates-vs-averages.csv", "mnist-1layer", mnist),
            ("cifar-templates-vs-averages.csv", "cifar-1layer", cifar)):
        w = pipeline.results(get_experiment(network)).weights[0].astype(np.float64)
        x = images.reshape(len(images), -1)
        rows = _csv(built_site, name)[1:]
        for c in range(10):
            mean = x[labels == c].astype(np.float64).mean(0)
            r = np.corrcoef(w[c], mean)[0, 1]
            row = rows[3 * c]
            assert row[2] == "average"
            assert float(row[3]) == pytest.approx(r, abs=1e-5), (network, c)
            np.testing.assert_allclose(np.asarray(row[7:], float), mean, rtol=1e-5)


def manifest(site: Path) -> dict:
    return json.loads((site / "assets" / "data" / "manifest.json").read_text())


def chapter_text(site: Path, name: str) -> str:
    html = (site / name / "index.html").read_text(encoding="utf-8")
    body = html[html.index("<article"):html.index("</article>")]
    return re.sub(r"<[^>]+>", "", body)


def test_the_template_sentences_follow_the_facts(built_site: Path) -> None:
    f = manifest(built_site)["facts"]
    text = chapter_text(built_site, "weights")
    story = f["mnist.templates.story"]
    assert story["text"] in text
    assert ("相关系数都离 1 很远" in text) == (story["value"]["max"] < 0.8)
    negative = f["mnist.templates.negative"]
    assert ("差值里大部分是负数" in text) == (min(negative["value"]) > 0.5)
    assert negative["text"] in text
    others = f["mnist.templates.others"]
    assert ("十个都是负的" in text) == (others["value"]["max"] < 0)
    cifar = chapter_text(built_site, "cifar")
    assert f["cifar.templates.story"]["text"] in cifar
    assert f"负数占 {f['cifar.templates.negative']['text']}" in cifar


def test_the_template_figures_declare_the_training_images() -> None:
    """Declared, so that their key holds the data set's identity (both splits) and
    the builder hands them the training split; the other figures are not handed it."""
    from looking_inside.products.figures.registry import FIGURES

    reads = {s.name for s in FIGURES if s.product(font="f").reads_train}
    assert reads == {"mnist-templates-vs-averages", "cifar-templates-vs-averages"}
