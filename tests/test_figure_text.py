"""Every text in every figure is big enough on the screen, in real Chromium on the
built site: at least ``MIN_PX`` CSS px on a phone (390 px wide) and at 1280 px.

The figures are SVG files with their text drawn as glyph outlines (``svg.fonttype =
"path"`` in style.setup): there is no ``font-size`` to read. Matplotlib's SVG backend
writes each text as ``<!-- the text -->`` and then a ``<g>`` whose transform ends in
``scale(s -s)``, where ``s`` is the font size in points over ``TextToPath.FONT_SCALE``
(the glyph outlines are stored at that size; each glyph's ``<use>`` may scale again,
which only mathtext does). So a text of ``s * FONT_SCALE`` pt is ``* 4/3`` CSS px at
the SVG's natural size (an SVG ``W`` pt wide is ``W * 4/3`` CSS px), times the scale
the browser draws the image at: its rendered width over that natural width.
``test_declared_sizes_are_the_drawn_ones`` checks this reading against matplotlib's
own text objects, at sizes, rotations and palettes chosen for the test.

In the browser, per page, palette and screen: every figure shows exactly one image (the
palette's), its ``currentSrc`` is the palette's file, and the phone layout where the
figure has one (``<picture>``), its zoom link the wide file; its smallest text is
measured against the threshold, no page scrolls sideways and no block of maths
scrolls up and down. A figure inside an
interactive part's fallback (hidden once the part is built) is measured where a
chapter shows it. Both screens are in the full tier (the ``browser`` fixture).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_a11y import _palette
from test_browser import Tab

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3,
         "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 900}}
# screen -> (browser context, smallest text in CSS px)
SCREENS = {"phone": (PHONE, 9.0), "desk": (DESK, 11.0)}
SCHEMES = {"default": "light", "slate": "dark"}

_SCALE = re.compile(r"scale\(([-0-9.e]+)(?:[ ,]+([-0-9.e]+))?\)")


def _font_scale() -> float:
    from matplotlib.textpath import TextToPath

    return TextToPath.FONT_SCALE


def svg_texts(svg: bytes) -> tuple[float, list[tuple[str, float]]]:
    """An SVG's natural width in CSS px, and each text it draws with its size in pt."""
    builder = ET.TreeBuilder(insert_comments=True)
    parser = ET.XMLParser(target=builder)
    parser.feed(svg)
    root = parser.close()
    m = re.fullmatch(r"([0-9.]+)pt", root.get("width", ""))
    assert m, f"SVG width not in pt: {root.get('width')!r}"
    width = float(m.group(1)) * 4 / 3
    unit = _font_scale()
    texts: list[tuple[str, float]] = []
    for parent in root.iter():
        comment = None
        for child in parent:
            if child.tag is ET.Comment:
                comment = child.text or ""
                continue
            transform = child.get("transform", "")
            scales = _SCALE.findall(transform)
            if child.tag.endswith("}g") and scales and scales[-1][1] \
                    and float(scales[-1][1]) == -float(scales[-1][0]):
                glyphs = [_SCALE.findall(u.get("transform", "")) for u in child
                          if u.tag.endswith("}use")]
                inner = min((float(g[-1][0]) if g else 1.0 for g in glyphs), default=1.0)
                text = (comment or "").strip()
                if text:
                    texts.append((text, round(float(scales[-1][0]) * unit * inner, 4)))
            comment = None
    return width, texts


# --- the reading of the SVG, against matplotlib ------------------------------------------

