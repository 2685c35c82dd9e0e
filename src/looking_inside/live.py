"""Fresh code for a long-running ``mkdocs serve``: the glue in ``gen/`` asks here.

The server imports the package once. When a source file under it has changed since
(a caption in the registry, a new figure or fact), every module of the package but
this one is dropped from ``sys.modules`` and imported again, so each rebuild runs
the code as it is on disk, with no restart.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

_ROOT = Path(__file__).resolve().parent
_stamp: tuple[tuple[str, int, int], ...] | None = None


def _source_stamp() -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in sorted(_ROOT.rglob("*.py")):
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


def fresh(name: str) -> ModuleType:
    """``name`` (a module of the package), re-imported if any source changed."""
    global _stamp
    stamp = _source_stamp()
    if _stamp is not None and stamp != _stamp:
        for mod in [m for m in sys.modules if m.startswith("looking_inside.")]:
            if mod != __name__:
                del sys.modules[mod]
    _stamp = stamp
    return importlib.import_module(name)


_stamp = _source_stamp()  # what the server imported along with this module
