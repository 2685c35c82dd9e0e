"""The interactive pages in a real browser: Debian's headless Chromium, driven by
Playwright, on the site `mkdocs build --strict` made from the real data.

Every request that is not to the local test server is aborted (the network is "cut
off"), and the tests check the pages never needed one.

Tolerances, and why:
- The 28x28 input: the page and ``looking_inside.digits`` run the same float64
  arithmetic on the same canvas pixels; only the order of a few sums differs (at
  most ~400 terms, each <= 1), so they agree to ~1e-13. ``INPUT_TOL = 1e-9`` leaves
  room for that and is still 4 million times smaller than one grey level (1/255):
  any real difference (a pixel of shift, another filter) fails by >= 4e-3.
- Scores against the exported weights: the same arithmetic again, ``SCORE_TOL``.
- Scores against the cached float32 model: the export keeps 5 significant digits,
  relative error <= 5e-5 per number, so |dz| <= 5e-5 (|b| + sum |w x|); checked per
  class, and the predicted class must agree whenever the top two scores are further
  apart than twice that bound (asserted for every input used here).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from looking_inside.config import get_experiment, load_settings
from looking_inside.products import exports
from looking_inside.training.pipeline import Pipeline

import digits

INPUT_TOL = 1e-9
SCORE_TOL = 1e-9
ROUNDING = 0.5 * 10 ** (1 - exports.WEIGHT_DIGITS)  # relative error of the export
EXPLORER = "/interactive/confusion-explorer/"
DRAW = "/interactive/draw-digit/"


# --- the server, the browser, a page ---------------------------------------------------

class Tab:
    """A page with the network cut off, recording what it tried to reach."""

    def __init__(self, browser: Any, server: str, **context: Any) -> None:
        self.server = server
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page.route(lambda url: not url.startswith(server + "/"), self._block)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.set_default_timeout(15_000)

    def _block(self, route: Any) -> None:
        self.blocked.append(route.request.url)
        route.abort("internetdisconnected")

    def open(self, path: str, ready: str | None) -> Any:
        self.page.goto(self.server + path)
        if ready:
            self.page.wait_for_selector(f"{ready}[data-state=ready]", state="attached")
        return self.page

    def close(self) -> None:
        assert not self.errors, f"JavaScript errors: {self.errors}"
        outside = list(self.blocked)
        assert not outside, f"the page tried to reach the network: {outside}"
        self.context.close()


@pytest.fixture
def tab(browser: Any, server: str) -> Iterator[Tab]:
    t = Tab(browser, server, viewport={"width": 1280, "height": 900})
    yield t
    t.close()


def _site_json(built_site: Path, name: str) -> dict[str, Any]:
    return json.loads((built_site / "assets" / "data" / name).read_text())


# --- confusion-matrix explorer ------------------------------------------------------------

def _panel(explorer: Any) -> tuple[list[int], str]:
    thumbs = explorer.locator(".li-ex-panel .li-thumb")
    indices = [int(v) for v in thumbs.evaluate_all("ts => ts.map(t => t.dataset.index)")]
    return indices, explorer.locator(".li-ex-summary").inner_text()


@pytest.mark.parametrize(("prefix", "export", "nth"), [("mnist", "confusion-mnist", 0),
                                                     ("cifar", "confusion-cifar", 1)])
def test_explorer_shows_the_cell_from_the_manifest(tab: Tab, built_site: Path, prefix: str,
                                                   export: str, nth: int) -> None:
    facts = _site_json(built_site, "manifest.json")["facts"]
    a = facts[f"{prefix}.confusion.actual"]["value"]
    p = facts[f"{prefix}.confusion.predicted"]["value"]
    count = facts[f"{prefix}.confusion.count"]["value"]
    doc = _site_json(built_site, f"{export}.json")
    cap = doc["cap"]
    page = tab.open(EXPLORER, None)
    explorer = page.locator(".li-explorer").nth(nth)
    explorer.scroll_into_view_if_needed()  # data loads as the explorer nears the viewport
    page.wait_for_function("n => document.querySelectorAll('.li-explorer')[n].dataset.state"
                           " === 'ready'", arg=nth)
    assert explorer.locator(".li-fallback").is_hidden()
    # Move away first, so the hover below is what fills the panel.
    explorer.locator(f".li-ex-cell[data-actual='{a}'][data-predicted='{(p + 1) % 10}']").hover()
    explorer.locator(f".li-ex-cell[data-actual='{a}'][data-predicted='{p}']").hover()
    indices, summary = _panel(explorer)
    assert len(indices) == min(count, cap)
    assert indices == doc["cells"][a * 10 + p]["index"]
    if count > cap:
        assert f"显示前 {cap} 张，共 {count} 张" in summary
    else:
        assert f"共 {count} 张，全部显示" in summary


def test_explorer_every_kind_of_cell(tab: Tab, built_site: Path) -> None:
    doc = _site_json(built_site, "confusion-mnist.json")
    counts = np.array(doc["counts"])
    page = tab.open(EXPLORER, ".li-explorer")
    explorer = page.locator(".li-explorer").first
    small = [(int(a), int(p)) for a, p in zip(*np.nonzero((counts > 0) & (counts < doc["cap"])),
                                              strict=True)][0]
    empty = [(int(a), int(p)) for a, p in zip(*np.nonzero(counts == 0), strict=True)][0]
    diagonal = (0, 0)
    for a, p in (small, empty, diagonal):
        explorer.locator(f".li-ex-cell[data-actual='{a}'][data-predicted='{p}']").click()
        indices, summary = _panel(explorer)
        assert len(indices) == min(int(counts[a, p]), doc["cap"]), (a, p)
        if counts[a, p] == 0:
            assert "空" in summary
    # Tapping pins a cell: moving the mouse off the matrix brings it back.
    page.mouse.move(5, 5)
    assert explorer.get_attribute("data-cell") == "0,0"


def test_explorer_toggle_counts_and_samples(tab: Tab) -> None:
    page = tab.open(EXPLORER, ".li-explorer")
    explorer = page.locator(".li-explorer").first
    counts = explorer.get_by_role("button", name="数量", exact=True)
    samples = explorer.get_by_role("button", name="最有把握的样本")
    cell = explorer.locator(".li-ex-cell.li-ex-diag").first
    assert counts.get_attribute("aria-pressed") == "true"
    assert cell.locator(".li-ex-count").is_visible() and cell.locator("canvas").is_hidden()
    samples.click()
    assert samples.get_attribute("aria-pressed") == "true"
    assert counts.get_attribute("aria-pressed") == "false"
    assert cell.locator("canvas").is_visible()
    # The tile drawn in the cell has ink: the sprite really loaded.
    ink = cell.locator("canvas").evaluate(
        "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
        ".reduce((s, v, i) => s + (i % 4 === 3 ? 0 : v), 0)")
    assert ink > 0
    counts.click()
    assert cell.locator(".li-ex-count").is_visible()


def test_explorer_keyboard(tab: Tab, built_site: Path) -> None:
    doc = _site_json(built_site, "confusion-mnist.json")
    a, p = doc["largest"]
    page = tab.open(EXPLORER, ".li-explorer")
    explorer = page.locator(".li-explorer").first
    explorer.get_by_role("button", name="最有把握的样本").focus()
    page.keyboard.press("Tab")  # roving tabindex: Tab lands on the selected cell
    focused = page.evaluate("[document.activeElement.dataset.actual,"
                            " document.activeElement.dataset.predicted]")
    assert focused == [str(a), str(p)]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowLeft")
    want = (min(a + 1, 9), max(p - 1, 0))
    assert explorer.get_attribute("data-cell") == f"{want[0]},{want[1]}"
    indices, _ = _panel(explorer)
    assert indices == doc["cells"][want[0] * 10 + want[1]]["index"]
    page.keyboard.press("Home")
    assert explorer.get_attribute("data-cell") == f"{want[0]},0"
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert label.startswith(f"实际 {want[0]}，预测 0")


# --- draw a digit ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(built_site: Path, data_root: Path, session_cache: Path) -> dict[str, Any]:
    """Exported weights, the cached model's own weights, and the MNIST test set."""
    pipe = Pipeline(load_settings(data_root, session_cache))
    res = pipe.results(get_experiment("mnist-1layer"))
    doc = _site_json(built_site, "mnist-1layer-weights.json")
    return {"w": np.array(doc["weights"]), "b": np.array(doc["biases"]),
            "model_w": res.weights[0], "model_b": res.biases[0],
            "test": pipe.data("mnist").test, "predictions": res.predictions}


