"""Accessibility and phones, in real Chromium on the built site (network cut off).

- axe-core (npm, pinned in tests/axe; `make test` installs it) on every page, in both
  palettes, at 390 and 1280 px: no critical or serious violation. One page load per
  page: the viewport is resized and the palette switched with Material's own toggle.
- The interactive pages on a phone (390 px, touch): drawing does not scroll the page,
  no sideways scroll, touch targets of at least 24 x 24 CSS px.
- By keyboard: every control reachable with Tab and usable; the playground's chart
  values and the explorer's counts as text for screen readers.
- Page weight: the first load of every page at 390 px is at most ``FIRST_LOAD`` bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import Tab, _cdp_stroke

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
WIDTHS = (390, 1280)
SCHEMES = ("default", "slate")
BLOCKING = ("critical", "serious")
FIRST_LOAD = 1_000_000
MIN_TARGET = 24
# The interactive parts of a page, and when each is built.
ROOTS = (".li-explorer", ".li-draw", ".li-train-replay", ".li-train-live", ".li-map")
CONTROLS = ", ".join(f"{r} :is(button, input, select, [tabindex='0'])" for r in ROOTS)


def _pages(site: Path) -> list[str]:
    found = [p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")]
    return sorted("/" if p == "." else f"/{p}/" for p in found if not p.startswith("assets"))


PAGES = ["/", "/intro/", "/weights/", "/mistakes/", "/confusion/", "/cifar/", "/hidden/",
         "/features/", "/interactive/confusion-explorer/", "/interactive/draw-digit/",
         "/interactive/train/", "/interactive/representation-map/", "/how-built/"]


def test_every_page_is_audited(built_site: Path) -> None:
    assert _pages(built_site) == sorted(PAGES)


@pytest.fixture(scope="module")
def axe() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: axe-core is installed by `make test` "
                    "(or: cd tests/axe && npm ci)")
    return AXE.read_text()


def _ready(page: Any) -> None:
    """Every interactive part built (the explorers load as they near the viewport)."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    for root in ROOTS:
        for k in range(page.locator(root).count()):
            page.locator(root).nth(k).scroll_into_view_if_needed()
            page.wait_for_function(
                "([r, k]) => document.querySelectorAll(r)[k].dataset.state === 'ready'",
                arg=[root, k])
    page.evaluate("window.scrollTo(0, 0)")


def _palette(page: Any, scheme: str) -> None:
    """Material's own toggle, then wait for its colour transitions to end."""
    page.evaluate("""async s => {
      const i = document.querySelector(
        `[data-md-component=palette] input[data-md-color-scheme=${s}]`);
      if (!i.checked) i.click();
      await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
      await Promise.all(document.getAnimations().map(a => a.finished));
    }""", scheme)
    assert page.evaluate("document.body.dataset.mdColorScheme") == scheme


def _axe(page: Any, context: str = "document") -> list[dict[str, Any]]:
    return page.evaluate(f"""async () => {{
      const r = await axe.run({context}, {{resultTypes: ['violations']}});
      return r.violations.map(v => ({{id: v.id, impact: v.impact,
        nodes: v.nodes.map(n => n.target.join(' '))}}));
    }}""")


@pytest.fixture(scope="module")
def audit_tab(browser: Any, server: str) -> Iterator[Tab]:
    t = Tab(browser, server, viewport={"width": 1280, "height": 900})
    yield t
    t.close()


@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_nothing_serious(audit_tab: Tab, axe: str, path: str) -> None:
    page = audit_tab.open(path, None)
    page.wait_for_load_state("networkidle")
    _ready(page)
    page.evaluate(axe)
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 500 else 900})
        page.wait_for_timeout(250)  # a11y.js re-checks scroll boxes 100 ms after a resize
        for scheme in SCHEMES:
            _palette(page, scheme)
            found += [f"{v['id']} ({v['impact']}) at {width} px, {scheme}: {v['nodes'][:4]}"
                      for v in _axe(page) if v["impact"] in BLOCKING]
    _palette(page, "default")
    assert not found, f"{path}:\n" + "\n".join(found)


