"""What the chapters' macros (``gen/macros.py``) call: facts, figure blocks and figure
numbers, from the manifest that ``python -m looking_inside generate`` wrote (run by
``gen/site.py``: the site engine itself never trains or renders).
"""

from __future__ import annotations

import functools
import html
import logging
import os
import posixpath
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from looking_inside.config import Settings, load_settings
from looking_inside.errors import BuildError
from looking_inside.manifest import FIGURE_DIR, Manifest


def settings_for(config_file: str | None) -> Settings:
    """Settings with relative paths taken from the folder of mkdocs.yml."""
    base = Path(config_file).resolve().parent if config_file else Path.cwd()
    return load_settings(base_dir=base)


def check_roots(settings: Settings, docs_dir: str, site_dir: str) -> None:
    """A cache folder inside the site's sources would be published (absolute paths and
    all), and one inside its output deleted by mkdocs' clean step mid-build."""
    cache = settings.cache_dir.resolve()
    for what, folder in (("docs_dir", docs_dir), ("site_dir", site_dir)):
        if cache.is_relative_to(Path(folder).resolve()):
            raise BuildError(f"LOOKING_INSIDE_CACHE={settings.cache_dir} is inside {what} "
                             f"({folder}); fix: set LOOKING_INSIDE_CACHE to a folder "
                             "outside both docs_dir and site_dir")


# --- what chapters call (through gen/macros.py) ----------------------------------

def fact_value(m: Manifest, name: str, page: str) -> Any:
    """A fact's raw value (for text that depends on it); unknown names fail alike."""
    fact_html(m, name, page)
    return m.facts[name]["value"]


def fact_html(m: Manifest, name: str, page: str) -> str:
    if name not in m.facts:
        near = sorted(k for k in m.facts if k.split(".")[0] == name.split(".")[0])
        raise BuildError(f"{page}: unknown fact {name!r}"
                         + (f"; facts with that prefix: {', '.join(near)}" if near else "")
                         + ". Fix the name in the chapter, or add the fact in "
                           "src/looking_inside/products/facts.py")
    text = html.escape(str(m.facts[name]["text"]))
    return f'<span class="li-fact" data-fact="{html.escape(name)}">{text}</span>'


# A chapter's figure calls, as written: ``{{ figure("name") }}``.
FIGURE_CALL = re.compile(r"""\{\{\s*figure\(\s*["']([^"']+)["']\s*\)\s*\}\}""")


def nav_pages(nav: Any) -> list[str]:
    """The Markdown files of mkdocs' ``nav`` setting, in reading order."""
    if isinstance(nav, str):
        return [nav] if nav.endswith(".md") else []
    items = nav.values() if isinstance(nav, dict) else nav if isinstance(nav, list) else []
    return [page for item in items for page in nav_pages(item)]


def figure_numbers(docs_dir: Path, pages: list[str]) -> dict[str, tuple[int, str]]:
    """Figure name -> (number, page where it first appears), numbered 1, 2, ... in the
    order the chapters show them, so inserting a figure renumbers every later one."""
    numbers: dict[str, tuple[int, str]] = {}
    for page in pages:
        path = docs_dir / page
        if path.is_file():
            for name in FIGURE_CALL.findall(path.read_text(encoding="utf-8")):
                numbers.setdefault(name, (len(numbers) + 1, page))
    return numbers


def figref_markdown(name: str, page: str, numbers: dict[str, tuple[int, str]]) -> str:
    """``图 N`` linking to the figure, on this page or another."""
    if name not in numbers:
        raise BuildError(f"{page}: figref({name!r}) names a figure that no chapter shows; "
                         "fix the name, or add {{ figure(...) }} for it to a chapter")
    n, target = numbers[name]
    href = "" if target == page else posixpath.relpath(target, posixpath.dirname(page) or ".")
    return f'[图 {n}]({href}#fig-{name}){{ .li-figref }}'


# Where a figure's phone layout is shown: Material's phone and small-tablet widths,
# below which the article column is narrower than the wide layouts were drawn for.
NARROW_SCREEN = "(max-width: 44.9375em)"