def _canvas_rgba(page: Any) -> np.ndarray:
    """The pad's pixels exactly as the page reads them (base64: 300k numbers as JSON
    would take a second per call)."""
    data = page.evaluate("""() => {
        const c = document.querySelector('.li-pad-canvas');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = '';
        for (let i = 0; i < px.length; i += 8192) {
            s += String.fromCharCode.apply(null, px.subarray(i, i + 8192));
        }
        return btoa(s);
    }""")
    return np.frombuffer(base64.b64decode(data), dtype=np.uint8).reshape(280, 280, 4)


def _check_against_python(page: Any, ref: dict[str, Any]) -> tuple[np.ndarray, int]:
    """The page's input and scores equal digits.py's on the very same canvas pixels."""
    page.wait_for_function("window.__digitPredicted !== null")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")  # last update
    x_py = digits.mnist_like(digits.ink_from_rgba(_canvas_rgba(page)))
    x_js = np.array(page.evaluate("window.__digitInput")).reshape(28, 28)
    assert x_py.any(), "nothing was drawn"
    np.testing.assert_allclose(x_js, x_py, rtol=0, atol=INPUT_TOL)

    z_js = np.array(page.evaluate("window.__digitScores"))
    predicted = page.evaluate("window.__digitPredicted")
    z_py = digits.scores(ref["w"], ref["b"], x_py)
    np.testing.assert_allclose(z_js, z_py, rtol=0, atol=SCORE_TOL)
    assert predicted == int(np.argmax(z_py))
    assert page.locator(".li-draw").get_attribute("data-predicted") == str(predicted)

    z_model = digits.scores(ref["model_w"], ref["model_b"], x_py)
    bound = ROUNDING * (np.abs(ref["model_b"]) + np.abs(ref["model_w"] * x_py.reshape(-1)).sum(1))
    assert np.all(np.abs(z_js - z_model) <= bound + SCORE_TOL)
    top2 = np.sort(z_model)[-2:]
    assert top2[1] - top2[0] > 2 * bound.max(), "too close to call with rounded weights"
    assert predicted == int(np.argmax(z_model))
    return x_py, predicted


