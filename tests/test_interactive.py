"""The interactive pages without a browser: the preprocessing reference, the exports
checked against the cached results they come from, and the built pages' wiring."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from looking_inside.build import Build
from looking_inside.config import get_experiment, load_settings
from looking_inside.data.readers import Split
from looking_inside.products import analysis, exports
from looking_inside.products.catalog import products
from looking_inside.products.inputs import ProductInputs
from looking_inside.training.pipeline import Pipeline
from looking_inside.training.results import Results

import digits

DATA = "assets/data"
# The per-page weight budget of the site (bytes the reader downloads for a page).
PAGE_BUDGET = 1_500_000


# --- digits.py: the reference the browser tests compare the page against ----------

def test_box_weights_average_exactly() -> None:
    for n_in, n_out in [(200, 20), (7, 20), (137, 20), (20, 20), (1, 1), (3, 2)]:
        w = digits.box_weights(n_in, n_out)
        assert w.shape == (n_out, n_in)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)  # a mean of its input
        np.testing.assert_allclose(w.sum(axis=0), n_out / n_in, atol=1e-12)  # all input used
    assert np.array_equal(digits.box_weights(20, 20), np.eye(20))


def test_scaled_size_keeps_aspect_and_rounds_halves_up() -> None:
    assert digits.scaled_size(200, 100) == (20, 10)
    assert digits.scaled_size(100, 200) == (10, 20)
    assert digits.scaled_size(200, 5) == (20, 1)  # a thin 1 keeps a column
    assert digits.scaled_size(40, 10) == (20, 5)
    assert digits.scaled_size(8, 1) == (20, 3)  # 2.5 -> 3, as JavaScript's Math.round
    assert digits.round_half_up(2.5) == 3 and digits.round_half_up(-0.5) == 0


def test_blank_drawing_is_all_zeros() -> None:
    assert not digits.mnist_like(np.zeros((280, 280))).any()


def test_ink_is_alpha_channel() -> None:
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., :3] = 255  # white colour, no ink
    rgba[0, 1, 3] = 51
    np.testing.assert_allclose(digits.ink_from_rgba(rgba), np.array([[0, 0.2], [0, 0]]))


def test_lopsided_drawing_keeps_all_ink_in_frame() -> None:
    ink = np.zeros((280, 280))
    ink[20:220, 30:40] = 1.0  # a bar ...
    ink[200:220, 30:250] = 1.0  # ... with a long foot: centre of mass far right of centre
    x = digits.mnist_like(ink)
    box = digits.bounding_box(ink)
    assert box is not None
    crop = ink[box[0]:box[2], box[1]:box[3]]
    h, w = digits.scaled_size(*crop.shape)
    small = digits.box_weights(crop.shape[0], h) @ crop @ digits.box_weights(crop.shape[1], w).T
    assert x.sum() == pytest.approx(small.sum())


def test_centre_of_mass_lands_on_pixel_14() -> None:
    ink = np.zeros((280, 280))
    ink[50:250, 100:160] = 1.0
    x = digits.mnist_like(ink)
    rows, cols = np.indices(x.shape)
    assert abs((rows * x).sum() / x.sum() - 14) <= 0.5
    assert abs((cols * x).sum() / x.sum() - 14) <= 0.5
    assert x.max() == pytest.approx(1.0)


# --- against the real data and the cached model -------------------------------------

@pytest.fixture(scope="module")
def pipeline(built_site: Path, data_root: Path, session_cache: Path) -> Pipeline:
    """Results and test images exactly as the site build used them (from its cache)."""
    return Pipeline(load_settings(data_root, session_cache))


@pytest.fixture(scope="module")
def mnist_test(pipeline: Pipeline) -> Split:
    return pipeline.data("mnist").test


@pytest.fixture(scope="module")
def mnist_1layer(pipeline: Pipeline) -> Results:
    return pipeline.results(get_experiment("mnist-1layer"))


def test_preprocessing_reproduces_mnist_digits(mnist_test: Split) -> None:
    """MNIST's digits went through this very recipe, so an upscaled test digit must
    come back unchanged: the check that the recipe is MNIST's, not merely similar."""
    for i in range(300):
        original = mnist_test.images[i].astype(np.float64) / 255.0
        back = digits.mnist_like(digits.upscale(original, 10))
        np.testing.assert_allclose(back, original, atol=1e-12, err_msg=f"test image {i}")


