"""mkdocs hooks: $maths$ as MathML at build time (latex2mathml: no JavaScript, no
CDN), a figure's phone layout linked relative to the page, the parts of compound words
in the search index (so 矩阵 finds 混淆矩阵), and a console without mkdocs-macros' and
jieba's start-up chatter."""

import html
import logging
import re
from pathlib import Path

import jieba
from latex2mathml.converter import convert

from looking_inside.site import page_relative_srcsets

# Hooks load with the config, before any plugin's events: early enough for both.
logging.getLogger("mkdocs.plugins.mkdocs_macros").setLevel(logging.WARNING)
jieba.setLogLevel(logging.WARNING)  # the search plugin's segmenter logs at DEBUG
log = logging.getLogger("mkdocs.plugins.looking_inside.search")

_MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*(?:\\\((?P<inline>.+?)\\\)|\\\[(?P<block>.+?)\\\])'
    r"\s*</(?P=tag)>",
    re.S,
)


def _replace(m: re.Match) -> str:
    block = m.group("block") is not None
    tex = html.unescape(m.group("block") if block else m.group("inline"))
    mathml = convert(tex.strip(), display="block" if block else "inline")
    return f'<span class="li-math{" li-math-block" if block else ""}">{mathml}</span>'


def on_page_content(html_text, page, files, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook
    return page_relative_srcsets(_MATH.sub(_replace, html_text), page, files)


def on_post_build(config, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook signature
    # Hooks run after the plugins, so the search plugin has written its index.
    from looking_inside import search

    index = Path(config["site_dir"]) / "search" / "search_index.json"
    if index.is_file():
        before, after = search.rewrite(index)
        log.debug("search index with sub-words: %d -> %d bytes", before, after)
