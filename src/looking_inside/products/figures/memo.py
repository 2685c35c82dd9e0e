"""One product's costly numbers, computed once for its drawings and its data table.

A figure is drawn once per palette and its table made once more, each call handed the
same ``ProductInputs``; a figure that runs networks over the test set (the shift test)
or averages a training set would otherwise do it three times.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# (function, arguments) -> (the inputs it was computed from, the value). One entry a
# key: a process makes one product at a time, and the entry goes with the next
# product's inputs.
_last: dict[tuple[Any, ...], tuple[object, Any]] = {}


def once(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn(inputs, *args)``, or what it returned for these very inputs (the same
    object) and arguments."""

    @functools.wraps(fn)
    def cached(inputs: object, *args: Any) -> T:
        key = (fn, *args)
        if key not in _last or _last[key][0] is not inputs:
            _last[key] = (inputs, fn(inputs, *args))
        return _last[key][1]

    return cached