def test_figure_zoom_dialog_has_a_name(audit_tab: Tab, axe: str) -> None:
    page = audit_tab.open("/weights/", None)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate(axe)
    page.locator(".li-figure a.glightbox:visible").first.click()
    page.wait_for_selector("#glightbox-body[aria-label]")
    page.wait_for_timeout(500)  # the opening animation
    found = [v for v in _axe(page, "'#glightbox-body'") if v["impact"] in BLOCKING]
    assert not found, found
    page.keyboard.press("Escape")


# --- phones ----------------------------------------------------------------------------

@pytest.fixture
def phone(browser: Any, server: str) -> Iterator[Tab]:
    t = Tab(browser, server, **PHONE)
    yield t
    t.close()


@pytest.mark.parametrize("path", [p for p in PAGES if "interactive" in p] + ["/how-built/"])
def test_phone_no_sideways_scroll_and_big_enough_targets(phone: Tab, path: str) -> None:
    page = phone.open(path, None)
    _ready(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    small = page.evaluate("""([sel, min]) => [...document.querySelectorAll(sel)]
      .filter(e => e.offsetParent !== null)
      .map(e => [e.className || e.tagName, e.getBoundingClientRect()])
      .filter(([, r]) => r.width < min || r.height < min)
      .map(([n, r]) => `${n}: ${r.width.toFixed(1)} x ${r.height.toFixed(1)}`)""",
                          [CONTROLS, MIN_TARGET])
    assert not small, f"{path}: touch targets under {MIN_TARGET} px: {small[:10]}"


@pytest.mark.parametrize(("path", "pad", "done"), [
    ("/interactive/draw-digit/", ".li-pad-canvas",
     "document.querySelector('.li-verdict').textContent.includes('7')"),
    ("/interactive/train/", ".li-tr-pad",
     "document.querySelector('.li-train-live').dataset.prediction !== undefined"),
])
def test_phone_drawing_with_a_finger_does_not_scroll(phone: Tab, path: str, pad: str,
                                                      done: str) -> None:
    page = phone.open(path, None)
    _ready(page)
    page.locator(pad).scroll_into_view_if_needed()
    scroll = page.evaluate("window.scrollY")
    box = page.locator(pad).bounding_box()
    cdp = phone.context.new_cdp_session(page)
    # A 7 drawn downwards: the stroke a page would scroll with if it let it.
    strokes = [[(0.2, 0.2), (0.5, 0.2), (0.8, 0.2)],
               [(0.8, 0.2), (0.65, 0.5), (0.5, 0.8)]]
    for stroke in strokes:
        pts = [(box["x"] + u * box["width"], box["y"] + v * box["height"]) for u, v in stroke]
        steps = [pts[0]]
        for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
            steps += [(x0 + (x1 - x0) * k / 8, y0 + (y1 - y0) * k / 8) for k in range(1, 9)]
        _cdp_stroke(cdp, "touch", steps)
    page.wait_for_function(done)
    assert page.evaluate("window.scrollY") == scroll, "drawing scrolled the page"


# --- keyboard and screen readers ---------------------------------------------------------

def _tab_through(page: Any, limit: int = 200) -> list[str]:
    """What Tab reaches, in order, from the top of the page: a label for each stop."""
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        label = page.evaluate("""() => { const e = document.activeElement;
          if (!e || e === document.body) return '';
          return e.dataset.action || e.dataset.net || e.dataset.setting
            || [...e.classList].find(c => c.startsWith('li-')) || e.classList[0]
            || e.tagName; }""")
        if seen and label == seen[0] and len(seen) > 5:
            break
        seen.append(label)
    return seen


@pytest.fixture
def desk(browser: Any, server: str) -> Iterator[Tab]:
    t = Tab(browser, server, viewport={"width": 1280, "height": 900})
    yield t
    t.close()


def test_playground_by_keyboard_and_screen_reader(desk: Tab) -> None:
    page = desk.open("/interactive/train/", ".li-train-live")
    page.wait_for_selector(".li-train-replay[data-state=ready]", state="attached")
    stops = _tab_through(page)
    for want in ("mnist-1layer", "mnist-2layer", "li-tr-play", "li-tr-slider", "hidden", "lr",
                 "wd", "batch", "seed", "start", "li-tr-clear", "li-tr-next"):
        assert want in stops, f"Tab never reaches {want}: {stops}"
    live = ".li-train-live"
    # Replay: play and pause with Enter, move with the arrow keys.
    page.focus(".li-tr-play")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('.li-tr-body').dataset.playing === 'true'")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('.li-tr-body').dataset.playing === 'false'")
    page.focus(".li-tr-slider")
    page.keyboard.press("End")
    last = page.evaluate("+document.querySelector('.li-tr-body').dataset.index")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("+document.querySelector('.li-tr-body').dataset.index") == last - 1
    caption = page.locator(".li-tr-caption")
    assert caption.get_attribute("aria-live") == "polite" and "测试准确率" in caption.inner_text()
    # Training: start, pause, step, reset with the keyboard; the focus never drops.
    page.focus("[data-action=start]")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelector('{live}').dataset.train === 'running'")
    page.wait_for_function(f"+document.querySelector('{live}').dataset.step > 5")
    assert page.evaluate("document.activeElement.dataset.action") == "pause"
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelector('{live}').dataset.train === 'paused'")
    assert page.evaluate("document.activeElement.dataset.action") == "start"
    page.wait_for_timeout(300)
    paused = int(page.evaluate(f"document.querySelector('{live}').dataset.step"))
    page.focus("[data-action=step]")
    page.keyboard.press("Enter")
    page.wait_for_function(f"+document.querySelector('{live}').dataset.step === {paused + 1}")
    # The curves' values as text, for screen readers.
    values = page.locator(".li-tr-values")
    assert values.get_attribute("aria-live") == "polite"
    page.wait_for_function("document.querySelector('.li-tr-values').textContent"
                           f".includes('第 {paused + 1} 步')")
    text = values.inner_text() or values.text_content()
    assert "训练损失" in text and "测试准确率" in text and "%" in text, text
    assert "当前" in page.get_attribute(f"{live} .li-tr-curve[aria-label^='测试准确率']",
                                        "aria-label")
    page.focus("[data-action=reset]")
    page.keyboard.press("Space")
    page.wait_for_function(f"document.querySelector('{live}').dataset.step === '0'")


