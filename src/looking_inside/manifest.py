"""The manifest: what a build produced, written by ``build`` into its output folder and
read by the site (``site``, the macros). A module of its own so that the site engine's
process reads it without importing the build."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from looking_inside.errors import BuildError

# Where each kind of file is published, relative to the site (and to ``out``).
FIGURE_DIR = "figures"
DATA_DIR = "assets/data"
MANIFEST = f"{DATA_DIR}/manifest.json"


@dataclass
class Manifest:
    """What a build produced, and what the site says about how it was built."""

    figures: list[dict[str, Any]]
    facts: dict[str, Any]
    experiments: list[dict[str, Any]]
    exports: list[dict[str, Any]]
    versions: dict[str, str]
    data: dict[str, Any]
    repaired: int = 0  # damaged cache entries found and rebuilt by this build
    made: list[str] = field(default_factory=list)  # products made (not from the cache)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "made"}

    @classmethod
    def read(cls, out: Path) -> Manifest:
        try:
            return cls(**json.loads((out / MANIFEST).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise BuildError(f"{out / MANIFEST}: no readable manifest ({exc}); run "
                             f"`python -m looking_inside generate --out {out}`") from exc