def test_declared_sizes_are_the_drawn_ones() -> None:
    from looking_inside.products.figures import style

    wanted = {"小标题 a": 6.5, "轴 label": 9.25, "旋转 90": 7.75, "大 big": 14.0}
    for theme in style.THEMES:
        style.setup(theme)
        fig = style.new_figure(3.0, 2.0)
        ax = fig.add_subplot()
        ax.set_xticks([0, 1], ["零", "一"], fontsize=8.5)
        ax.set_yticks([])
        for k, (text, size) in enumerate(wanted.items()):
            ax.text(0.1 + 0.2 * k, 0.5, text, fontsize=size,
                    rotation=90 if "旋转" in text else 0, alpha=0.7 if k else 1.0)
        drawn = {t.get_text(): t.get_fontsize() for t in fig.findobj(
            lambda o: hasattr(o, "get_fontsize") and o.get_visible() and o.get_text())}
        width_in = fig.get_tightbbox(fig.canvas.get_renderer()).padded(style.PAD_INCHES).width
        width, texts = svg_texts(style.save(fig))
        assert width == pytest.approx(width_in * 96, abs=0.01)
        assert sorted(texts) == sorted(drawn.items())
        assert dict(texts)["零"] == 8.5 and dict(texts)["旋转 90"] == 7.75


# --- in the browser ---------------------------------------------------------------------

def figure_pages(site: Path) -> list[str]:
    """Pages with a figure; where one is the fallback of an interactive part, hidden
    once the part is built, it is measured on a chapter that shows it (the test checks
    every figure was measured somewhere)."""
    pages = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")
                   if 'class="li-figure"' in p.read_text(encoding="utf-8"))
    return ["/" if p == "." else f"/{p}/" for p in pages]


SHOWN = """async () => {
  const out = [];
  // Every shown image loaded at once, instead of scrolling each lazy one into view.
  const shown = [...document.querySelectorAll('.li-figure img')]
    .filter(i => i.getClientRects().length);
  shown.forEach(i => { i.loading = 'eager'; });
  for (let t = 0; t < 200 && !shown.every(i => i.complete && i.naturalWidth); t++)
    await new Promise(r => setTimeout(r, 25));
  for (const fig of document.querySelectorAll('.li-figure')) {
    const imgs = [...fig.querySelectorAll('img')].filter(i => i.getClientRects().length);
    for (const img of imgs) {
      const a = img.closest('a.glightbox');
      out.push({figure: fig.id, src: img.currentSrc, natural: img.naturalWidth,
                width: img.getBoundingClientRect().width,
                zoom: a ? a.getAttribute('href') : null});
    }
    // A figure inside an interactive part's fallback is hidden once the part is built.
    if (!imgs.length && fig.getClientRects().length) out.push({figure: fig.id, src: null});
  }
  return out;
}"""


@pytest.fixture(scope="module")
def manifest(built_site: Path) -> dict[str, Any]:
    doc = json.loads((built_site / "assets/data/manifest.json").read_text(encoding="utf-8"))
    return {f["name"]: f for f in doc["figures"]}


