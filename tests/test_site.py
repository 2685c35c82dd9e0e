"""The real site: `mkdocs build --strict` on the real data, read as a reader would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from looking_inside.products.figures.registry import FIGURES

from helpers import mcnemar_exact

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
            if spec.narrow:  # its phone layout, in a <picture>, relative to the page
                n = spec.filename(theme, narrow=True)
                source = rf'<source media="[^"]+" srcset="(\.\./)?figures/{re.escape(n)}"'
                assert re.search(source + rf'[^>]*>\s*<img[^>]+src="(\.\./)?figures/'
                                 rf'{re.escape(f)}#only-{theme}"', html), \
                    f"{chapter}: {n} not offered before {f}"
                assert (built_site / "figures" / n).stat().st_size > 1000
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
    ("figure", "../nope", "known figures:"),
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
    assert "Traceback" not in log, "our errors are one line, in every path"



def test_every_comparison_the_text_makes_holds_for_the_manifest(built_site: Path) -> None:
    """Comparisons are facts naming the runs they compare; each verdict is re-derived
    from the manifest (the runs' accuracies, the paired counts, which must agree with
    those accuracies on the real test set's size), and so are its word, its phrase and
    its gap between the two printed means, wherever quoted."""
    m = manifest(built_site)
    facts = m["facts"]
    acc = {e["name"]: e["test_accuracy"] for e in m["experiments"]}
    n_test = {e["name"]: e["n_test"] for e in m["experiments"]}
    comparisons = {n: f["value"] for n, f in facts.items()
                   if n.startswith("cmp.") and isinstance(f["value"], dict)}
    assert comparisons
    word = {"higher": "高", "lower": "低", "noise": "持平"}
    for name, c in comparisons.items():
        runs_a, runs_b = c["runs_a"], c["runs_b"]
        assert len(runs_a) == len(runs_b) >= 3, name
        a, b = [acc[r] for r in runs_a], [acc[r] for r in runs_b]
        n = n_test[runs_a[0]]
        assert c["n_test"] == n
        significant = []
        for (only_a, only_b), ra, rb in zip(c["pairs"], runs_a, runs_b, strict=True):
            assert abs((only_a - only_b) - n * (acc[ra] - acc[rb])) < 0.5, (name, ra, rb)
            significant.append((mcnemar_exact(only_a, only_b) < Fraction(5, 100),
                                only_a - only_b))
        if min(a) > max(b) and all(s and d > 0 for s, d in significant):
            expected = "higher"
        elif max(a) < min(b) and all(s and d < 0 for s, d in significant):
            expected = "lower"
        else:
            expected = "noise"
        assert c["verdict"] == expected, (name, a, b, c["pairs"])
        assert facts[name]["text"] == word[expected]
        mean = [facts[c[k]]["value"] for k in ("a", "b")]
        assert mean[0] == pytest.approx(sum(a) / len(a), abs=1e-6)
        assert mean[1] == pytest.approx(sum(b) / len(b), abs=1e-6)
        shown = [float(facts[c[k]]["text"].rstrip("%")) for k in ("a", "b")]
        gap = f"{abs(shown[0] - shown[1]):.1f}"
        assert facts[f"{name}.points"]["text"] == gap
        phrase = facts[f"{name}.phrase"]["text"]
        assert phrase.startswith({"higher": "高出", "lower": "低了", "noise": "相差"}[expected])
        assert f" {gap} 个百分点" in phrase
        assert ("在噪声之内" in phrase) == (expected == "noise")
    quoted = set()
    for chapter in CHAPTERS:
        for n, _ in FACT_SPAN.findall(page(built_site, chapter)):
            base = n.removesuffix(".phrase").removesuffix(".points")
            if base in comparisons:
                quoted.add(base)
    assert quoted, "the chapters quote comparisons"


def test_every_quoted_mean_shows_its_range(built_site: Path) -> None:
    """A chapter that quotes a configuration's mean over its seeds also quotes the
    range of those runs, and the range is the manifest's runs'."""
    m = manifest(built_site)
    facts = m["facts"]
    acc = {e["name"]: e["test_accuracy"] for e in m["experiments"]}
    for chapter in CHAPTERS:
        quoted = {n for n, _ in FACT_SPAN.findall(page(built_site, chapter))}
        for name in quoted:
            if not name.endswith(".mean") or name.endswith("sweep.best_accuracy"):
                continue
            base = name.removesuffix(".mean")
            assert f"{base}.runs" in quoted, f"{chapter}: {name} without its range"
            runs = [r for r in acc if r == base or r.startswith(f"{base}-seed")]
            lo, hi = facts[f"{base}.range"]["value"]
            assert lo == pytest.approx(min(acc[r] for r in runs), abs=1e-6)
            assert hi == pytest.approx(max(acc[r] for r in runs), abs=1e-6)
            assert facts[f"{base}.runs"]["text"].endswith(
                f"{100 * lo:.1f}–{100 * hi:.1f}%")


def test_the_hidden_layer_text_follows_the_comparison(built_site: Path) -> None:
    facts = manifest(built_site)["facts"]
    text = body_text_without_facts(page(built_site, "hidden"))
    beats = facts["cmp.mnist.hidden10-vs-1layer"]["value"]["verdict"] == "higher"
    assert ("并没有换来超出噪声的更好成绩" in text) == (not beats)
    assert ("隐藏层确实带来了超出噪声的提升" in text) == beats


def test_the_convnet_sentences_follow_the_verdicts(built_site: Path) -> None:
    """The CIFAR-10 chapter promises better results from convnets only when the
    features chapter's verdicts say so on both data sets; "fewer parameters" only when
    there are."""
    facts = manifest(built_site)["facts"]
    both = all(facts[f"cmp.{p}.conv-vs-best"]["value"]["verdict"] == "higher"
               for p in ("mnist", "cifar"))
    assert ("得等到卷积神经网络登场" in body_text_without_facts(page(built_site, "cifar"))) == both
    fewer = facts["mnist.conv.parameter_ratio"]["value"] > 1
    assert ("参数也少得多" in body_text_without_facts(page(built_site, "features"))) == fewer


def test_the_speckle_comparison_follows_the_manifest(built_site: Path) -> None:
    """The how-built page quotes both templates' speckle and says which is smoother as
    the two printed numbers say (either way round, by data set); what it says of both,
    far below independent noise, holds: under a third of uniform noise's speckle."""
    import numpy as np

    from looking_inside.products.analysis import mean_speckle

    facts = manifest(built_site)["facts"]
    html = page(built_site, "how-built")
    for n in ("cifar-1layer.speckle", "mnist-1layer.speckle"):
        assert f'data-fact="{n}">{facts[n]["text"]}<' in html
    cifar, mnist = (float(facts[f"{n}-1layer.speckle"]["text"]) for n in ("cifar", "mnist"))
    said = {"两个数一样": cifar == mnist, "比数字模板还要平滑": cifar < mnist,
            "比数字模板颗粒感更重": cifar > mnist}
    text = body_text_without_facts(html)
    assert {words: words in text for words in said} == said
    rng = np.random.default_rng(0)
    for name, shape in (("mnist-1layer", (28, 28)), ("cifar-1layer", (3, 32, 32))):
        noise = mean_speckle(rng.random((10, int(np.prod(shape)))), shape)
        assert facts[f"{name}.speckle"]["value"] < noise / 3, (name, noise)


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


def test_where_width_stops_paying_follows_the_verdicts(built_site: Path) -> None:
    """The features chapter's width sentences, re-derived from the verdicts of every
    width against every narrower one (each checked above against the manifest)."""
    facts = manifest(built_site)["facts"]
    text = body_text_without_facts(page(built_site, "features"))
    for prefix in ("mnist", "cifar"):
        widths = facts[f"{prefix}.sweep.widths"]["value"]

        def v(w2: int, w1: int, p: str = prefix) -> str:
            return facts[f"cmp.{p}.sweep.{w2}-vs-{w1}"]["value"]["verdict"]

        better = [w for w in widths[1:] if v(w, widths[0]) == "higher"]
        first = better[0] if better else None
        assert facts[f"{prefix}.sweep.first_better"]["value"] == first
        name = {"mnist": "MNIST", "cifar": "CIFAR-10"}[prefix]
        assert (f"{name} 上，没有一个宽度超出噪声地胜过单层网络" in text) == (first is None)
        story = facts[f"{prefix}.sweep.width_story"]["text"]
        if first is None:
            assert story.startswith("加了隐藏层、再怎么加宽，都没有超出噪声地胜过单层网络")
            continue
        enough = min(w for w in widths if w >= first and
                     all(v(w2, w) != "higher" for w2 in widths if w2 > w))
        assert facts[f"{prefix}.sweep.enough"]["value"] == enough
        if first == widths[-1]:
            assert story.startswith("只有最宽的")
        elif enough == widths[-1]:
            assert v(widths[-1], widths[-2]) == "higher"
            assert story.startswith(f"一直加到 {widths[-1]} 个神经元")
        else:
            assert story.startswith(f"加到 {enough} 个神经元以后，再加宽就没有超出噪声的提高了")


def test_chapters_keep_one_term_per_idea_and_space_after_figure_numbers(
        built_site: Path) -> None:
    """图像 (never 图片), 得分 (never 分数); a space between "图 N" and the Chinese that
    follows it; no paragraph over 300 characters."""
    for chapter in CHAPTERS:
        html = page(built_site, chapter)
        text = body_text_without_facts(html)
        for word in ("图片", "分数", "0op5"):
            assert word not in text, f"{chapter}: {word}"
        glued = re.findall(r'<a class="li-figref"[^>]*>图 \d+</a>[\u4e00-\u9fff]', html)
        assert not glued, f"{chapter}: {glued}"
        article = html[html.index("<article"):html.index("</article>")]
        for para in re.findall(r"<p>(.*?)</p>", article, re.S):
            visible = re.sub(r"<[^>]+>", "", para)
            assert len(visible) <= 300, f"{chapter}: {len(visible)} characters: {visible[:30]}"


def test_the_train_test_gap_text_follows_the_manifest(built_site: Path) -> None:
    """The features chapter says how the distance between training and test accuracy
    changes from the single-layer network to the widest one, per data set, as the
    manifest's accuracies say (it widens on the subsets; on larger training sets it
    need not), and explains only the changes it reports."""
    m = manifest(built_site)
    acc = {e["name"]: (e["train_accuracy"], e["test_accuracy"]) for e in m["experiments"]}
    tol = m["facts"]["cmp.same_within"]["value"]
    widest = max(m["facts"]["mnist.sweep.widths"]["value"])
    text = body_text_without_facts(page(built_site, "features"))
    said = {}
    for prefix in ("mnist", "cifar"):
        gap = {w: acc[f"{prefix}-sweep-{w}"][0] - acc[f"{prefix}-sweep-{w}"][1]
               for w in (0, widest)}
        change = gap[widest] - gap[0]
        said[prefix] = "几乎没变" if abs(change) < tol else ("拉大了" if change > 0 else "缩小了")
    if said["mnist"] == said["cifar"]:
        assert f"在 MNIST 和 CIFAR-10 上都{said['mnist']}" in text, said
    else:
        assert f"在 MNIST 上{said['mnist']}，在 CIFAR-10 上{said['cifar']}" in text, said
    assert ("距离拉大，说明" in text) == ("拉大了" in said.values())
    assert ("距离缩小，说明" in text) == ("缩小了" in said.values())