def test_explorer_cells_by_keyboard_say_their_counts(desk: Tab, built_site: Path) -> None:
    page = desk.open("/interactive/confusion-explorer/", None)
    _ready(page)
    stops = _tab_through(page)
    assert stops.count("li-ex-cell") == 2, stops  # one stop per matrix (arrow keys inside)
    assert "li-ex-thumbs" in stops
    doc = json.loads((built_site / "assets/data/confusion-mnist.json").read_text())
    labels = page.locator(".li-explorer").first.locator(".li-ex-cell").evaluate_all(
        "cs => cs.map(c => c.getAttribute('aria-label'))")
    for k, label in enumerate(labels):
        assert f"{doc['counts'][k // 10][k % 10]} 张" in label, label
    page.locator(".li-explorer").first.locator(".li-ex-cell[tabindex='0']").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    title = page.locator(".li-explorer").first.locator(".li-ex-title").inner_text()
    assert title.startswith("实际")


def test_draw_digit_by_keyboard_reaches_every_control(desk: Tab) -> None:
    page = desk.open("/interactive/draw-digit/", ".li-draw")
    stops = _tab_through(page)
    assert "li-pad-canvas" in stops and "li-clear" in stops
    assert stops.count("li-example") == 10, stops


# --- page weight -------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_first_load_on_a_phone_is_light(phone: Tab, path: str) -> None:
    sizes: dict[str, int] = {}
    phone.context.on("requestfinished",
                     lambda r: sizes.__setitem__(r.url, r.sizes()["responseBodySize"]))
    page = phone.open(path, None)
    page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    assert total <= FIRST_LOAD, f"{path}: first load {total:,} bytes; largest {biggest}"


def test_phone_code_paths_break_at_slashes(phone: Tab) -> None:
    """The 代码 path under each figure wraps at a "/" (or before "#"), never mid-word."""
    page = phone.open("/weights/", None)
    page.wait_for_load_state("networkidle")
    split = page.evaluate("""() => [...document.querySelectorAll('.li-figure-source code')]
      .flatMap(c => [...c.childNodes].filter(n => n.nodeType === 3).filter(n => {
        const r = document.createRange(); r.selectNodeContents(n);
        return r.getClientRects().length > 1; }).map(n => n.textContent))""")
    assert page.locator(".li-figure-source code wbr").count() > 0
    assert not split, f"code paths broken mid-word: {split}"
