"""Every product the site needs, in one list: the figures, the facts, the exports.

Cheap to import (no numpy, no matplotlib): a warm build reads this list to compute
keys and never makes anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from looking_inside.cache import versions
from looking_inside.config import experiment_names
from looking_inside.products.exports import exports
from looking_inside.products.figures import fonts
from looking_inside.products.figures.registry import FIGURES
from looking_inside.products.inputs import Product

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs


FACTS_FILE = "facts.json"


def _make_facts(inputs: ProductInputs) -> dict[str, bytes]:
    from looking_inside.products import facts  # numpy: only when facts are made

    return {FACTS_FILE: facts.make(inputs)}


def products() -> list[Product]:
    # The images too: some facts measure what a picture shows against them (templates
    # against the average training image of their class; the digits misread as 0 or
    # 1, and the shift test, on test images).
    facts = Product("facts", "facts", "products.facts", make=_make_facts,
                    experiments=tuple(experiment_names()), datasets=("mnist", "cifar10"),
                    params={"libraries": versions("numpy")}, reads_train=True)
    font = fonts.identity()
    return [*(s.product(font) for s in FIGURES), facts, *exports()]
