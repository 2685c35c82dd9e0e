"""Under each figure, where it came from: its numbers (数据) and its code (代码)."""

from __future__ import annotations

import csv
import importlib
import inspect
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from looking_inside import site
from looking_inside.products.figures import numbers, style
from looking_inside.products.figures.registry import FIGURES, get_figure
from looking_inside.products.inputs import ProductInputs
from looking_inside.sources import function_lines

from helpers import fake_inputs, readable

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs() -> ProductInputs:
    return fake_inputs()


def table(spec_name: str, inputs: ProductInputs) -> list[list[str]]:
    spec = get_figure(spec_name)
    assert spec.data
    mod = importlib.import_module(f"looking_inside.products.figures.{spec.module}")
    return list(csv.reader(io.StringIO(numbers.table_csv(getattr(mod, spec.data)(inputs))
                                       .decode())))


# --- the data files -----------------------------------------------------------------

@pytest.mark.parametrize("spec", [s for s in FIGURES if s.data], ids=lambda s: s.name)
def test_every_table_is_rectangular_csv(spec, inputs: ProductInputs) -> None:
    # The flipped digit needs digits that the networks read right.
    rows = table(spec.name, readable(inputs) if spec.name == "mnist-shift-flip" else inputs)
    assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)
    assert spec.data_filename() == f"{spec.name}.csv"


def test_confusion_csv_is_the_confusion_matrix(inputs: ProductInputs) -> None:
    for name, exp in (("mnist-confusion", "mnist-1layer"), ("cifar-confusion", "cifar-1layer")):
        rows = table(name, inputs)
        counts = np.array([[int(v) for v in r[1:]] for r in rows[1:]])
        np.testing.assert_array_equal(counts, inputs.results[exp].confusion)


def test_template_csvs_are_the_weights(inputs: ProductInputs) -> None:
    for name, exp, width in (("mnist-weights-all", "mnist-1layer", 784),
                             ("cifar-weights-all", "cifar-1layer", 3072)):
        rows = table(name, inputs)
        assert len(rows) == 11 and len(rows[0]) == 1 + width
        w = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
        np.testing.assert_allclose(w, inputs.results[exp].weights[0], rtol=1e-5, atol=1e-6)
    # pixel columns name their place in the 28x28 image, row-major like the reshape
    assert table("mnist-weights-all", inputs)[0][1 + 28 * 3 + 5] == "r3c5"


def test_training_curves_csv_is_every_history(inputs: ProductInputs) -> None:
    rows = table("training-curves", inputs)
    body = rows[1:]
    assert len(body) == sum(len(r.history["loss"]) for r in inputs.results.values())
    for r in body:
        h = inputs.results[r[0]].history
        e = int(r[1]) - 1
        np.testing.assert_allclose([float(v) for v in r[2:]],
                                   [h["loss"][e], h["train_accuracy"][e],
                                    h["test_accuracy"][e]], rtol=1e-5)


def test_drawn_reads_back_what_a_figure_shows() -> None:
    style.setup(style.LIGHT)
    fig = style.new_figure(3, 2)
    a, b = fig.subplots(1, 2)
    img = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    a.imshow(img)
    a.set_title("图")
    b.bar([0, 1, 2], [1.5, -2.0, 0.25])
    b.plot([1, 2], [3, 4], label="curve")
    b.text(0, 0, "note")
    try:
        d = json.loads(numbers.drawn_json(fig))
    finally:
        style.save(fig)
    p0, p1 = d["panels"]
    assert p0["title"] == "图"
    np.testing.assert_allclose(p0["images"][0], img, rtol=1e-5)
    assert p1["bars"] == [[1.5, -2.0, 0.25]]
    assert p1["lines"] == [{"x": [1.0, 2.0], "y": [3.0, 4.0], "label": "curve"}]
    assert p1["text"] == ["note"]


def test_how_a_figure_is_made_and_saved_is_in_every_figure_key() -> None:
    """Drawing each palette, saving, the data file's writer: derived from the imports
    of the code that makes a figure, and not the registry's captions."""
    from looking_inside import sources

    for s in FIGURES:
        code = sources.closure(s.product(font="f").code)
        assert {"products.figures.render", "products.figures.numbers",
                "products.figures.style", f"products.figures.{s.module}"} <= code, s.name
        assert "products.figures.registry" not in code, s.name


# --- the code links -----------------------------------------------------------------

@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_code_lines_are_the_drawing_function(spec) -> None:
    path, first, last = function_lines(f"products.figures.{spec.module}", spec.function)
    fn = spec.render_function()
    lines, start = inspect.getsourcelines(fn)  # the reference: Python's own answer
    assert (ROOT / path).resolve() == Path(inspect.getfile(fn)).resolve()
    assert (first, last) == (start, start + len(lines) - 1)


def test_code_url_in_github_actions_is_a_permalink() -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
           "GITHUB_SHA": "a" * 40}
    url = site.code_url("src/x.py#L3-L9", "https://example.org/ignored", env)
    assert url == f"https://github.com/o/r/blob/{'a' * 40}/src/x.py#L3-L9"


