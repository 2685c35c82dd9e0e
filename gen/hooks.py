"""mkdocs hooks: $maths$ as MathML at build time (latex2mathml: no JavaScript, no
CDN), a figure's phone layout linked relative to the page, the parts of compound words
in the search index (so 矩阵 finds 混淆矩阵), and a console without mkdocs-macros' and
jieba's start-up chatter."""

import html
import logging
import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

import jieba
from latex2mathml.converter import convert

# Hooks load with the config, before any plugin's events: early enough for both.
logging.getLogger("mkdocs.plugins.mkdocs_macros").setLevel(logging.WARNING)
jieba.setLogLevel(logging.WARNING)  # the search plugin's segmenter logs at DEBUG
log = logging.getLogger("mkdocs.plugins.looking_inside.hooks")

_MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*(?:\\\((?P<inline>.+?)\\\)|\\\[(?P<block>.+?)\\\])'
    r"\s*</(?P=tag)>",
    re.S,
)
_SRCSET = re.compile(r'(<source\b[^>]*?\ssrcset=")([^"]*)(")')


def _replace(m: re.Match) -> str:
    block = m.group("block") is not None
    tex = html.unescape(m.group("block") if block else m.group("inline"))
    mathml = convert(tex.strip(), display="block" if block else "inline")
    return f'<span class="li-math{" li-math-block" if block else ""}">{mathml}</span>'


def on_page_content(html_text, page, files, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook
    """Maths as MathML, and ``<source srcset>`` (a figure's phone layout: one URL, as
    ``site.figure_markdown`` writes it, relative to the Markdown file) made relative to
    the page, as mkdocs does for the image's link (it rewrites only the <a> and <img> it
    parsed; Zensical rewrites raw HTML too). A missing file is a warning: --strict fails."""
    def srcset(m: re.Match) -> str:
        url = html.unescape(m.group(2))
        if urlsplit(url).scheme or url.startswith("/"):
            return m.group(0)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), url))
        file = files.get_file_from_path(target)
        if file is None:
            log.warning("%s: <source srcset> names %s, which is not in the site",
                        page.file.src_uri, target)
            return m.group(0)
        return m.group(1) + html.escape(file.url_relative_to(page.file)) + m.group(3)

    return _SRCSET.sub(srcset, _MATH.sub(_replace, html_text))


def on_post_build(config, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook signature
    # Hooks run after the plugins, so the search plugin has written its index.
    from looking_inside import search

    index = Path(config["site_dir"]) / "search" / "search_index.json"
    if index.is_file():
        before, after = search.rewrite(index)
        log.debug("search index with sub-words: %d -> %d bytes", before, after)