def figure_markdown(m: Manifest, name: str, page: str, repo_url: str | None = None,
                    number: int | None = None) -> str:
    """A figure block with both palettes (and, where the figure has one, its phone
    layout for narrow screens), caption and alt text from the registry (the caption
    starts with ``图 N`` when the figure is numbered), and under it where it came from:
    its numbers (数据) and its drawing function (代码)."""
    fig = next((f for f in m.figures if f["name"] == name), None)
    if fig is None:
        raise BuildError(f"{page}: unknown figure {name!r}; known figures: "
                         + ", ".join(sorted(f["name"] for f in m.figures))
                         + ". Fix the name, or register the figure in "
                           "src/looking_inside/products/figures/registry.py")
    rel = posixpath.relpath(FIGURE_DIR, posixpath.dirname(page) or ".")
    alt = fig["alt"].replace("[", "（").replace("]", "）")
    width = f" width={fig['width']}" if fig.get("width") else ""
    label = f'<span class="li-fignum">图 {number}</span>　' if number else ""
    narrow = fig.get("narrow")
    imgs = []
    for k, (f, theme) in enumerate(zip(fig["files"], ("light", "dark"), strict=True)):
        src = f"{rel}/{f}#only-{theme}"
        if not narrow:
            imgs.append(f"![{alt}]({src}){{ loading=lazy{width} }}")
            continue
        # The phone layout where the screen is narrow. The zoom (GLightbox) opens the
        # wide one: the link is written here, around the <picture>, and the plugin
        # told to leave the image alone (it would wrap the <img> inside the
        # <picture>, which then no longer picks a source). The srcset is relative to
        # the Markdown file, as the image's link is (gen/hooks.py makes it the page's).
        picture = (f'<picture><source media="{NARROW_SCREEN}" srcset="{rel}/'
                   f'{narrow["files"][k]}" width="{narrow["width"]}">'
                   f"![{alt}]({src}){{ loading=lazy{width} .li-skip-zoom }}</picture>")
        imgs.append(f"[{picture}]({src}){{ .glightbox data-type=image data-width=auto "
                    "data-height=auto data-desc-position=bottom }")
    return (f'<figure markdown="span" class="li-figure" id="fig-{name}">\n'
            + "\n".join(imgs)
            + f"\n<figcaption>{label}{html.escape(fig['caption'])}</figcaption>\n"
            + source_line(fig, rel, repo_url) + "\n</figure>")


def code_url(anchor: str, repo_url: str | None,
             env: Mapping[str, str] = os.environ) -> str | None:
    """A permalink to ``anchor`` (``path#L<first>-L<last>``), or None where there is none.
    In GitHub Actions: the commit being built. Elsewhere: ``repo_url`` (GitHub's
    ``/blob/`` form) at the checkout's commit, if mkdocs.yml sets it."""
    server, repo, sha = (env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY",
                                              "GITHUB_SHA"))
    if server and repo and sha:
        return f"{server.rstrip('/')}/{repo}/blob/{sha}/{anchor}"
    if repo_url:
        return f"{repo_url.rstrip('/')}/blob/{_revision()}/{anchor}"
    return None


@functools.cache
def _revision() -> str:
    """The checkout's commit, else ``HEAD``."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return rev if re.fullmatch(r"[0-9a-f]{40}", rev) else "HEAD"


def source_line(fig: Mapping[str, Any], rel: str, repo_url: str | None) -> str:
    """数据 · 代码: the data file and the drawing function, as Markdown links, so that
    mkdocs makes the data link relative to the page and ``--strict`` fails if the file
    is missing."""
    code = fig["code"]
    first, last = code["lines"]
    where = f'{code["path"]}#L{first}-L{last}'
    data = f'[数据]({rel}/{fig["data"]}){{ .li-data-link download }}'
    url = code_url(where, repo_url)
    if url:
        title = html.escape(f'{where}（{code["function"]}）', quote=True)
        src = f'[代码]({url}){{ .li-code-link title="{title}" }}'
    else:
        src = f'<span class="li-code-ref">代码：`{where}`</span>'
    return f'<div class="li-figure-source" markdown="span">{data} · {src}</div>'


_figures_log = logging.getLogger("mkdocs.plugins.looking_inside.figures")
_SRCSET = re.compile(r'(<source\b[^>]*?\ssrcset=")([^"]*)(")')


def page_relative_srcsets(html_text: str, page: Any, files: Any) -> str:
    """``<source srcset>`` (a figure's phone layout: one URL, as figure_markdown writes
    it) written relative to the Markdown file, as its image's link is, made relative to
    the page as mkdocs does for that link (it rewrites only the <a> and <img> it parsed;
    Zensical rewrites raw HTML too). A missing file is a warning: --strict fails on it."""
    def rewrite(m: re.Match) -> str:
        url = html.unescape(m.group(2))
        if urlsplit(url).scheme or url.startswith("/"):
            return m.group(0)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), url))
        file = files.get_file_from_path(target)
        if file is None:
            _figures_log.warning("%s: <source srcset> names %s, which is not in the site",
                                 page.file.src_uri, target)
            return m.group(0)
        return m.group(1) + html.escape(file.url_relative_to(page.file)) + m.group(3)

    return _SRCSET.sub(rewrite, html_text)
