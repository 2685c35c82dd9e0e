"""Every product the site needs, in one list: the figures, the facts, the exports.

Cheap to import (no numpy, no matplotlib): a warm build reads this list to compute
keys and never makes anything.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from looking_inside.cache import versions
from looking_inside.config import experiment_names
from looking_inside.products.exports import exports
from looking_inside.products.figures.registry import FIGURES
from looking_inside.products.inputs import Product

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs


def _make_facts(inputs: ProductInputs, part: str | None = None) -> dict[str, bytes]:
    from looking_inside.products import facts

    return facts.make(inputs)


def products() -> list[Product]:
    facts = Product("facts", "facts", "products.facts", make=_make_facts,
                    experiments=tuple(experiment_names()),
                    params={"libraries": versions("numpy")})
    from looking_inside.products.figures import fonts

    font = fonts.identity()
    return [*(s.product(font) for s in FIGURES), facts, *exports()]


def warm_up(products: list[Product], quiet: bool = False, modules: bool = True) -> None:
    """Run the products' warm-ups and import their modules (both idempotent), so that
    processes forked afterwards start ready to make them.

    ``quiet``: ahead of time (while networks train, in a maker); whatever fails (no
    CJK font, say) fails again, loudly, when the products are made. ``modules=False``:
    the warm-ups alone, when which products are needed is known only later."""
    try:
        for warm in {p.warm for p in products if p.warm is not None}:
            warm()
        for p in products if modules else ():
            importlib.import_module(f"looking_inside.{p.module}")
    except Exception:
        if not quiet:
            raise
