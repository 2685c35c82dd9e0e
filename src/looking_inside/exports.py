"""Data exported for the interactive pages (filled in by the interactive figures)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from looking_inside.build import Product

EXPORTS: list[Product] = []
