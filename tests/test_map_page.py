"""The map of representations on the built site: its data and facts against an
independent computation from the cached results (numpy's SVD, an exhaustive neighbour
search, torch's convnet), the chapter's sentences against the verdicts, and the
interactive page in Debian's Chromium: hovering within a frame, a confusion cell, a
drawn digit placed where Python places it, keyboard, a phone's tap.

Tolerances, and why:
- A point's place in the export is a 16-bit step of its map's extent: within half a
  step (``span / 65,535 / 2``) of the float64 reference.
- A digit drawn on the page is placed in float64 from float32 weights, means and axes
  (as exported): within 1e-4 of the map's extent of the reference (float32 carries 7
  digits; a placement sums at most 784 products).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_a11y import PHONE, _tab_through
from test_browser import Tab, _canvas_rgba, _stroke_points
from test_maps import ref_pca, ref_sample, torch_features
from test_site import FACT_SPAN, body_text_without_facts, manifest, page

from looking_inside.config import get_experiment, load_settings, seeds_of
from looking_inside.products import exports
from looking_inside.products import representations as reps
from looking_inside.training.pipeline import Pipeline

import digits
from helpers import mcnemar_exact

MAP = "/interactive/representation-map/"
DATA = "assets/data"
DATA_BUDGET = 500_000  # bytes: the page's data, JSON and sprite
FRAME_MS = 16.0  # one frame at 60 Hz: a hover's script must fit in it


@pytest.fixture(scope="module")
def pipeline(built_site: Path, data_root: Path, session_cache: Path) -> Pipeline:
    return Pipeline(load_settings(data_root, session_cache))


@pytest.fixture(scope="module")
def doc(built_site: Path) -> dict[str, Any]:
    return json.loads((built_site / DATA / "representation-map.json").read_text())


@pytest.fixture(scope="module")
def reference(pipeline: Pipeline) -> dict[str, Any]:
    """Every run's representation of the sampled digits, computed here: the pixels,
    the hidden activations training recorded, torch's convnet features."""
    test = pipeline.data("mnist").test
    idx = ref_sample(test.labels)
    x = test.images[idx].reshape(len(idx), -1) / 255.0
    feats: dict[str, dict[str, np.ndarray]] = {reps.RAW: {reps.RAW: x}}
    feats["mnist-2layer"] = {r: pipeline.results(get_experiment(r)).hidden[idx].astype(float)
                             for r in seeds_of("mnist-2layer")}
    feats["mnist-conv"] = {}
    for r in seeds_of("mnist-conv"):
        res = pipeline.results(get_experiment(r))
        feats["mnist-conv"][r] = torch_features(r, res.weights[:2], res.biases[:2], x)
    return {"index": idx, "labels": test.labels[idx], "images": test.images[idx], "x": x,
            "features": feats}


def _decode(b64: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=dtype)


def _coords(m: dict[str, Any]) -> np.ndarray:
    q = _decode(m["coords"], "<u2").reshape(-1, 2).astype(float)
    lo, hi = np.array(m["lo"]), np.array(m["hi"])
    return lo + q / m["steps"] * (hi - lo)


