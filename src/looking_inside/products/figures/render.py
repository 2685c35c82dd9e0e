"""How a registered figure is made: drawn in each palette, saved, and its numbers.

No matplotlib at import: the registry imports this module, and a warm build reads the
registry without drawing anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from looking_inside.products.figures.registry import FigureSpec
    from looking_inside.products.inputs import ProductInputs


def function_of(module: str, function: str) -> Callable[..., Any]:
    """A function of ``products/figures/<module>.py``: a figure's drawing or data."""
    return getattr(importlib.import_module(f"looking_inside.products.figures.{module}"), function)


def files(spec: FigureSpec, inputs: ProductInputs) -> dict[str, bytes]:
    """Both palettes of each layout, and the numbers behind them: one product, one key,
    so the data file is made from exactly the inputs the figure declared and never
    goes stale. The phone layout is the same function called with ``narrow=True``."""
    from looking_inside.products.figures import numbers, style

    draw = spec.render_function()
    out: dict[str, bytes] = {}
    for narrow in spec.layouts():
        for theme in style.THEMES:
            style.setup(theme)
            fig = draw(inputs, theme, narrow=True) if narrow else draw(inputs, theme)
            try:
                if theme is style.LIGHT and not narrow and not spec.data:
                    out[spec.data_filename()] = numbers.drawn_json(fig)
            finally:
                out[spec.filename(theme.name, narrow)] = style.save(fig)  # closes fig
    if spec.data:
        out[spec.data_filename()] = numbers.table_csv(function_of(spec.module, spec.data)(inputs))
    return out
