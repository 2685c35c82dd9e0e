"""One digit through the networks (figures ``mnist-trace-single``/``-hidden``, the
``trace.*`` facts): the numbers against independent computations (a direct loop,
torch's own forward pass, the results' stored probabilities and activations), the
chapters' sentences against the facts, and the figures' text sizes on a phone.

Tolerances: the traces work in float64 from float32 weights; a direct loop sums the
same terms in another order, so they agree to ~1e-12. Against what training stored
(float32 softmax and activations from torch), ~1e-6: ``STORED_TOL``."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from looking_inside.config import get_experiment, load_settings
from looking_inside.products import analysis, facts
from looking_inside.products.figures import style, trace
from looking_inside.products.figures.registry import get_figure
from looking_inside.products.inputs import ProductInputs
from looking_inside.training.models import build_model, weighted_layers
from looking_inside.training.pipeline import Pipeline
from looking_inside.training.results import Results

from helpers import fake_inputs, fake_results

EXACT = 1e-9
STORED_TOL = 1e-5
FIGURES = ("mnist-trace-single", "mnist-trace-hidden")
# The article column at a 390 px viewport (Material's phone layout), and at 1280 px
# (measured: the text column between the two sidebars is 680 px wide).
PHONE_COLUMN, WIDE_COLUMN = 358, 680


@pytest.fixture(scope="module")
def inputs() -> ProductInputs:
    return fake_inputs()


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _loop_scores(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """b + w x, one multiply-add at a time (no numpy reduction)."""
    out = []
    for c in range(len(b)):
        s = float(b[c])
        for i in range(len(x)):
            s += float(w[c, i]) * float(x[i])
        out.append(s)
    return np.array(out)


def _torch_forward(r: Results, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hidden activations and the logits by torch's own modules, in float64."""
    model = build_model(r.experiment).double()
    with torch.no_grad():
        for layer, w, b in zip(weighted_layers(model), r.weights, r.biases, strict=True):
            layer.weight.copy_(torch.from_numpy(w.astype(np.float64)))
            layer.bias.copy_(torch.from_numpy(b.astype(np.float64)))
        t = torch.from_numpy(x)[None, :]
        hidden = model[:2](t)
        logits = model(t)
    return hidden[0].numpy(), logits[0].numpy()


# --- the traces ------------------------------------------------------------------------

def test_linear_trace_sums_to_the_scores() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(10, 784)).astype(np.float32)
    b = rng.normal(size=10).astype(np.float32)
    x = rng.random(784)
    t = analysis.linear_trace(w, b, x)
    z = _loop_scores(w, b, x)
    np.testing.assert_allclose(t.products.sum(1) + t.bias, z, rtol=0, atol=EXACT)
    np.testing.assert_allclose(t.scores, z, rtol=0, atol=EXACT)
    np.testing.assert_allclose(t.probs, _softmax(z), rtol=0, atol=EXACT)
    assert list(t.ranked) == sorted(range(10), key=lambda c: (-z[c], c))


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_hidden_trace_against_torch(activation: str) -> None:
    exp = dataclasses.replace(get_experiment("mnist-2layer"), activation=activation)
    labels = np.arange(20) % 10
    r = fake_results(exp, labels, seed=5)
    x = np.random.default_rng(1).random(784)
    t = analysis.hidden_trace(r, x)
    h, logits = _torch_forward(r, x)
    np.testing.assert_allclose(t.h, h, rtol=0, atol=EXACT)
    np.testing.assert_allclose(t.scores, logits, rtol=0, atol=EXACT)
    np.testing.assert_allclose(t.contributions.sum(1) + t.bias, logits, rtol=0, atol=EXACT)
    np.testing.assert_allclose(t.probs, _softmax(logits), rtol=0, atol=EXACT)
    pre = r.weights[0].astype(np.float64) @ x + r.biases[0]
    np.testing.assert_allclose(t.pre, pre, rtol=0, atol=EXACT)