def _exhaustive_correct(coords: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Every distance, rows sorted stably (equal distances by index), the vote."""
    d = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nb = np.argsort(d, axis=1, kind="stable")[:, :k]
    out = []
    for i, row in enumerate(labels[nb]):
        counts = np.bincount(row, minlength=10)
        tied = set(np.flatnonzero(counts == counts.max()).tolist())
        out.append(next(int(v) for v in row if v in tied) == labels[i])
    return np.array(out)


# --- the data --------------------------------------------------------------------------

def test_export_is_the_independent_map(built_site: Path, doc: dict[str, Any],
                                       reference: dict[str, Any], pipeline: Pipeline) -> None:
    idx, labels = reference["index"], reference["labels"]
    assert doc["index"] == idx.tolist() and doc["label"] == labels.tolist()
    assert doc["n"] == len(idx) and doc["k"] == reps.K
    for name in ("mnist-2layer", "mnist-conv"):
        res = pipeline.results(get_experiment(name))
        probs = res.test_probs[idx]
        assert doc["answers"][name]["predicted"] == probs.argmax(1).tolist()
        np.testing.assert_allclose(np.array(doc["answers"][name]["confidence"]) / 1000,
                                   probs.max(1), atol=0.5e-3 + 1e-7)
        layers = doc["networks"][name]["layers"]
        for layer, w, b in zip(layers, res.weights, res.biases, strict=False):
            assert layer["shape"] == list(w.shape)
            assert np.array_equal(_decode(layer["weight"], "<f4").reshape(w.shape), w)
            assert np.array_equal(_decode(layer["bias"], "<f4"), b)
        assert len(layers) == (2 if name == "mnist-conv" else 1)
    assert [m["kind"] for m in doc["maps"]] == list(reps.KINDS)
    for m in doc["maps"]:
        f = reference["features"][m["kind"]][m["kind"]]
        coords, kept = ref_pca(f)
        span = np.array(m["hi"]) - np.array(m["lo"])
        assert np.all(np.abs(_coords(m) - coords) <= span / m["steps"] / 2 + 1e-9 * span), \
            m["kind"]
        assert m["dims"] == f.shape[1] and m["kept"] == pytest.approx(kept, abs=1e-4)
        mean, axes = _decode(m["mean"], "<f4"), _decode(m["axes"], "<f4").reshape(2, -1)
        np.testing.assert_allclose(mean, f.mean(0), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose((f - mean) @ axes.T, coords, atol=1e-5 * span.max())
    # The sprite: every digit, exactly, in the order of the points.
    from PIL import Image

    s = doc["sprite"]
    sheet = np.asarray(Image.open(built_site / DATA / s["file"]))
    t = s["tile"]
    for j in range(doc["n"]):
        r, c = divmod(j, s["columns"])
        assert np.array_equal(sheet[r * t:(r + 1) * t, c * t:(c + 1) * t],
                              reference["images"][j]), j
    size = sum((built_site / DATA / f).stat().st_size
               for f in ("representation-map.json", s["file"]))
    assert size <= DATA_BUDGET, f"the map's data is {size:,} bytes"



def test_map_facts_hold_for_the_manifest(built_site: Path,
                                         reference: dict[str, Any]) -> None:
    """Every map's vote, recomputed here from the results; every comparison's verdict
    re-derived from its runs' shares and paired counts (which must agree with the
    shares), its word, phrase and printed gap."""
    facts = manifest(built_site)["facts"]
    labels = reference["labels"]
    shares: dict[str, dict[str, float]] = {}
    for kind, runs in reference["features"].items():
        shares[kind] = {run: float(_exhaustive_correct(ref_pca(f)[0], labels, reps.K).mean())
                        for run, f in runs.items()}
        mean = float(np.mean(list(shares[kind].values())))
        assert facts[f"maps.{kind}.knn"]["value"] == pytest.approx(mean, abs=1e-9)
        assert facts[f"maps.{kind}.knn"]["text"] == f"{100 * mean:.1f}%"
    comparisons = {n: f["value"] for n, f in facts.items()
                   if n.startswith("maps.cmp.") and isinstance(f["value"], dict)}
    assert len(comparisons) == 3
    word = {"higher": "高", "lower": "低", "noise": "持平"}
    for name, c in comparisons.items():
        a, b = (c[k].split(".")[1] for k in ("a", "b"))
        assert c["acc_a"] == pytest.approx([shares[a][r] for r in c["runs_a"]], abs=1e-9)
        assert c["acc_b"] == pytest.approx(list({r: shares[b][r] for r in c["runs_b"]}
                                                .values()), abs=1e-9)
        n = c["n"]
        acc_b = dict(zip(c["runs_b"], [shares[b][r] for r in c["runs_b"]], strict=True))
        sig = []
        for (only_a, only_b), ra, rb in zip(c["pairs"], c["runs_a"], c["runs_b"], strict=True):
            assert abs((only_a - only_b) - n * (shares[a][ra] - acc_b[rb])) < 0.5, name
            sig.append((mcnemar_exact(only_a, only_b) < Fraction(5, 100), only_a - only_b))
        lo_a, hi_a = min(c["acc_a"]), max(c["acc_a"])
        lo_b, hi_b = min(c["acc_b"]), max(c["acc_b"])
        if lo_a > hi_b and all(s and d > 0 for s, d in sig):
            want = "higher"
        elif hi_a < lo_b and all(s and d < 0 for s, d in sig):
            want = "lower"
        else:
            want = "noise"
        assert c["verdict"] == want, name
        assert facts[name]["text"] == word[want]
        shown = [float(facts[c[k]]["text"].rstrip("%")) for k in ("a", "b")]
        gap = f"{abs(shown[0] - shown[1]):.1f}"
        phrase = facts[f"{name}.phrase"]["text"]
        assert phrase.startswith({"higher": "高出", "lower": "低了", "noise": "相差"}[want])
        assert f" {gap} 个百分点" in phrase and ("在噪声之内" in phrase) == (want == "noise")


def test_the_map_sentences_follow_the_verdicts(built_site: Path) -> None:
    facts = manifest(built_site)["facts"]
    html = page(built_site, "features")
    text = body_text_without_facts(html)

    def v(name: str) -> str:
        return facts[name]["value"]["verdict"]

    hid, conv = v("maps.cmp.mnist-2layer-vs-pixels"), v("maps.cmp.mnist-conv-vs-pixels")
    both = v("maps.cmp.mnist-conv-vs-mnist-2layer")
    said = {
        "两个网络的隐藏层都把同一个数字的图像拉得更近了": hid == conv == "higher",
        "只有双层网络的隐藏层在地图上超出噪声地": hid == "higher" != conv,
        "只有卷积网络的隐藏层在地图上超出噪声地": conv == "higher" != hid,
        "两个网络的隐藏层都没有超出噪声地比像素分得更开": "higher" not in (hid, conv),
        "这并不说明卷积网络的表示更差": both != "higher" and
        v("cmp.mnist.conv-vs-2layer") == "higher",
        "平面地图只是一个影子": both != "higher" and
        facts["maps.mnist-conv.kept"]["value"] < facts["maps.mnist-2layer.kept"]["value"],
    }
    assert {words: words in text for words in said} == said
    quoted = {n for n, _ in FACT_SPAN.findall(html)}
    for name in ("mnist-2layer", "mnist-conv"):  # a mean over seeds comes with its range
        assert f"maps.{name}.knn" in quoted and f"maps.{name}.knn_runs" in quoted
    for n, shown in FACT_SPAN.findall(html):
        if n.startswith("maps."):
            assert shown == facts[n]["text"]


# --- in the browser -------------------------------------------------------------------------

@pytest.fixture
def tab(browser: Any, server: str) -> Iterator[Tab]:
    t = Tab(browser, server, viewport={"width": 1280, "height": 1000})
    yield t
    t.close()


def _open(t: Tab) -> Any:
    page_ = t.open(MAP, None)
    page_.locator(".li-map").scroll_into_view_if_needed()
    page_.wait_for_selector(".li-map[data-state=ready]", state="attached")
    assert page_.locator(".li-map .li-fallback").is_hidden()
    page_.locator(".li-map-canvas").scroll_into_view_if_needed()
    return page_


def test_hovering_shows_the_digit_and_both_answers_within_a_frame(
        tab: Tab, doc: dict[str, Any]) -> None:
    p = _open(tab)
    box = p.locator(".li-map-canvas").bounding_box()
    screen = p.evaluate("[...window.__map.explorer.screen]")
    rng = np.random.default_rng(0)
    for j in rng.choice(doc["n"], 25, replace=False).tolist():
        x, y = p.evaluate("j => window.__map.point(j)", j)
        p.mouse.move(x, y)
        hovered = int(p.locator(".li-map").get_attribute("data-hovered"))
        # The pointer is on point j: the one picked is j, or one drawn at the same place.
        assert math.dist(screen[2 * hovered:2 * hovered + 2], screen[2 * j:2 * j + 2]) < 0.5
        tip = p.locator(".li-map-tip")
        assert tip.is_visible()
        text = tip.inner_text()
        assert f"真实数字 {doc['label'][hovered]}" in text
        for name, who in (("mnist-2layer", "双层网络"), ("mnist-conv", "卷积网络")):
            a = doc["answers"][name]
            assert f"{who}：{a['predicted'][hovered]}（{a['confidence'][hovered] / 10:.1f}%）" \
                in text
        # The tooltip's picture is that digit's tile from the sprite (fetched when the
        # pointer first came to the map): it has ink.
        p.wait_for_selector(".li-map[data-sprite=ready]", state="attached")
        assert p.evaluate("""() => { const c = document.querySelector('.li-map-tip canvas');
          return c.getContext('2d').getImageData(0, 0, 28, 28).data
            .reduce((s, v, i) => s + (i % 4 === 3 ? 0 : v), 0); }""") > 0
    # Sweep the whole map: every hover's script within one frame.
    p.evaluate("window.__map.hoverMs.length = 0")
    for k in range(300):
        u, v = (k % 20) / 19, (k // 20) / 14
        p.mouse.move(box["x"] + 5 + u * (box["width"] - 10),
                     box["y"] + 5 + v * (box["height"] - 10))
    times = p.evaluate("[...window.__map.hoverMs]")
    assert len(times) >= 300
    print(f"hover script: median {np.median(times):.3f} ms, max {max(times):.3f} ms")
    assert max(times) <= FRAME_MS
    p.mouse.move(box["x"] - 20, box["y"] - 20)
    assert p.locator(".li-map-tip").is_hidden()


def _counts(doc: dict[str, Any], net: str) -> np.ndarray:
    c = np.zeros((10, 10), int)
    np.add.at(c, (np.array(doc["label"]), np.array(doc["answers"][net]["predicted"])), 1)
    return c


def test_a_confusion_cell_lights_its_points(tab: Tab, doc: dict[str, Any]) -> None:
    p = _open(tab)
    root = p.locator(".li-map")
    for net in ("mnist-2layer", "mnist-conv"):
        p.locator(f"button[data-net='{net}']").click()
        counts = _counts(doc, net)
        labels = p.locator(".li-map-matrix .li-ex-cell").evaluate_all(
            "cs => cs.map(c => c.getAttribute('aria-label'))")
        assert labels == [f"真实 {k // 10}，认成 {k % 10}：{counts[k // 10, k % 10]} 张"
                          for k in range(100)]
        off = counts - np.diag(np.diag(counts))
        a, q = divmod(int(off.argmax()), 10)
        members = [j for j in range(doc["n"]) if doc["label"][j] == a
                   and doc["answers"][net]["predicted"][j] == q]
        cell = p.locator(f".li-map-matrix .li-ex-cell[data-actual='{a}'][data-predicted='{q}']")
        cell.click()
        assert root.get_attribute("data-cell") == f"{a},{q}"
        assert cell.get_attribute("aria-pressed") == "true"
        lit = p.evaluate("[...window.__map.explorer.lit].flatMap((v, j) => v ? [j] : [])")
        assert lit == members
        assert f"的 {len(members)} 张图" in p.locator(".li-map-cell-note").inner_text()
        # The keyboard walks among the lit points only.
        p.locator(".li-map-canvas").focus()
        for key in ("ArrowRight", "ArrowDown", "ArrowLeft"):
            p.keyboard.press(key)
            assert int(root.get_attribute("data-chosen")) in members
        detail = p.locator(".li-map-detail").inner_text()
        chosen = int(root.get_attribute("data-chosen"))
        assert f"测试图 #{doc['index'][chosen]}：真实数字 {a}" in detail
        # Choosing the cell again, or 显示全部点, lights every point again.
        cell.click()
        assert root.get_attribute("data-cell") == ""
        cell.click()
        p.get_by_role("button", name="显示全部点").click()
        assert root.get_attribute("data-cell") == ""
        assert p.evaluate("window.__map.explorer.lit") is None


def _place(doc: dict[str, Any], reference: dict[str, Any], pipeline: Pipeline,
           x: np.ndarray) -> dict[str, np.ndarray]:
    """Where Python places input ``x`` (784,) on each map: the representation computed
    here (the hidden layer from the trained weights, the convnet by torch), then the
    reference PCA's mean and axes."""
    r2 = pipeline.results(get_experiment("mnist-2layer"))
    rc = pipeline.results(get_experiment("mnist-conv"))
    z = r2.weights[0].astype(float) @ x + r2.biases[0]
    f = {reps.RAW: x, "mnist-2layer": 1 / (1 + np.exp(-z)),
         "mnist-conv": torch_features("mnist-conv", rc.weights[:2], rc.biases[:2], x[None])[0]}
    out = {}
    for kind, feat in f.items():
        data = reference["features"][kind][kind]
        c = data - data.mean(0)
        _, _, vt = np.linalg.svd(c, full_matrices=False)
        axes = vt[:2] * np.sign(vt[:2][np.arange(2), np.abs(vt[:2]).argmax(1)])[:, None]
        out[kind] = (feat - data.mean(0)) @ axes.T
    return out