def test_code_url_from_repo_url_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site, "_revision", lambda: "b" * 40)
    assert site.code_url("src/x.py#L3-L9", "https://github.com/o/r/", {}) == \
        f"https://github.com/o/r/blob/{'b' * 40}/src/x.py#L3-L9"
    assert site.code_url("src/x.py#L3-L9", None, {}) is None


def test_source_line_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    fig = {"data": "f.csv", "code": {"path": "src/x.py", "lines": [3, 9], "function": "draw"}}
    for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"):
        monkeypatch.delenv(k, raising=False)  # this test may itself run in Actions
    plain = site.source_line(fig, "../figures", None)
    assert "[数据](../figures/f.csv)" in plain and "`src/x.py#L3-L9`" in plain
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
           "GITHUB_SHA": "c" * 40}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    linked = site.source_line(fig, "../figures", None)
    assert f"[代码](https://github.com/o/r/blob/{'c' * 40}/src/x.py#L3-L9)" in linked


def test_figure_markdown_offers_the_phone_layout() -> None:
    """A figure with a phone layout: per palette, a <picture> whose <source> names the
    narrow file for narrow screens, inside the zoom link to the wide file, the <img>
    keeping its palette fragment, alt text, lazy loading and width, and left alone by
    the zoom plugin (it would wrap the <img> inside the <picture>). Without one: plain
    images, as before."""
    from looking_inside.build import Manifest

    fig = {"name": "f", "files": ["f.light.svg", "f.dark.svg"], "data": "f.json",
           "caption": "说明", "alt": "替代[文字]", "width": 600,
           "narrow": {"files": ["f.light.narrow.svg", "f.dark.narrow.svg"], "width": 350},
           "code": {"path": "src/x.py", "lines": [1, 2], "function": "f"}}
    m = Manifest([fig, {**fig, "name": "g", "narrow": None}], {}, [], [], {}, {})
    md = site.figure_markdown(m, "f", "weights.md", None, 3)
    for theme in ("light", "dark"):
        picture = (f'<picture><source media="{site.NARROW_SCREEN}" srcset="figures/f.{theme}'
                   f'.narrow.svg" width="350">![替代（文字）](figures/f.{theme}.svg#only-'
                   f'{theme}){{ loading=lazy width=600 .li-skip-zoom }}</picture>')
        assert f"[{picture}](figures/f.{theme}.svg#only-{theme}){{ .glightbox " in md
    plain = site.figure_markdown(m, "g", "weights.md", None, 4)
    assert "<picture>" not in plain and "li-skip-zoom" not in plain
    assert "![替代（文字）](figures/f.light.svg#only-light){ loading=lazy width=600 }" in plain


# --- the built site -----------------------------------------------------------------

FIGURE_BLOCK = re.compile(r'<figure class="li-figure" id="fig-([^"]+)">(.*?)</figure>', re.S)
DATA_LINK = re.compile(r'<a class="li-data-link" download="" href="([^"]+)">数据</a>')
CODE_LINK = re.compile(r'<a class="li-code-link" href="([^"]+)"[^>]*>代码</a>')
CODE_TEXT = re.compile(r'<span class="li-code-ref">代码：<code>([^<#]+)#L(\d+)-L(\d+)</code>')


def test_every_figure_has_its_data_and_code(built_site: Path) -> None:
    seen = set()
    for html_file in built_site.rglob("index.html"):
        html = html_file.read_text(encoding="utf-8")
        for name, block in FIGURE_BLOCK.findall(html):
            seen.add(name)
            spec = get_figure(name)
            data = DATA_LINK.findall(block)
            assert len(data) == 1, f"{html_file}: {name} has no data link"
            assert not data[0].startswith(("/", "http")), "data links are relative"
            target = (html_file.parent / data[0]).resolve()
            raw = target.read_text(encoding="utf-8")
            if target.suffix == ".csv":
                rows = list(csv.reader(io.StringIO(raw)))
                assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows), target
            else:
                assert json.loads(raw)["panels"], target
            urls, texts = CODE_LINK.findall(block), CODE_TEXT.findall(block)
            assert len(urls) + len(texts) == 1, f"{html_file}: {name} has no code link"
            if urls:
                m = re.fullmatch(r"https?://[^ ]+/blob/[0-9a-zA-Z]+/(.+)#L(\d+)-L(\d+)", urls[0])
                assert m, urls[0]
                texts = [m.groups()]
            path, first, last = texts[0][0], int(texts[0][1]), int(texts[0][2])
            lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
            assert 1 <= first <= last <= len(lines), (name, path, first, last)
            assert lines[first - 1].startswith(f"def {spec.function}("), (name, path, first)
            # ...and ends it: the next line with code is back at the left margin.
            rest = [ln for ln in lines[last:] if ln.strip()]
            assert not rest or not rest[0][0].isspace(), (name, path, last)
    assert seen == {f.name for f in FIGURES}