def _open_draw(tab: Tab) -> Any:
    page = tab.open(DRAW, ".li-draw")
    page.locator(".li-pad-canvas").scroll_into_view_if_needed()
    assert page.locator(".li-draw .li-fallback").is_hidden()
    assert page.evaluate("window.__digitPredicted") is None  # blank to start
    return page


def test_painted_mnist_digits_match_python(tab: Tab, reference: dict[str, Any]) -> None:
    page = _open_draw(tab)
    test = reference["test"]
    # Some digits the model reads right, and some it gets wrong.
    wrong = np.flatnonzero(reference["predictions"] != test.labels)[:3]
    for i in [0, 1, 2, 3, 4, 7, 11, *wrong.tolist()]:
        page.evaluate("px => window.__digitPad.paintDigit(px)",
                      test.images[i].reshape(-1).tolist())
        x, predicted = _check_against_python(page, reference)
        # MNIST's digits went through this recipe: an upscaled one comes back as it was,
        # and the page agrees with the trained model's own prediction on it.
        np.testing.assert_allclose(x, test.images[i] / 255.0, atol=INPUT_TOL)
        assert predicted == reference["predictions"][i], f"test image {i}"


def _stroke_points(shape: str) -> list[list[tuple[float, float]]]:
    """Strokes in pad fractions (0-1) for a few digits, sampled densely."""
    Point = tuple[float, float]

    def seg(a: Point, b: Point, n: int = 12) -> list[Point]:
        return [(a[0] + (b[0] - a[0]) * t / n, a[1] + (b[1] - a[1]) * t / n) for t in range(n + 1)]

    if shape == "7":
        return [seg((0.25, 0.2), (0.75, 0.2)) + seg((0.75, 0.2), (0.42, 0.85))[1:]]
    if shape == "1":
        return [seg((0.5, 0.15), (0.5, 0.85))]
    if shape == "0":
        t = np.linspace(0, 2 * np.pi, 40)
        return [list(zip(0.5 + 0.22 * np.sin(t), 0.5 - 0.32 * np.cos(t), strict=True))]
    raise ValueError(shape)