def _drawn(p: Any) -> np.ndarray:
    p.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
    value = p.locator(".li-map").get_attribute("data-drawn")
    assert value, "nothing placed"
    return np.array([float(v) for v in value.split(",")])


def test_a_drawn_digit_lands_where_python_places_it(tab: Tab, doc: dict[str, Any],
                                                    reference: dict[str, Any],
                                                    pipeline: Pipeline) -> None:
    p = _open(tab)
    spans = {m["kind"]: float(np.max(np.array(m["hi"]) - np.array(m["lo"])))
             for m in doc["maps"]}
    exported = {m["kind"]: _coords(m) for m in doc["maps"]}
    # A test digit on the pad comes back as itself (the MNIST recipe), so it lands on
    # its own point on every map.
    for j in (0, 777, doc["n"] - 1):
        p.evaluate("px => window.__map.pad.paintDigit(px)",
                   reference["images"][j].reshape(-1).tolist())
        for kind in reps.KINDS:
            p.locator(f"button[data-map='{kind}']").click()
            assert np.abs(_drawn(p) - exported[kind][j]).max() <= 1e-4 * spans[kind], (j, kind)
    # A 7 drawn with the mouse: its 28x28 input is digits.py's, and every map places it
    # where Python does.
    box = p.locator(".li-pad-canvas").bounding_box()
    p.locator(".li-pad-tools .li-clear").click()
    assert p.locator(".li-map").get_attribute("data-drawn") == ""
    for stroke in _stroke_points("7"):
        pts = [(box["x"] + u * box["width"], box["y"] + v * box["height"]) for u, v in stroke]
        p.mouse.move(*pts[0])
        p.mouse.down()
        for pt in pts[1:]:
            p.mouse.move(*pt)
        p.mouse.up()
    # The pad places the drawing once it has taken the strokes in: on a busy machine that
    # is later than the next frame.
    p.wait_for_function("() => document.querySelector('.li-map').getAttribute('data-drawn')")
    x = digits.mnist_like(digits.ink_from_rgba(_canvas_rgba(p))).reshape(-1)
    assert x.any()
    np.testing.assert_allclose(p.evaluate("Array.from(window.__map.pad.input())"), x, atol=1e-9)
    want = _place(doc, reference, pipeline, x)
    for kind in reps.KINDS:
        p.locator(f"button[data-map='{kind}']").click()
        got = _drawn(p)
        assert np.abs(got - want[kind]).max() <= 1e-4 * spans[kind], kind
        # The note names the votes of its nearest points on that map.
        d = ((exported[kind] - got) ** 2).sum(1)
        near = np.array(doc["label"])[np.argsort(d, kind="stable")[:doc["k"]]]
        note = p.locator(".li-map-drawn").inner_text()
        for digit in set(near.tolist()):
            assert f"{int((near == digit).sum())} 个是 {digit}" in note, (kind, note)