def _with_probs(r: Results, probs: np.ndarray) -> Results:
    return dataclasses.replace(r, test_probs=probs.astype(np.float32))


def test_traced_digit_is_the_median_margin_two_both_networks_read() -> None:
    """Labels and probabilities made by hand: five 2s, of which four both networks
    read right with margins (log p1 - log p2) 3, 1, 2, 4; the median of the four
    (lower of the middle two) is the one with margin 2."""
    labels = np.array([2, 2, 2, 2, 2, 7, 2])
    exp = get_experiment("mnist-1layer")
    single = fake_results(exp, labels)
    two = fake_results(get_experiment("mnist-2layer"), labels)

    def probs(rows: list[tuple[int, float]]) -> np.ndarray:
        """Per image: the winning class and its margin over a runner-up (class 0)."""
        p = np.full((len(rows), 10), 1e-6)
        for k, (c, margin) in enumerate(rows):
            p[k, 0 if c else 1] = 1.0
            p[k, c] = np.exp(margin)
        return p / p.sum(1, keepdims=True)

    s = probs([(2, 3.0), (2, 1.0), (2, 2.0), (3, 0.5), (2, 4.0), (7, 1.0), (2, 2.5)])
    h = probs([(2, 1.0)] * 6 + [(5, 1.0)])  # the last 2: the two-layer network misreads it
    i = analysis.traced_digit(_with_probs(single, s), _with_probs(two, h))
    assert i == 2
    # No 2 read right by both: every 2 is in the running.
    i = analysis.traced_digit(_with_probs(single, s), _with_probs(two, probs([(5, 1.0)] * 7)))
    assert i == 2  # margins 3, 1, 2, 0.5, 4, 2.5 (the single layer misreads the fourth)
    with pytest.raises(ValueError, match="digit 8"):
        analysis.traced_digit(single, two, digit=8)


# --- the figures and their data files --------------------------------------------------

def _table(rows: list) -> tuple[list[str], list[list]]:
    return [str(h) for h in rows[0]], [list(r) for r in rows[1:]]


def test_single_layer_data_sums_exactly(inputs: ProductInputs) -> None:
    i = analysis.traced_digit(inputs.results["mnist-1layer"], inputs.results["mnist-2layer"])
    r = inputs.results["mnist-1layer"]
    x = inputs.test["mnist"].images[i].reshape(-1) / 255.0
    z = _loop_scores(r.weights[0], r.biases[0], x)
    head, rows = _table(trace.single_layer_data(inputs))
    col = {h: k for k, h in enumerate(head)}
    first = col["r0c0"]
    classes = [row for row in rows if row[col["class"]] != "input"]
    assert [row[col["class"]] for row in classes] == sorted(range(10), key=lambda c: (-z[c], c))
    for row in classes:
        c = row[col["class"]]
        products = np.array(row[first:], dtype=float)
        np.testing.assert_allclose(products, r.weights[0][c] * x, rtol=0, atol=EXACT)
        assert products.sum() + row[col["bias"]] == pytest.approx(z[c], abs=EXACT)
        assert row[col["score"]] == pytest.approx(z[c], abs=EXACT)
        assert row[col["probability"]] == pytest.approx(_softmax(z)[c], abs=EXACT)
    (inp,) = [row for row in rows if row[col["class"]] == "input"]
    np.testing.assert_allclose(np.array(inp[first:], dtype=float), x, rtol=0, atol=0)


