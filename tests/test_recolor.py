"""A figure's dark file, recoloured from its light one, against the dark one drawn."""

from __future__ import annotations

import dataclasses

import pytest

from looking_inside.products.figures import render, style
from looking_inside.products.figures.recolor import recolor
from looking_inside.products.figures.registry import FIGURES
from looking_inside.products.inputs import ProductInputs

from helpers import fake_inputs


@pytest.fixture(scope="module")
def inputs() -> ProductInputs:
    return fake_inputs()


def _drawn(draw, theme: style.Theme) -> bytes:
    style.setup(theme)
    return style.save(draw(theme))


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_every_figure_recolours_to_its_drawn_dark_file(spec, inputs: ProductInputs
                                                       ) -> None:
    """The guarantee the build relies on, for every registered figure: one that
    chose anything but colours by palette fails here unless it says
    ``recolour=False``, and one that says so needs it."""
    draw = spec.render_function()
    light = _drawn(lambda t: draw(inputs, t), style.LIGHT)
    dark = _drawn(lambda t: draw(inputs, t), style.DARK)
    assert light != dark
    if spec.recolour:
        assert recolor(light, style.LIGHT, style.DARK) == dark
    else:
        assert recolor(light, style.LIGHT, style.DARK) != dark, "recolour=False not needed"
    # And what the build makes: the dark file drawn, or recoloured to the same bytes.
    assert render.files(spec, inputs)[spec.filename("dark")] == dark


def _markers(theme: style.Theme):
    fig = style.new_figure(3, 2)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 3, 2], marker="o", color=theme.positive)
    ax.plot([0, 1, 2], [2, 1, 0], marker="s", color=theme.negative, alpha=0.5)
    ax.bar([0.5, 1.5], [1, 2], color=theme.node, edgecolor=theme.edge)
    ax.set_title("标题", color=theme.muted)
    return fig


def test_markers_are_renamed_as_matplotlib_names_them() -> None:
    light, dark = _drawn(_markers, style.LIGHT), _drawn(_markers, style.DARK)
    assert b"<use xlink:href=\"#m" in light  # markers drawn, by hashed names
    assert recolor(light, style.LIGHT, style.DARK) == dark
    assert recolor(dark, style.DARK, style.LIGHT) == light


def test_no_answer_where_the_file_or_the_themes_leave_doubt() -> None:
    light = _drawn(_markers, style.LIGHT)
    # A marker named otherwise than by its path and style (another matplotlib?).
    name = light.split(b'<path id="', 1)[1][:11]
    assert recolor(light.replace(name, b"m0123456789"), style.LIGHT, style.DARK) is None
    # Hatch patterns are named by a hash of their colours too; not renamed here.
    assert recolor(light.replace(b"</defs>", b"<pattern id=\"h1\"/></defs>", 1),
                   style.LIGHT, style.DARK) is None
    # One light colour with two dark ones, or a colour by name.
    twice = dataclasses.replace(style.LIGHT, muted=style.LIGHT.fg)
    assert recolor(light, twice, style.DARK) is None
    named = dataclasses.replace(style.LIGHT, fg="black")
    assert recolor(light, named, style.DARK) is None
