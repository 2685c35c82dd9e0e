"""mkdocs hooks: MathML at build time, sub-words in the search index, a quiet console.

pymdownx.arithmatex (generic mode) marks maths as ``\\(...\\)`` / ``\\[...\\]``;
here each is converted with latex2mathml, so pages need no JavaScript and no CDN.

After the build, the search index gets the parts of compound words
(``looking_inside.search``), so that 矩阵 finds 混淆矩阵.

Before anything else reads the config, the figures are looked up and, when any is
missing, the child that makes them is started (``on_config``): it then overlaps the
search plugin's ~1.2 s of loading jieba's dictionary instead of waiting for it.
``gen/site.py`` collects it.

At exit, the collector's last pass is skipped (``on_shutdown``).

The console shows our progress and real warnings only: mkdocs-macros' start-up INFO
lines and jieba's dictionary chatter are known notices, not news. (The end-of-life
banners are switched off by environment variables in the Makefile; see README,
*Versions*.)
"""

import contextlib
import html
import logging
import re
import sys
from pathlib import Path

import jieba
from latex2mathml.converter import convert
from mkdocs.plugins import event_priority

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


def on_page_content(html_text, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook signature
    return _MATH.sub(_replace, html_text)


def on_post_build(config, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook signature
    # Hooks run after the plugins, so the search plugin has written its index.
    from looking_inside import search

    index = Path(config["site_dir"]) / "search" / "search_index.json"
    if index.is_file():
        before, after = search.rewrite(index)
        log.debug("search index with sub-words: %d -> %d bytes", before, after)


@event_priority(100)  # before every plugin's: the search plugin's loads jieba's dictionary
def on_config(config, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook signature
    if "gen-files" not in config.plugins:
        return  # nothing would collect it (the benchmark's build without our plugins)
    from looking_inside import live

    site = live.fresh("looking_inside.site")
    # An error here, gen/site.py meets again and reports as the build's error.
    with contextlib.suppress(site.BuildError):
        site.start(site.settings_for(config.config_file_path))


def on_build_error(error, **kwargs):  # noqa: ANN001, ANN201 - mkdocs hook signature
    _discard()


def _discard() -> None:
    # A build begun in on_config and never collected: its child is stopped.
    site = sys.modules.get("looking_inside.site")
    if site is not None:
        site.discard()


def on_shutdown(**kwargs):  # noqa: ANN003, ANN201 - mkdocs hook signature
    _discard()
    # mkdocs is about to exit (after `build`, or when `serve` stops), every file
    # written. At exit Python walks all objects for cycles, ~0.25 s with the theme,
    # jieba's dictionary and our package loaded, to free memory the OS takes back
    # anyway: frozen objects are skipped. Exit handlers still run.
    import gc

    gc.freeze()