def test_single_layer_figure_draws_the_top_two_maps(inputs: ProductInputs) -> None:
    i, t = trace.single_trace(inputs)
    style.setup(style.LIGHT)
    fig = trace.single_layer(inputs, style.LIGHT)
    try:
        images = [np.asarray(im.get_array()) for ax in fig.axes for im in ax.images]
        assert len(images) == 4  # the input, two maps, the colour bar's 256 steps
        np.testing.assert_array_equal(images[0].ravel(), t.x)
        a, b = t.ranked[:2]
        np.testing.assert_array_equal(images[1].ravel(), t.products[a])
        np.testing.assert_array_equal(images[2].ravel(), t.products[b])
        # The two maps share one colour scale, symmetric about 0 (white = 0).
        lim = np.abs(t.products[[a, b]]).max()
        for ax in fig.axes[1:4]:
            assert ax.images[0].get_clim() == (-lim, lim)
        np.testing.assert_allclose(images[3].ravel()[[0, -1]], [-lim, lim])
        titles = [ax.get_title() for ax in fig.axes]
        assert titles[:3] == [f"输入：测试图 #{i}", f"“{a}”的 w⊙x（第一）", f"“{b}”的 w⊙x（第二）"]
        bars = [[p.get_width() for p in ax.patches] for ax in fig.axes[-2:]]
        np.testing.assert_allclose(bars[0], t.scores, rtol=0, atol=EXACT)
        np.testing.assert_allclose(bars[1], t.probs, rtol=0, atol=EXACT)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_two_layer_data_against_torch(inputs: ProductInputs) -> None:
    i = analysis.traced_digit(inputs.results["mnist-1layer"], inputs.results["mnist-2layer"])
    r = inputs.results["mnist-2layer"]
    x = inputs.test["mnist"].images[i].reshape(-1) / 255.0
    h, logits = _torch_forward(r, x)
    head, rows = _table(trace.two_layer_data(inputs))
    col = {name: k for k, name in enumerate(head)}
    units = [row for row in rows if str(row[col["row"]]).startswith("unit")]
    classes = [row for row in rows if str(row[col["row"]]).startswith("class")]
    np.testing.assert_allclose([row[col["h"]] for row in units], h, rtol=0, atol=EXACT)
    for c, row in enumerate(classes):
        terms = np.array(row[col["unit1"]:col["score"]], dtype=float)
        np.testing.assert_allclose(terms, r.weights[1][c] * h, rtol=0, atol=EXACT)
        assert terms.sum() + row[col["bias"]] == pytest.approx(logits[c], abs=EXACT)
        assert row[col["score"]] == pytest.approx(logits[c], abs=EXACT)
        assert row[col["probability"]] == pytest.approx(_softmax(logits)[c], abs=EXACT)


def test_two_layer_figure_stacks_every_term(inputs: ProductInputs) -> None:
    """Each class row holds one box per nonzero term (the units', then the bias), the
    positive ones end to end from 0 rightwards, the negative leftwards, and a thin bar
    for the total."""
    _, t = trace.two_layer_trace(inputs)
    style.setup(style.LIGHT)
    fig = trace.two_layer(inputs, style.LIGHT)
    try:
        terms_drawn, totals_drawn = fig.axes[-1].collections

        def boxes(collection) -> list[tuple[float, float, float]]:
            """(row centre, left end, signed width) of each drawn rectangle."""
            out = []
            for path in collection.get_paths():
                v = path.vertices[:4]
                out.append((round(float(v[:, 1].mean()), 6), float(v[0, 0]),
                            float(v[1, 0] - v[0, 0])))
            return out

        drawn = boxes(terms_drawn)
        for c in range(10):
            row = [(x, w) for y, x, w in drawn if y == round(c - 0.1, 6)]
            terms = np.append(t.contributions[c], t.bias[c])
            np.testing.assert_allclose([w for _, w in row], terms[terms != 0], rtol=0,
                                       atol=EXACT)
            for sign in (1, -1):
                ends = 0.0
                for x, w in row:
                    if sign * w > 0:
                        assert x == pytest.approx(ends, abs=EXACT)
                        ends = x + w
        totals = sorted(boxes(totals_drawn))
        np.testing.assert_allclose([w for _, x, w in totals], t.scores, rtol=0, atol=EXACT)
        assert all(x == 0 for _, x, _ in totals)
        hbars = fig.axes[2].patches
        np.testing.assert_allclose([p.get_width() for p in hbars], t.h, rtol=0, atol=EXACT)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def _svg_width_px(svg: bytes) -> float:
    m = re.search(rb'width="([0-9.]+)pt"', svg)
    assert m is not None
    return float(m.group(1)) * 4 / 3


