"""The real site: `mkdocs build --strict` on the real data, read as a reader would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from looking_inside.products.figures.registry import FIGURES

ROOT = Path(__file__).resolve().parents[1]


def _nav_pages() -> list[str]:
    """Pages in the order of mkdocs.yml's nav (the one list of chapters)."""
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    out: list[str] = []

    def walk(items: list) -> None:
        for item in items:
            for value in item.values():
                if isinstance(value, list):
                    walk(value)
                else:
                    out.append(value.removesuffix(".md"))

    walk(nav)
    return out


# The article's chapters: every page in the nav but the interactive ones and the
# generated record of the build.
CHAPTERS = [p for p in _nav_pages() if not p.startswith("interactive/") and p != "how-built"]
FIGURE_CALL = re.compile(r"""\{\{\s*figure\(\s*["']([^"']+)["']\s*\)\s*\}\}""")
FACT_SPAN = re.compile(r'<span class="li-fact" data-fact="([^"]+)">([^<]*)</span>')



def page(site: Path, name: str) -> str:
    path = site / "index.html" if name == "index" else site / name / "index.html"
    return path.read_text(encoding="utf-8")


def manifest(site: Path) -> dict:
    return json.loads((site / "assets" / "data" / "manifest.json").read_text())


class _Text(HTMLParser):
    """Visible text of the article body, without fact spans, code, scripts or maths."""

    SKIP = {"script", "style", "math", "code", "svg"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0
        self.in_article = 0

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        a = dict(attrs)
        if tag == "article":
            self.in_article += 1
        if tag in self.SKIP or (tag == "span" and a.get("class") == "li-fact"):
            self.skip += 1

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        if tag == "article":
            self.in_article -= 1
        if self.skip and (tag in self.SKIP or tag == "span"):
            self.skip -= 1

    def handle_data(self, data):  # noqa: ANN001, ANN201
        if self.in_article and not self.skip:
            self.parts.append(data)


def body_text_without_facts(html: str) -> str:
    # Fact spans hold no nested tags, so drop them before parsing.
    p = _Text()
    p.feed(FACT_SPAN.sub("", html))
    return "".join(p.parts)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_shows_its_figures(built_site: Path, chapter: str) -> None:
    source = (ROOT / "docs" / f"{chapter}.md").read_text(encoding="utf-8")
    html = page(built_site, chapter)
    by_name = {f.name: f for f in FIGURES}
    for name in FIGURE_CALL.findall(source):
        spec = by_name[name]
        for theme in ("light", "dark"):
            f = spec.filename(theme)
            assert re.search(rf'<img[^>]+src="(\.\./)?figures/{re.escape(f)}#only-{theme}"',
                             html), f"{chapter}: {f} not shown"
            assert (built_site / "figures" / f).stat().st_size > 1000
        assert spec.caption in html.replace("&quot;", '"')
    text = body_text_without_facts(html)
    assert "{{" not in text and "}}" not in text, f"{chapter}: unrendered macro"


def test_every_figure_appears_in_a_chapter() -> None:
    used = [n for c in [*CHAPTERS, "how-built"]
            for n in FIGURE_CALL.findall((ROOT / "docs" / f"{c}.md").read_text())]
    assert sorted(used) == sorted(f.name for f in FIGURES)
    order = [f.name for f in FIGURES]
    assert used == order, "figures appear in the article's order"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_quoted_numbers_equal_the_manifest(built_site: Path, chapter: str) -> None:
    facts = manifest(built_site)["facts"]
    html = page(built_site, chapter)
    for name, text in FACT_SPAN.findall(html):
        assert name in facts, f"{chapter}: unknown fact {name}"
        assert text == facts[name]["text"], f"{chapter}: {name} shows {text}"
    # No model number typed by hand: no percentage outside fact spans, bar 100%.
    typed = [m for m in re.findall(r"\d+(?:\.\d+)?\s*%", body_text_without_facts(html))
             if m.replace(" ", "") != "100%"]
    assert not typed, f"{chapter}: hand-typed percentages {typed}"


def test_the_concrete_confusion_cell_follows_our_model(built_site: Path) -> None:
    facts = manifest(built_site)["facts"]
    html = page(built_site, "confusion")
    quoted = dict((n, t) for n, t in FACT_SPAN.findall(html))
    for part in ("actual", "predicted", "count"):
        assert quoted[f"mnist.confusion.{part}"] == facts[f"mnist.confusion.{part}"]["text"]
    cm_count = facts["mnist.confusion.count"]["value"]
    text = body_text_without_facts(html)
    if cm_count != 71:
        assert "71" not in text, "the reference's number must not leak into our text"


def test_how_built_page_reports_every_experiment(built_site: Path) -> None:
    html = page(built_site, "how-built")
    m = manifest(built_site)
    for e in m["experiments"]:
        assert re.search(rf"<code[^>]*>{re.escape(e['name'])}</code>", html)
        assert f"{e['n_train']:,} / {e['n_test']:,}" in html
        assert f"{100 * e['test_accuracy']:.1f}%" in html
        # the row says whether this build trained the network or took it from the cache
        row = re.search(rf"<tr>\s*<td><code[^>]*>{re.escape(e['name'])}</code>.*?</tr>", html,
                        re.S)
        assert row and ("沿用缓存" if e["cache_hit"] else "重新训练") in row.group(0)
    subset = any(m["data"]["subset"].values())
    assert ("这一版用的是数据子集" in html) == subset
    assert m["versions"]["torch"] in html


def test_maths_is_mathml_and_nothing_loads_from_a_cdn(built_site: Path) -> None:
    html = page(built_site, "weights")
    assert "<math" in html and "arithmatex" not in html
    for p in built_site.rglob("*.html"):
        text = p.read_text(encoding="utf-8")
        external = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        assert not external, f"{p}: loads {external}"


def test_search_index_segments_chinese(built_site: Path) -> None:
    index = json.loads((built_site / "search" / "search_index.json").read_text())
    docs = [d for d in index["docs"] if d["location"].startswith("confusion/")]
    assert docs
    text = " ".join(d["title"] + " " + d["text"] for d in docs)
    assert "\u200b" in text, "jieba segmentation missing: is jieba installed?"
    tokens = set(re.split(index["config"]["separator"], text))
    assert "混淆矩阵" in tokens or {"混淆", "矩阵"} <= tokens


# --- builds of a copy of the project: warm rebuilds, chapter edits, broken chapters -----

@pytest.fixture()
def project_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "project"
    dst.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", dst)
    shutil.copytree(ROOT / "docs", dst / "docs")
    shutil.copytree(ROOT / "gen", dst / "gen", ignore=shutil.ignore_patterns("__pycache__"))
    (dst / "src").symlink_to(ROOT / "src")  # the code is the real one; only text changes
    return dst


def build(project: Path, data_root: Path, cache: Path, *extra: str
          ) -> tuple[subprocess.CompletedProcess, float]:
    env = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root), LOOKING_INSIDE_CACHE=str(cache),
               LOOKING_INSIDE_DOWNLOAD="0")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", *extra],
                          cwd=project, env=env, capture_output=True, text=True)
    return proc, time.perf_counter() - t


