"""What a product is, and what it is handed: only the results it declared."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from looking_inside.errors import BuildError

if TYPE_CHECKING:
    from looking_inside.data.datasets import Dataset
    from looking_inside.data.readers import Split
    from looking_inside.training.results import Results


class Declared(Mapping[str, Any]):
    """A read-only mapping that names the fix when a product reads what it did not
    declare (its key would not cover that input, so its output could go stale)."""

    def __init__(self, product: str, what: str, items: Mapping[str, Any]) -> None:
        self._product, self._what, self._items = product, what, dict(items)

    def __getitem__(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            raise BuildError(
                f"{self._product} reads {self._what} {name!r}, which it does not declare; "
                f"add it to the product's {self._what}s in its registry entry"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class ProductInputs:
    """What products read: trained results and test images, as declared."""

    results: Mapping[str, Results]  # by experiment name
    test: Mapping[str, Split]  # by data set name
    # Training images of the same declared data sets, for products that read them (the
    # key already covers them: a data set's fingerprint is both splits).
    train: Mapping[str, Split] = field(default_factory=dict)


@dataclass(frozen=True)
class Product:
    """One cached unit of output."""

    kind: str  # "figure", "facts" or "export"
    name: str
    module: str  # the module (relative to the package) whose code makes it
    make: Callable[[ProductInputs], dict[str, bytes]]  # inputs -> files
    experiments: tuple[str, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)  # other inputs to the key
    reads_train: bool = False  # the training images of its data sets too, not only test

    @property
    def code(self) -> tuple[str, str]:
        """The modules its key starts from: its own, and the one ``make`` is in (for a
        figure, how every figure is drawn and saved)."""
        where = getattr(self.make, "func", self.make).__module__
        return self.module, where.removeprefix("looking_inside.")


T = TypeVar("T")
# ``once``'s values: (function, arguments) -> (the inputs it was computed from, the
# value). One entry a key: a process makes one product at a time, and the entry goes
# with the next product's inputs.
_last: dict[tuple[Any, ...], tuple[object, Any]] = {}


def once(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn(inputs, *args)``, or what it returned for these very inputs (the same
    object) and arguments. A figure is drawn once per palette and its table made once
    more, each call handed the same ``ProductInputs``; a figure that runs networks over
    the test set (the shift test) or averages a training set would otherwise do it
    three times."""

    @functools.wraps(fn)
    def cached(inputs: object, *args: Any) -> T:
        key = (fn, *args)
        if key not in _last or _last[key][0] is not inputs:
            _last[key] = (inputs, fn(inputs, *args))
        return _last[key][1]

    return cached