@pytest.mark.parametrize("name", FIGURES)
@pytest.mark.parametrize("theme", style.THEMES, ids=lambda t: t.name)
def test_text_is_legible_on_a_phone_and_a_wide_screen(inputs: ProductInputs, name: str,
                                                      theme: style.Theme) -> None:
    """Every text drawn (titles, labels, tick labels) is >= 9 CSS px when the figure
    shrinks into a 390 px phone's column, and >= 11 CSS px at 1280 px."""
    from matplotlib.text import Text

    style.setup(theme)
    fig = get_figure(name).render_function()(inputs, theme)
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    width = _svg_width_px(style.save(fig))
    smallest = min(sizes) * 4 / 3  # CSS px at the figure's natural size
    assert smallest * min(1.0, PHONE_COLUMN / width) >= 9, (name, width, min(sizes))
    assert smallest * min(1.0, WIDE_COLUMN / width) >= 11, (name, width, min(sizes))


# --- the facts the chapters quote --------------------------------------------------------

def _trace_facts(inputs: ProductInputs) -> dict:
    f: dict = {}
    facts._trace_facts(f, inputs.results["mnist-1layer"], inputs.results["mnist-2layer"],
                       inputs.test["mnist"])
    return f


def _check_stories(f: dict) -> None:
    """What the stories say against the values beside them."""
    z = np.array(f["trace.single.scores"]["value"])
    a, b = f["trace.single.first"]["value"], f["trace.single.second"]["value"]
    assert z[a] == z.max() and z[b] == np.sort(z)[-2] and a != b
    printed = float(f"{z[a]:+.2f}") - float(f"{z[b]:+.2f}")
    assert f["trace.single.margin"]["text"] == f"{printed:.2f}"
    story = f["trace.single.story"]["text"]
    assert f"“{a}”的得分 {z[a]:+.2f} 最高，第二名是“{b}”，得分 {z[b]:+.2f}" in story
    assert ("认对了" in story) == (a == f["trace.digit"]["value"])
    for k, c in (("first", a), ("second", b)):
        assert f[f"trace.single.{k}.score"]["value"] == z[c]
        red, blue = f[f"trace.single.{k}.red"]["value"], f[f"trace.single.{k}.blue"]["value"]
        assert red >= 0 >= blue
        assert red + blue + f[f"trace.single.{k}.bias"]["value"] == pytest.approx(z[c], abs=1e-9)
    for key, sign in (("up", 1), ("down", -1)):
        v = f[f"trace.hidden.{key}"]["value"]
        text = f[f"trace.hidden.{key}"]["text"]
        if sign * v["term"] > 0:
            assert text.startswith(("推高" if sign > 0 else "拉低") + "得分最多的是第 "
                                   f"{v['unit']} 号")
            assert f"{v['term']:+.2f}" in text
        else:
            assert text.startswith("没有一项")
    hid = f["trace.hidden.story"]["value"]
    story = f["trace.hidden.story"]["text"]
    assert f"“{hid['first']}”的得分 {f['trace.hidden.first.score']['text']} 最高" in story
    assert ("和单层网络一样" in story) == (hid["second"] == hid["single_second"] == b)


def test_trace_facts_say_what_their_numbers_show(inputs: ProductInputs) -> None:
    _check_stories(_trace_facts(inputs))


def test_trace_facts_with_other_orders() -> None:
    """Other synthetic networks (seeds): whatever ranks first, the words follow."""
    for seed in range(4):
        base = fake_inputs()
        results = {n: fake_results(get_experiment(n), base.test["mnist"].labels, seed=seed + 10)
                   for n in ("mnist-1layer", "mnist-2layer")}
        _check_stories(_trace_facts(ProductInputs(results=results, test=base.test)))


# --- the real site: data files, manifest, chapters (full tier) ----------------------------

