"""mkdocs hook: turn ``$...$`` maths into MathML at build time.

pymdownx.arithmatex (generic mode) marks maths as ``\\(...\\)`` / ``\\[...\\]``;
here each is converted with latex2mathml, so pages need no JavaScript and no CDN.
"""

import html
import re

from latex2mathml.converter import convert

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
