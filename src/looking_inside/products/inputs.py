"""What a product is, and what it is handed: only the results it declared."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from looking_inside.errors import BuildError

if TYPE_CHECKING:
    from looking_inside.data.datasets import Dataset
    from looking_inside.data.readers import Split
    from looking_inside.training.results import Results


class Declared(dict[str, Any]):
    """A mapping that names the fix when a product reads what it did not declare (its
    key would not cover that input, so its output could go stale)."""

    def __init__(self, product: str, what: str, items: Mapping[str, Any]) -> None:
        super().__init__(items)
        self.product, self.what = product, what

    def __missing__(self, name: str) -> Any:
        raise BuildError(f"{self.product} reads {self.what} {name!r}, which it does not "
                         f"declare; add it to the product's {self.what}s in its registry entry")


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
