"""Chinese search that finds words inside compounds.

Material's search plugin cuts Chinese text into words with jieba and joins them with
zero-width spaces; in the browser, a query is segmented against the words in the
index and matched by prefix. So 混淆矩阵 is found, but 矩阵 is not: it is no word of
the index, and no prefix of one. Here every document gets a ``parts`` field holding
the sub-words jieba's search mode (``cut_for_search``) finds inside each word
(混淆矩阵 -> 混淆, 矩阵). The whole words stay in ``title`` and ``text``, which are
what results show; ``parts`` is indexed (mkdocs.yml declares the field) but never
displayed.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jieba

FIELD = "parts"
SEPARATOR = "\u200b"  # what the search plugin puts between jieba's words
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def parts(text: str) -> list[str]:
    """Sub-words of the Chinese words in ``text``, in order of first appearance,
    each once, leaving out the words themselves (they are in the index already)."""
    seen: dict[str, None] = {}
    for word in _HAN.findall(text.replace(SEPARATOR, " ")):
        seen.update(dict.fromkeys(_sub_words(word)))
    return list(seen)


@functools.cache  # most words recur across the index's documents
def _sub_words(word: str) -> tuple[str, ...]:
    # Search mode adds the 2- and 3-character words inside a longer one. A single
    # character can only come from re-cutting a word jieba guessed (HMM), and would
    # make the browser cut queries into single characters.
    return tuple(part for part in jieba.cut_for_search(word)
                 if part != word and len(part) > 1 and _HAN.fullmatch(part))


def add_parts(index: dict[str, Any]) -> dict[str, Any]:
    """The search index with a ``parts`` field on every document that has any."""
    for doc in index.get("docs", []):
        doc.pop(FIELD, None)  # idempotent: a rebuilt index is processed again
        found = parts(f"{doc.get('title', '')} {doc.get('text', '')}")
        if found:
            doc[FIELD] = SEPARATOR.join(found)
    return index


def rewrite(path: Path) -> tuple[int, int]:
    """Add the parts to the index file in place; returns its size before and after."""
    before = path.read_bytes()
    index = add_parts(json.loads(before))
    # Compact, and UTF-8 rather than the plugin's \uXXXX escapes: Chinese text is
    # half the bytes (every page loads this file, most of them on a phone).
    after = json.dumps(index, separators=(",", ":"), default=str,
                       ensure_ascii=False).encode("utf-8")
    path.write_bytes(after)
    return len(before), len(after)