def test_the_map_by_keyboard_and_screen_reader(tab: Tab, doc: dict[str, Any]) -> None:
    p = _open(tab)
    stops = _tab_through(p)
    for want in ("mnist-2layer", "mnist-conv", "li-map-canvas", "li-pad-canvas", "li-clear"):
        assert want in stops, f"Tab never reaches {want}: {stops}"
    assert stops.count("li-map-pick") == len(reps.KINDS), stops
    assert stops.count("li-ex-cell") == 1, stops  # one stop for the matrix, arrows inside
    live = p.locator(".li-map-detail")
    assert live.get_attribute("aria-live") == "polite"
    p.locator(".li-map-canvas").focus()
    p.keyboard.press("ArrowUp")
    chosen = int(p.locator(".li-map").get_attribute("data-chosen"))
    text = live.inner_text()
    assert f"测试图 #{doc['index'][chosen]}：真实数字 {doc['label'][chosen]}" in text
    assert "离它最近的 5 个点" in text
    p.keyboard.press("Escape")
    assert p.locator(".li-map").get_attribute("data-chosen") == ""
    # The matrix: arrows move the focus, Enter chooses.
    p.locator(".li-map-matrix .li-ex-cell[tabindex='0']").focus()
    p.keyboard.press("ArrowDown")
    p.keyboard.press("ArrowRight")
    p.keyboard.press("Enter")
    assert p.locator(".li-map").get_attribute("data-cell") == "1,1"
    assert p.locator(".li-map-drawn").get_attribute("aria-live") == "polite"