def _record_pointer_types(page: Any) -> None:
    page.evaluate("""() => { window.__types = [];
        document.querySelector('.li-pad-canvas').addEventListener('pointerdown',
            e => window.__types.push(e.pointerType)); }""")


def _pad_box(page: Any) -> dict[str, float]:
    box = page.locator(".li-pad-canvas").bounding_box()
    assert box is not None
    return box


@pytest.mark.parametrize("shape", ["7", "1", "0"])
def test_mouse_strokes_match_python(tab: Tab, reference: dict[str, Any], shape: str) -> None:
    page = _open_draw(tab)
    _record_pointer_types(page)
    box = _pad_box(page)
    for stroke in _stroke_points(shape):
        xs = [(box["x"] + u * box["width"], box["y"] + v * box["height"]) for u, v in stroke]
        page.mouse.move(*xs[0])
        page.mouse.down()
        for pt in xs[1:]:
            page.mouse.move(*pt)
        page.mouse.up()
    _, predicted = _check_against_python(page, reference)
    assert page.evaluate("window.__types") == ["mouse"]
    assert predicted == int(shape), f"a drawn {shape} was read as {predicted}"


def _cdp_stroke(cdp: Any, kind: str, pts: list[tuple[float, float]]) -> None:
    if kind == "touch":
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                              "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]})
        for x, y in pts[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                                  "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        return
    common = {"pointerType": "pen", "button": "left"}
    cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": pts[0][0],
                                          "y": pts[0][1], "pointerType": "pen"})
    cdp.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": pts[0][0], "y": pts[0][1],
                                          "buttons": 1, "clickCount": 1, "force": 0.5, **common})
    for x, y in pts[1:]:
        cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y,
                                              "buttons": 1, "force": 0.5, **common})
    cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": pts[-1][0],
                                          "y": pts[-1][1], "buttons": 0, "clickCount": 1,
                                          **common})


@pytest.mark.parametrize("kind", ["touch", "pen"])
def test_touch_and_pen_strokes_match_python(browser: Any, server: str,
                                            reference: dict[str, Any], kind: str) -> None:
    """A phone (390 px wide, touch) and a pen; pointer events, no page scrolling."""
    t = Tab(browser, server, viewport={"width": 390, "height": 844}, device_scale_factor=2,
            is_mobile=kind == "touch", has_touch=kind == "touch")
    try:
        page = _open_draw(t)
        _record_pointer_types(page)
        scroll = page.evaluate("window.scrollY")
        cdp = t.context.new_cdp_session(page)
        box = _pad_box(page)
        for stroke in _stroke_points("7"):
            _cdp_stroke(cdp, kind, [(box["x"] + u * box["width"], box["y"] + v * box["height"])
                                    for u, v in stroke])
        _, predicted = _check_against_python(page, reference)
        assert page.evaluate("window.__types") == [kind]
        assert page.evaluate("window.scrollY") == scroll, "drawing scrolled the page"
        assert predicted == 7
        # Nothing sticks out sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        t.close()


def test_keyboard_drawing_and_clear(tab: Tab, reference: dict[str, Any]) -> None:
    page = _open_draw(tab)
    page.locator(".li-pad-canvas").focus()
    for _ in range(6):
        page.keyboard.press("ArrowUp")  # to the top of a 1
    page.keyboard.press("Space")  # pen down
    for _ in range(12):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")  # pen up
    assert "抬起" in page.locator(".li-pad-status").inner_text()
    _check_against_python(page, reference)
    page.keyboard.press("Delete")
    assert page.evaluate("window.__digitPredicted") is None
    assert not _canvas_rgba(page)[..., 3].any()
    # The clear button is a real button, reachable and usable from the keyboard.
    page.evaluate("px => window.__digitPad.paintDigit(px)",
                  reference["test"].images[0].reshape(-1).tolist())
    clear = page.get_by_role("button", name="清除")
    clear.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("window.__digitPredicted") is None
    assert not any(page.evaluate("window.__digitInput"))


def test_example_buttons_load_real_digits(tab: Tab, built_site: Path,
                                          reference: dict[str, Any]) -> None:
    examples = _site_json(built_site, "mnist-examples.json")
    page = _open_draw(tab)
    for k in (3, 8):
        page.get_by_role("button", name=f"载入测试集里的一张 {k}").click()
        x, _ = _check_against_python(page, reference)
        np.testing.assert_allclose(
            x, np.array(examples["pixels"][k]).reshape(28, 28) / 255.0, atol=INPUT_TOL)