@pytest.fixture(scope="module")
def real(built_site: Path, data_root: Path, session_cache: Path) -> dict:
    pipe = Pipeline(load_settings(data_root, session_cache))
    return {"single": pipe.results(get_experiment("mnist-1layer")),
            "two": pipe.results(get_experiment("mnist-2layer")),
            "test": pipe.data("mnist").test,
            "facts": json.loads((built_site / "assets/data/manifest.json").read_text())["facts"]}


def _csv(built_site: Path, name: str) -> tuple[dict[str, int], list[list[str]]]:
    with open(built_site / "figures" / f"{name}.csv", newline="") as f:
        rows = list(csv.reader(f))
    return {h: k for k, h in enumerate(rows[0])}, rows[1:]


def test_site_single_layer_data_against_the_stored_probabilities(built_site: Path,
                                                                 real: dict) -> None:
    """The published numbers: each product map sums, with the bias, to the score a
    direct loop computes; and the scores' softmax is what training stored for this
    test image (torch, float32)."""
    single = real["single"]
    col, rows = _csv(built_site, "mnist-trace-single")
    i = int(rows[0][col["test_index"]])
    assert i == real["facts"]["trace.index"]["value"]
    assert real["test"].labels[i] == analysis.TRACED_DIGIT
    x = real["test"].images[i].reshape(-1) / 255.0
    z = _loop_scores(single.weights[0], single.biases[0], x)
    got = np.zeros(10)
    for row in rows[:10]:
        c = int(row[col["class"]])
        products = np.array(row[col["r0c0"]:], dtype=float)
        # The file keeps 6 significant digits per number.
        np.testing.assert_allclose(products, single.weights[0][c] * x, rtol=1e-5, atol=1e-9)
        got[c] = float(row[col["score"]])
        assert products.sum() + float(row[col["bias"]]) == pytest.approx(z[c], abs=1e-4)
    np.testing.assert_allclose(got, z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_softmax(z), single.test_probs[i], rtol=0, atol=STORED_TOL)
    np.testing.assert_allclose(real["facts"]["trace.single.scores"]["value"], z, atol=1e-9)
    # Both networks read it right, as the rule says (the real data always have such 2s).
    assert single.predictions[i] == real["two"].predictions[i] == analysis.TRACED_DIGIT


def test_site_two_layer_data_against_the_stored_activations(built_site: Path,
                                                            real: dict) -> None:
    two = real["two"]
    col, rows = _csv(built_site, "mnist-trace-hidden")
    i = int(rows[0][col["test_index"]])
    h = np.array([float(r[col["h"]]) for r in rows if r[col["row"]].startswith("unit")])
    assert two.hidden is not None
    np.testing.assert_allclose(h, two.hidden[i], rtol=0, atol=STORED_TOL)
    p = np.array([float(r[col["probability"]]) for r in rows if r[col["row"]].startswith("class")])
    np.testing.assert_allclose(p, two.test_probs[i], rtol=0, atol=STORED_TOL)


def test_site_trace_facts_and_chapters(built_site: Path, real: dict) -> None:
    f = real["facts"]
    _check_stories(f)
    weights = (built_site / "weights" / "index.html").read_text()
    more_blue = f["trace.single.second.blue"]["value"] < f["trace.single.first.blue"]["value"]
    assert ("被蓝色抵消掉的比第一名那幅更多" in weights) == more_blue
    assert ("得分比第一名少了" in weights) == (not more_blue)
    plain = re.sub(r"<[^>]+>", "", weights)
    assert f["trace.single.story"]["text"] in plain
    hidden = re.sub(r"<[^>]+>", "", (built_site / "hidden" / "index.html").read_text())
    for key in ("trace.hidden.story", "trace.hidden.up", "trace.hidden.down"):
        assert f[key]["text"] in hidden
    for name in FIGURES:  # the captions name the traced digit
        assert f"的 {analysis.TRACED_DIGIT} 里" in get_figure(name).caption or \
            f"同一张 {analysis.TRACED_DIGIT}" in get_figure(name).caption
