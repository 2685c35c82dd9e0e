"""Selections from the capacity sweep's results, shared by its figures and facts so
that the picture and the text always name the same network.

Apart from ``analysis``: this reads the experiment list in ``config``, and a module
there would put ``config`` into the cache key of every figure that uses ``analysis``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from looking_inside.config import Dataset, sweep_experiments

if TYPE_CHECKING:
    from looking_inside.training.results import Results


def best_point(results: Mapping[str, Results], dataset: Dataset) -> str | None:
    """The sweep's most accurate perceptron on ``dataset`` (first seed of each point;
    a tie goes to the first name in sorted order), among ``results``; None if none of
    the sweep is there."""
    names = sorted(e.name for e in sweep_experiments(dataset)
                   if e.seed == 0 and e.name in results)
    return max(names, key=lambda n: results[n].test_accuracy) if names else None