def test_scores_match_the_models_predictions(mnist_1layer: Results, mnist_test: Split) -> None:
    w, b = mnist_1layer.weights[0], mnist_1layer.biases[0]
    x = mnist_test.images[:500].reshape(500, -1) / 255.0
    z = np.stack([digits.scores(w, b, xi.reshape(28, 28)) for xi in x])
    assert np.array_equal(z.argmax(1), mnist_1layer.predictions[:500])
    np.testing.assert_allclose(digits.softmax(z[0]), mnist_1layer.test_probs[0], atol=1e-5)


# --- the exports ----------------------------------------------------------------------

def _json(site: Path, name: str) -> dict:
    return json.loads((site / DATA / name).read_text())


@pytest.mark.parametrize("spec", exports.CONFUSION_EXPORTS, ids=lambda s: s.name)
def test_confusion_export_matches_results(spec: exports.ConfusionExport, built_site: Path,
                                          pipeline: Pipeline) -> None:
    res = pipeline.results(get_experiment(spec.experiment))
    test = pipeline.data(spec.dataset).test
    doc = _json(built_site, f"{spec.name}.json")
    assert doc["counts"] == res.confusion.tolist()
    assert doc["cap"] == spec.cap
    best = analysis.most_confident_per_cell(res.test_labels, res.test_probs)
    start = 0
    for k, cell in enumerate(doc["cells"]):
        a, p = divmod(k, 10)
        members = analysis.cell_members(res.test_labels, res.test_probs, a, p)
        assert cell["index"] == members[: spec.cap].tolist(), (a, p)
        assert len(cell["index"]) == min(spec.cap, int(res.confusion[a, p]))
        np.testing.assert_allclose(cell["conf"], res.test_probs[members[: spec.cap], p],
                                   atol=0.5 * 10 ** -exports.PROB_DECIMALS)
        # The first tile is the static "most confident sample" figure's image.
        assert (cell["index"][:1] or [-1])[0] == best[a, p]
        assert cell["start"] == start
        start += len(cell["index"])
    assert doc["sprite"]["tiles"] == start

    from PIL import Image

    sheet = np.asarray(Image.open(built_site / DATA / doc["sprite"]["file"]))
    t, cols = doc["sprite"]["tile"], doc["sprite"]["columns"]
    order = [i for c in doc["cells"] for i in c["index"]]
    for k in range(0, len(order), 37):
        r, c = divmod(k, cols)
        tile = sheet[r * t:(r + 1) * t, c * t:(c + 1) * t].astype(np.int16)
        image = test.images[order[k]]
        expected = image if image.ndim == 2 else image.transpose(1, 2, 0)
        if spec.fmt == "png":
            assert np.array_equal(tile, expected), f"tile {k}"
        else:  # JPEG at quality 85: a few levels off on texture; another photo is ~50 off
            assert np.abs(tile - expected).mean() < 10, f"tile {k}"


def test_manifest_fact_names_a_capped_cell(built_site: Path) -> None:
    """The browser test opens this cell; it must exercise the cap ("显示前 N 张，共 M 张")."""
    facts = _json(built_site, "manifest.json")["facts"]
    doc = _json(built_site, "confusion-mnist.json")
    a, p = facts["mnist.confusion.actual"]["value"], facts["mnist.confusion.predicted"]["value"]
    assert doc["counts"][a][p] == facts["mnist.confusion.count"]["value"]
    assert doc["largest"] == [a, p]


def test_weights_export_within_rounding(built_site: Path, mnist_1layer: Results) -> None:
    doc = _json(built_site, "mnist-1layer-weights.json")
    w, b = np.array(doc["weights"]), np.array(doc["biases"])
    assert w.shape == (10, 784) and b.shape == (10,)
    rel = 0.5 * 10 ** (1 - exports.WEIGHT_DIGITS)  # 5 significant digits: <= 5e-5
    np.testing.assert_allclose(w, mnist_1layer.weights[0], rtol=rel, atol=1e-12)
    np.testing.assert_allclose(b, mnist_1layer.biases[0], rtol=rel, atol=1e-12)


def test_examples_are_real_test_digits(built_site: Path, mnist_test: Split) -> None:
    doc = _json(built_site, "mnist-examples.json")
    assert doc["label"] == list(range(10))
    for i, pixels in zip(doc["index"], doc["pixels"], strict=True):
        assert np.array_equal(np.array(pixels).reshape(28, 28), mnist_test.images[i])