def test_a_tap_on_a_phone_chooses_a_point(browser: Any, server: str,
                                          doc: dict[str, Any]) -> None:
    t = Tab(browser, server, **PHONE)
    try:
        p = _open(t)
        assert p.evaluate("document.documentElement.scrollWidth") <= 390
        j = 123
        p.locator(".li-map-canvas").scroll_into_view_if_needed()
        x, y = p.evaluate("j => window.__map.point(j)", j)
        p.touchscreen.tap(x, y)
        chosen = int(p.locator(".li-map").get_attribute("data-chosen"))
        screen = p.evaluate("[...window.__map.explorer.screen]")
        assert math.dist(screen[2 * chosen:2 * chosen + 2], screen[2 * j:2 * j + 2]) < 1
        assert f"测试图 #{doc['index'][chosen]}" in p.locator(".li-map-detail").inner_text()
    finally:
        t.close()


def test_the_static_map_without_javascript(browser: Any, server: str) -> None:
    t = Tab(browser, server, java_script_enabled=False)
    try:
        p = t.open(MAP, None)
        fig = p.locator("#fig-representation-maps")
        fig.scroll_into_view_if_needed()
        assert fig.is_visible()
        assert p.locator(".li-map-ui").count() == 0
    finally:
        t.close()


def test_export_key_covers_what_it_reads() -> None:
    """Unit-sized, but here with its page: the export declares the networks it reads."""
    p = next(e for e in exports.exports() if e.name == "representation-map")
    assert set(p.experiments) == {"mnist-2layer", "mnist-conv"} and p.datasets == ("mnist",)