def measure(tab: Tab, built_site: Path, manifest: dict[str, Any], screen: str
            ) -> tuple[list[dict[str, Any]], list[str]]:
    """Every figure shown on every page in both palettes: what it showed, its scale and
    smallest text; and what is wrong with how it was shown."""
    rows: list[dict[str, Any]] = []
    wrong: list[str] = []
    svgs: dict[str, tuple[float, list[tuple[str, float]]]] = {}
    for path in figure_pages(built_site):
        page = tab.open(path, None)
        page.wait_for_load_state("networkidle")
        width = page.viewport_size["width"]
        # A formula may scroll sideways on a phone, never up and down (a scroll bar
        # beside a line of maths whose big operators stick out of its box).
        tall = page.evaluate("[...document.querySelectorAll('.li-math-block')]"
                             ".filter(e => e.scrollHeight > e.clientHeight).length")
        if tall:
            wrong.append(f"{path}: {tall} block(s) of maths scroll up and down")
        for scheme, theme in SCHEMES.items():
            _palette(page, scheme)
            shown = page.evaluate(SHOWN)
            if page.evaluate("document.documentElement.scrollWidth") > width:
                wrong.append(f"{path} ({theme}): the page scrolls sideways")
            for fig_id in {s["figure"] for s in shown}:
                n = sum(s["figure"] == fig_id and s["src"] is not None for s in shown)
                if n != 1:
                    wrong.append(f"{path} {fig_id} ({theme}): {n} images shown")
            for s in shown:
                if s["src"] is None:
                    continue
                name = s["figure"].removeprefix("fig-")
                rel = urlsplit(s["src"]).path.removeprefix(urlsplit(tab.server).path)
                file = rel.rsplit("/", 1)[-1]
                entry = manifest[name]
                layouts = (entry.get("narrow") or {}).get("files") or []
                want = (layouts if screen == "phone" and layouts else entry["files"])
                if file != want[0 if theme == "light" else 1]:
                    wrong.append(f"{path} {name} ({theme}, {screen}): shows {file}, "
                                 f"not {want}")
                zoom = (s["zoom"] or "").split("#")[0].rsplit("/", 1)[-1]
                if zoom != entry["files"][0 if theme == "light" else 1]:
                    wrong.append(f"{path} {name} ({theme}): the zoom opens {zoom!r}")
                if rel not in svgs:
                    svgs[rel] = svg_texts((built_site / rel.lstrip("/")).read_bytes())
                natural, texts = svgs[rel]
                if abs(s["natural"] - natural) > 1:
                    wrong.append(f"{path} {file}: naturalWidth {s['natural']} for an SVG "
                                 f"{natural:.1f} px wide")
                scale = s["width"] / natural
                text, pt = min(texts, key=lambda t: t[1])
                rows.append({"page": path, "figure": name, "theme": theme, "file": file,
                             "scale": scale, "pt": pt, "px": pt * 4 / 3 * scale,
                             "text": text})
        _palette(page, "default")
    return rows, wrong


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Any, server: str
           ) -> Iterator[tuple[str, Tab, float]]:
    context, least = SCREENS[request.param]
    t = Tab(browser, server, **context)
    yield request.param, t, least
    t.close()


def test_every_figure_text_is_big_enough(screen: tuple[str, Tab, float], built_site: Path,
                                         manifest: dict[str, Any]) -> None:
    name, tab, least = screen
    rows, wrong = measure(tab, built_site, manifest, name)
    shown = {r["figure"] for r in rows}
    assert shown == set(manifest), f"figures never measured: {set(manifest) - shown}"
    print(f"\n{name}: smallest figure text, CSS px (scale x pt x 4/3)")
    for r in sorted(rows, key=lambda r: (r["page"], r["figure"], r["theme"])):
        print(f"  {r['page']:34s} {r['figure']:26s} {r['theme']:5s} {r['px']:5.1f} px "
              f"(x{r['scale']:.3f}, {r['pt']:.2f} pt, {r['text'][:20]!r})")
    small = sorted({f"{r['page']} {r['figure']}: {r['px']:.1f} px ({r['text'][:20]!r})"
                    for r in rows if r["px"] < least})
    assert not wrong, "\n".join(wrong)
    assert not small, f"{name}: figure text under {least} CSS px:\n" + "\n".join(small)


def test_the_zoom_opens_the_wide_layout_on_a_phone(browser: Any, server: str,
                                                   manifest: dict[str, Any]) -> None:
    """On a phone the page shows a figure's narrow layout; its zoom (GLightbox) opens
    the wide one, in the palette shown."""
    name, path = "capacity-sweep", "/features/"
    assert manifest[name]["narrow"], f"{name} has no phone layout"
    tab = Tab(browser, server, **PHONE)
    try:
        page = tab.open(path, None)
        for scheme, k in (("default", 0), ("slate", 1)):
            _palette(page, scheme)
            link = page.locator(f"#fig-{name} a.glightbox:visible")
            link.scroll_into_view_if_needed()
            img = link.locator("img")
            page.wait_for_function("i => i.complete && i.naturalWidth > 0",
                                   arg=img.element_handle())
            shown = img.evaluate("i => i.currentSrc")
            assert shown.endswith("/" + manifest[name]["narrow"]["files"][k]), shown
            link.click()
            zoomed = page.locator(".gslide.current .gslide-image img")
            zoomed.wait_for()
            assert zoomed.get_attribute("src").split("#")[0].endswith(
                "/" + manifest[name]["files"][k])
            page.keyboard.press("Escape")
            page.wait_for_selector(".glightbox-container", state="detached")
    finally:
        tab.close()
