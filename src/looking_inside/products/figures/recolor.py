"""A figure in another palette, by swapping its colours instead of drawing it again.

A figure's two SVG files differ only in colour values: the browser draws the shapes,
so there are no anti-aliased pixels to get wrong. Swapping each of the light theme's
colours for the dark one's gives the dark file byte for byte, provided the figure
chooses only its colours by palette, not the pixels of its images (those say
``recolour=False`` in the registry; ``tests/test_recolor.py`` checks every registered
figure against its drawn dark file). That halves the drawing of the figures, the
heaviest of them (the capacity sweep, the training curves) among the last a cold
build makes.

One more thing names a colour: matplotlib names each marker shape by a hash of its
path and full style. Those names are recomputed; where the light file's own names
do not check out, or a colour could map two ways, or a hashed element we do not
rename is present (hatch patterns), there is no answer and the figure is drawn.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

import matplotlib as mpl

from looking_inside.products.figures.style import Theme

_COLOR = re.compile(r"#[0-9a-f]{6}\b")
# A marker's definition, and the style of its first use.
_MARKER = re.compile(r'<path id="(m[0-9a-f]{10})" d="([^"]*)"')
_USE = r'<use xlink:href="#{}" x="[^"]*" y="[^"]*" style="([^"]*)"'


def recolor(svg: bytes, src: Theme, dst: Theme) -> bytes | None:
    """``svg`` drawn in ``src``, as drawn in ``dst``; None where that cannot be sure."""
    swap: dict[str, str] = {}
    for f in dataclasses.fields(Theme):
        if f.name == "name":
            continue
        a, b = getattr(src, f.name).lower(), getattr(dst, f.name).lower()
        if not (_COLOR.fullmatch(a) and _COLOR.fullmatch(b)):
            return None  # a named colour: matplotlib writes its hex value
        if swap.setdefault(a, b) != b:
            return None  # one light colour, two dark ones
    text = svg.decode()
    salt = mpl.rcParams["svg.hashsalt"]
    if salt is None or "<pattern" in text:
        return None
    markers = []
    for oid, d in _MARKER.findall(text):
        use = re.search(_USE.format(oid), text)
        if use is None or _marker_id(salt, d, use.group(1)) != oid:
            return None  # not named the way we would name it
        markers.append((oid, d, use.group(1)))
    text = _swap(text, swap)
    for oid, d, style in markers:
        new = _marker_id(salt, d, _swap(style, swap))
        text = text.replace(f'id="{oid}"', f'id="{new}"').replace(f'"#{oid}"', f'"#{new}"')
    return text.encode()


def _swap(text: str, swap: dict[str, str]) -> str:
    return _COLOR.sub(lambda m: swap.get(m.group(0), m.group(0)), text)


def _marker_id(salt: str, d: str, style: str) -> str:
    """As ``RendererSVG._make_id('m', (path data, css))`` names a marker."""
    return "m" + hashlib.sha256(salt.encode() + str((d, style)).encode()).hexdigest()[:10]