# --- "为什么它说是 3": the live breakdown of the top two classes ---------------------------

def _js_fixed(v: float, digits: int) -> str:
    """JavaScript's toFixed for the values here (no exact decimal ties among them)."""
    return f"{v:.{digits}f}"


def _js_score(v: float) -> str:
    """draw-digit.js's fmt: a real minus sign, no plus."""
    return ("−" if v < 0 else "") + _js_fixed(abs(v), 2)


def _diverging(t: np.ndarray, dark: bool) -> np.ndarray:
    """draw-digit.js's colour for t in [-1, 1], as (N, 3) bytes: the page's colour at 0,
    the palette's red or blue at +-1, linear in between, rounded as Math.round."""
    neutral = np.array([30, 33, 41] if dark else [247, 247, 247], float)
    red = np.array([255, 123, 114] if dark else [202, 0, 32], float)
    blue = np.array([121, 192, 255] if dark else [5, 113, 176], float)
    end = np.where((t >= 0)[:, None], red, blue)
    a = np.minimum(1.0, np.abs(t))[:, None]
    return np.floor(neutral + (end - neutral) * a + 0.5)


def _check_why(page: Any, ref: dict[str, Any], dark: bool = False) -> list[int]:
    """The breakdown on the page against numpy on the very input the page used: the
    top two classes, their sums, biases, scores and probabilities as printed, the
    sentence for screen readers, and every pixel of the two w ⊙ x maps."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
    x = np.array(page.evaluate("window.__digitInput"))
    w, b = ref["w"], ref["b"]
    z = w @ x + b
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    top = sorted(range(10), key=lambda c: (-z[c], c))[:2]
    sums = [float(np.dot(w[c], x)) for c in top]
    why = page.evaluate("window.__digitWhy")
    assert why["classes"] == top
    np.testing.assert_allclose(why["sums"], sums, rtol=0, atol=SCORE_TOL)
    np.testing.assert_allclose(why["scores"], z[top], rtol=0, atol=SCORE_TOL)
    np.testing.assert_allclose(why["probs"], p[top], rtol=0, atol=SCORE_TOL)
    np.testing.assert_allclose(np.add(why["sums"], why["biases"]), why["scores"], atol=SCORE_TOL)
    section = page.locator(".li-why")
    assert section.locator("h2").inner_text() == f"为什么它说是 {top[0]}"
    rows = section.locator("tbody tr").evaluate_all(
        "rs => rs.map(r => Array.from(r.children).map(c => c.textContent))")
    want = [[f"“{c}”", _js_score(sums[k]), _js_score(float(b[c])), _js_score(float(z[c])),
             _js_fixed(100 * p[c], 1) + "%"] for k, c in enumerate(top)]
    assert rows == want
    live = section.locator("[aria-live=polite]")
    text = live.inner_text()
    for k, c in enumerate(top):
        for part in (f" {c}：", want[k][1], want[k][2], want[k][3], want[k][4]):
            assert part in text, (part, text)
    lim = max(float(np.abs(w[c] * x).max()) for c in top)
    assert section.locator(".li-why-ticks span").all_inner_texts() == \
        [_js_score(-lim), "0", _js_score(lim)]
    maps = section.locator(".li-why-map canvas").evaluate_all(
        "cs => cs.map(c => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data))")
    for k, c in enumerate(top):
        rgba = np.array(maps[k]).reshape(784, 4)
        expected = _diverging(w[c] * x / lim, dark)
        assert np.abs(rgba[:, :3] - expected).max() <= 1, f"the map of {c}"
    return top


def _three(box: dict[str, float]) -> list[list[tuple[float, float]]]:
    """A 3 as two strokes (upper and lower bowl), in page pixels."""
    t = np.linspace(-0.75 * np.pi, 0.5 * np.pi, 18)
    upper = [(0.48 + 0.2 * np.cos(a), 0.33 + 0.14 * np.sin(a)) for a in t]
    t = np.linspace(-0.5 * np.pi, 0.75 * np.pi, 18)
    lower = [(0.48 + 0.22 * np.cos(a), 0.64 + 0.17 * np.sin(a)) for a in t]
    return [[(box["x"] + u * box["width"], box["y"] + v * box["height"]) for u, v in s]
            for s in (upper, lower)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_why_breakdown_follows_the_drawing(browser: Any, server: str,
                                           reference: dict[str, Any], scheme: str) -> None:
    """Drawn with the mouse, stroke by stroke: after each stroke, and in the middle of
    one, the breakdown is numpy's on the input the page shows; the screen readers'
    sentence is marked busy while the pen is down."""
    t = Tab(browser, server, viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    try:
        page = _open_draw(t)
        assert page.evaluate("window.__digitWhy") is None
        live = page.locator(".li-why [aria-live=polite]")
        assert live.inner_text() == ""
        seen = []
        for stroke in _three(_pad_box(page)):
            page.mouse.move(*stroke[0])
            page.mouse.down()
            for pt in stroke[1:10]:
                page.mouse.move(*pt)
            assert live.get_attribute("aria-busy") == "true"
            _check_against_python(page, reference)
            seen.append(_check_why(page, reference, dark=scheme == "dark"))
            for pt in stroke[10:]:
                page.mouse.move(*pt)
            page.mouse.up()
            page.wait_for_function("document.querySelector('.li-why [aria-live]')"
                                   ".getAttribute('aria-busy') === 'false'")
            _check_against_python(page, reference)
            seen.append(_check_why(page, reference, dark=scheme == "dark"))
        page.get_by_role("button", name="清除").click()
        assert page.evaluate("window.__digitWhy") is None
        assert page.locator(".li-why tbody td").all_inner_texts() == ["—"] * 8
    finally:
        t.close()


def test_why_breakdown_on_a_phone(browser: Any, server: str, reference: dict[str, Any]) -> None:
    """390 px, touch: the breakdown fits the screen, its text is >= 9 CSS px, and it
    follows a digit drawn with a finger."""
    t = Tab(browser, server, viewport={"width": 390, "height": 844}, device_scale_factor=2,
            is_mobile=True, has_touch=True)
    try:
        page = _open_draw(t)
        cdp = t.context.new_cdp_session(page)
        for stroke in _three(_pad_box(page)):
            _cdp_stroke(cdp, "touch", stroke)
        _check_against_python(page, reference)
        _check_why(page, reference)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.locator(".li-why").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        sizes = page.locator(".li-why").evaluate(
            "s => Array.from(s.querySelectorAll('*')).filter(e => e.childNodes.length"
            " && Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim())"
            " && e.getClientRects().length).map(e => parseFloat(getComputedStyle(e).fontSize))")
        assert sizes and min(sizes) >= 9
    finally:
        t.close()


# --- without JavaScript, without a network --------------------------------------------------

@pytest.mark.parametrize(("path", "figure"), [(EXPLORER, "fig-mnist-confusion"),
                                              (DRAW, "fig-weights-as-grid")])
def test_static_figure_without_javascript(browser: Any, server: str, path: str,
                                          figure: str) -> None:
    t = Tab(browser, server, java_script_enabled=False)
    try:
        page = t.open(path, None)
        fig = page.locator(f"#{figure}")
        fig.scroll_into_view_if_needed()
        assert fig.is_visible()
        assert page.locator(".li-ex-ui, .li-draw-ui").count() == 0
        assert page.locator("noscript").count() >= 1
    finally:
        t.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_work_offline_in_both_palettes(browser: Any, server: str, scheme: str) -> None:
    """Everything loads from the site itself: with every outside request refused, both
    pages come up, and no request but the theme's repository stars was even tried."""
    t = Tab(browser, server, color_scheme=scheme, viewport={"width": 1280, "height": 900})
    try:
        page = t.open(EXPLORER, ".li-explorer")
        want = "slate" if scheme == "dark" else "default"
        assert page.evaluate("document.body.dataset.mdColorScheme") == want
        page.locator(".li-explorer").nth(1).scroll_into_view_if_needed()
        page.wait_for_function(
            "document.querySelectorAll('.li-explorer[data-state=ready]').length === 2")
        page = t.open(DRAW, ".li-draw")
        page.get_by_role("button", name="载入测试集里的一张 2").click()
        assert page.evaluate("window.__digitPredicted") is not None
        local = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert any(u.endswith("mnist-1layer-weights.json") for u in local)
        assert all(u.startswith(server) for u in local)
    finally:
        t.close()