def test_exports_are_deterministic(pipeline: Pipeline) -> None:
    res = {"mnist-1layer": pipeline.results(get_experiment("mnist-1layer"))}
    inputs = ProductInputs(results=res, test={"mnist": pipeline.data("mnist").test})
    spec = exports.CONFUSION_EXPORTS[0]
    assert spec.make(inputs) == spec.make(inputs)
    png = spec.make(inputs)[spec.sprite_file]
    assert b"tIME" not in png and b"tEXt" not in png  # no timestamps, no metadata
    data = pipeline.data("mnist")
    with_train = ProductInputs(results={}, test={"mnist": data.test},
                               train={"mnist": data.train})
    assert exports.make_sample(with_train) == exports.make_sample(with_train)


def test_export_keys_cover_their_code(data_root: Path, tmp_path: Path) -> None:
    builder = Build(load_settings(data_root, tmp_path))
    found = {p.name: p for p in products() if p.kind == "export"}
    assert set(found) == {"confusion-mnist", "confusion-cifar", "mnist-1layer-weights",
                          "mnist-examples", "train-replay", "train-sample",
                          "representation-map"}
    from looking_inside.sources import closure

    for p in found.values():
        assert {"products.exports", "products.analysis", "products.labels"} <= closure(p.code)
    p = found["confusion-mnist"]
    from dataclasses import replace

    moved = replace(p, params={**p.params, "cap": p.params["cap"] + 1})
    assert builder.key(moved) != builder.key(p)


def test_sprite_tiling_is_row_major() -> None:
    imgs = np.arange(5 * 2 * 2, dtype=np.uint8).reshape(5, 2, 2)
    png, layout = exports.sprite(imgs, "png", 3)
    assert layout == {"tile": 2, "columns": 3, "tiles": 5}
    from PIL import Image

    sheet = np.asarray(Image.open(io.BytesIO(png)))  # PNG is lossless: the sheet itself
    assert sheet.shape == (4, 6)
    assert np.array_equal(sheet[0:2, 2:4], imgs[1])
    assert np.array_equal(sheet[2:4, 0:2], imgs[3])
    assert not sheet[2:4, 4:6].any()  # padding


# --- the built pages --------------------------------------------------------------------

PAGES = {"interactive/confusion-explorer/index.html": ("confusion-explorer.js",),
         "interactive/draw-digit/index.html": ("digit-core.js", "draw-digit.js"),
         "interactive/representation-map/index.html": ("digit-core.js", "digit-pad.js",
                                                       "representation-map.js")}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_links_resolve(built_site: Path, page: str) -> None:
    html = (built_site / page).read_text()
    here = (built_site / page).parent
    refs = re.findall(r'(?:src|href|data-src|data-weights|data-examples)="(\.\./[^"#]+)', html)
    assert refs
    for ref in refs:
        target = (here / ref).resolve()
        target = target / "index.html" if target.is_dir() else target
        assert target.is_file(), f"{page}: {ref} does not exist"
    for script in PAGES[page]:
        assert f"javascripts/{script}" in html
    assert "stylesheets/interactive.css" in html


@pytest.mark.parametrize(("page", "figures", "root"), [
    ("interactive/confusion-explorer/index.html", ("mnist-confusion", "cifar-confusion"),
     "li-explorer"),
    ("interactive/draw-digit/index.html", ("weights-as-grid",), "li-draw"),
    ("interactive/representation-map/index.html", ("representation-maps",), "li-map"),
])
def test_static_figure_is_the_fallback(built_site: Path, page: str, figures: tuple[str, ...],
                                       root: str) -> None:
    html = (built_site / page).read_text()
    for fig in figures:
        # The figure sits inside the interactive root's fallback, which JS hides.
        m = re.search(rf'<div class="{root}"[^>]*>\s*<div class="li-fallback">\s*'
                      rf'<figure class="li-figure" id="fig-{fig}"', html)
        assert m, f"{page}: {fig} is not the fallback of a .{root}"


def test_explorer_page_weight(built_site: Path) -> None:
    """Everything the explorer page can download stays within the page budget."""
    page = built_site / "interactive/confusion-explorer/index.html"
    html = page.read_text()
    files = {(page.parent / r).resolve() for r in re.findall(r'(?:src|href)="(\.\./[^"#]+)', html)
             if not r.endswith("/")}
    files |= {built_site / DATA / f for s in exports.CONFUSION_EXPORTS
              for f in (f"{s.name}.json", s.sprite_file)}
    # One palette's figures are shown; both are linked, so count half of them.
    figs = [f for f in files if "/figures/" in str(f)]
    total = page.stat().st_size + sum(f.stat().st_size for f in files if f not in figs) \
        + sum(f.stat().st_size for f in figs) // 2
    assert total < PAGE_BUDGET, f"explorer page is {total:,} bytes"