def test_chapter_edit_rebuilds_without_training(built_site: Path, project_copy: Path,
                                                data_root: Path, session_cache: Path) -> None:
    chapter = project_copy / "docs" / "intro.md"
    chapter.write_text(chapter.read_text() + "\n改一个错别字。\n")
    proc, seconds = build(project_copy, data_root, session_cache)
    assert proc.returncode == 0, proc.stderr
    assert ": training on " not in proc.stderr
    assert "epoch" not in proc.stderr
    print(f"chapter edit: rebuilt in {seconds:.2f} s without training")
    assert "改一个错别字" in (project_copy / "site" / "intro" / "index.html").read_text()


@pytest.mark.parametrize("macro,name,hint", [
    ("fact", "mnist-1layer.acuracy", "facts with that prefix: mnist-1layer.accuracy"),
    ("figure", "mnist-weights-11", "known figures:"),
])
def test_unknown_name_in_a_chapter_fails_the_strict_build(built_site: Path,
                                                          project_copy: Path, data_root: Path,
                                                          session_cache: Path, macro: str,
                                                          name: str, hint: str) -> None:
    chapter = project_copy / "docs" / "hidden.md"
    chapter.write_text(chapter.read_text() + f'\n{{{{ {macro}("{name}") }}}}\n')
    proc, _ = build(project_copy, data_root, session_cache)
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert f"hidden.md: unknown {macro} '{name}'" in log
    assert hint in log


def _verdict(a: float, b: float, same_within: float) -> str:
    # Written out again, not imported: the test re-derives each comparison.
    if abs(a - b) < same_within:
        return "same"
    return "higher" if a > b else "lower"


