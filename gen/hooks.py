"""mkdocs hooks: MathML at build time, and a quiet console.

pymdownx.arithmatex (generic mode) marks maths as ``\\(...\\)`` / ``\\[...\\]``;
here each is converted with latex2mathml, so pages need no JavaScript and no CDN.

The console shows our progress and real warnings only: mkdocs-macros' start-up INFO
lines and jieba's dictionary chatter are known notices, not news. (The end-of-life
banners are switched off by environment variables in the Makefile; see README,
*Versions*.)
"""

import html
import logging
import re

import jieba
from latex2mathml.converter import convert

# Hooks load with the config, before any plugin's events: early enough for both.
logging.getLogger("mkdocs.plugins.mkdocs_macros").setLevel(logging.WARNING)
jieba.setLogLevel(logging.WARNING)  # the search plugin's segmenter logs at DEBUG

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


def on_page_content(html_text, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook signature
    return _MATH.sub(_replace, html_text)