def test_every_comparison_the_text_makes_holds_for_the_manifest(built_site: Path) -> None:
    """Comparisons are facts naming the two facts they compare; each must agree with
    the two values, and so must its phrase and its gap in points, wherever quoted."""
    facts = manifest(built_site)["facts"]
    comparisons = {n: f["value"] for n, f in facts.items()
                   if n.startswith("cmp.") and isinstance(f["value"], dict)}
    assert comparisons
    word = {"higher": "高", "lower": "低", "same": "差不多"}
    for name, c in comparisons.items():
        a, b = facts[c["a"]]["value"], facts[c["b"]]["value"]
        expected = _verdict(a, b, c["same_within"])
        assert c["verdict"] == expected, f"{name}: {a} vs {b}"
        assert facts[name]["text"] == word[expected]
        # The gap between the two numbers as printed: what a reader would compute.
        shown = [float(facts[c[k]]["text"].rstrip("%")) for k in ("a", "b")]
        gap = f"{abs(shown[0] - shown[1]):.1f}"
        assert facts[f"{name}.points"]["text"] == gap
        phrase = facts[f"{name}.phrase"]["text"]
        assert phrase.startswith({"higher": "高出", "lower": "低了", "same": "只差"}[expected])
        assert f" {gap} 个百分点" in phrase
    quoted = set()
    for chapter in CHAPTERS:
        for n, _ in FACT_SPAN.findall(page(built_site, chapter)):
            base = n.removesuffix(".phrase").removesuffix(".points")
            if base in comparisons:
                quoted.add(base)
    assert quoted, "the chapters quote comparisons"


def test_the_hidden_layer_text_follows_the_comparison(built_site: Path) -> None:
    facts = manifest(built_site)["facts"]
    text = body_text_without_facts(page(built_site, "hidden"))
    beats = facts["cmp.mnist.hidden10-vs-1layer"]["value"]["verdict"] == "higher"
    assert ("并没有换来更好的成绩" in text) == (not beats)
    assert ("隐藏层确实带来了提升" in text) == beats


def test_convnets_beat_every_perceptron(built_site: Path) -> None:
    m = manifest(built_site)
    acc = {e["name"]: e["test_accuracy"] for e in m["experiments"]}
    for conv, prefix in (("mnist-conv", "mnist"), ("cifar-conv", "cifar")):
        mlps = [n for n in acc if n.startswith(prefix) and "conv" not in n]
        assert acc[conv] > max(acc[n] for n in mlps), (conv, acc)
    facts = m["facts"]
    assert facts["mnist.conv.parameter_ratio"]["value"] > 1  # "参数也少得多"


def test_cifar_templates_are_no_more_speckled_than_mnist(built_site: Path) -> None:
    """Speckle recomputed from the manifest's facts: CIFAR-10's colour templates are
    as smooth as the digit templates (the how-built page quotes both numbers)."""
    facts = manifest(built_site)["facts"]
    assert facts["cifar-1layer.speckle"]["value"] <= facts["mnist-1layer.speckle"]["value"]
    html = page(built_site, "how-built")
    for n in ("cifar-1layer.speckle", "mnist-1layer.speckle"):
        assert f'data-fact="{n}">{facts[n]["text"]}<' in html


def test_figures_are_numbered_in_reading_order(built_site: Path) -> None:
    seen: list[int] = []
    refs: dict[str, str] = {}
    for chapter in [*CHAPTERS, "how-built"]:
        html = page(built_site, chapter)
        seen += [int(n) for n in re.findall(r'<span class="li-fignum">图 (\d+)</span>', html)]
        for href, n in re.findall(r'<a class="li-figref" href="([^"]*)">图 (\d+)</a>', html):
            refs[href.split("#")[-1]] = n
    assert seen == list(range(1, len(FIGURES) + 1))
    order = {f"fig-{f.name}": str(i) for i, f in enumerate(FIGURES, start=1)}
    assert refs and all(order[k] == v for k, v in refs.items()), refs


def test_where_width_stops_paying_follows_the_manifest(built_site: Path) -> None:
    m = manifest(built_site)
    acc = {e["name"]: e["test_accuracy"] for e in m["experiments"]}
    facts = m["facts"]
    tol = facts["cmp.same_within"]["value"]
    for prefix in ("mnist", "cifar"):
        widths = {0: acc[f"{prefix}-sweep-0"]}
        widths.update({w: acc[f"{prefix}-sweep-{w}"] for w in (10, 30, 100, 300)})
        top = max(widths.values())
        enough = min(w for w in widths if w and top - widths[w] < tol)
        assert facts[f"{prefix}.sweep.enough"]["value"] == enough
        story = facts[f"{prefix}.sweep.width_story"]["text"]
        if enough < 300:
            assert "不到" in story
        else:
            gain = widths[300] - widths[100]
            assert f"{100 * abs(gain):.1f} 个百分点" in story
            assert ("提高" in story) == (gain > 0)


def test_bigger_networks_fit_their_training_images_more_closely(built_site: Path) -> None:
    """The features chapter says the train-test gap tends to widen with width."""
    acc = {e["name"]: (e["train_accuracy"], e["test_accuracy"])
           for e in manifest(built_site)["experiments"]}
    for prefix in ("mnist", "cifar"):
        gap = {w: acc[f"{prefix}-sweep-{w}"][0] - acc[f"{prefix}-sweep-{w}"][1]
               for w in (0, 10, 30, 100, 300)}
        assert gap[300] > gap[0] and gap[300] > gap[30]
