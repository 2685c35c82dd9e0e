"""The numbers behind a figure, as a small file a reader can download.

A figure module may give a figure a table of its own (``(inputs) -> Table``, named in
the figure's registry entry): the confusion counts, the template weights. Any other
figure gets what it drew, read back from the matplotlib figure (images, lines, bars,
text) as JSON, so a new figure has a data file without anyone writing one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

# Rows, the first one the header; cells are numbers or text.
Table = list[Sequence[Any]]

# float32 carries about 7 significant digits; 6 keep files small and lose nothing a
# reader can see.
DIGITS = 6


def _cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{float(v):.{DIGITS}g}"
    if isinstance(v, np.integer):
        return str(int(v))
    return str(v)


def table_csv(table: Table) -> bytes:
    """CSV with ``\\n`` line ends and no trailing spaces: the same bytes every time."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in table:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue().encode()


def matrix_table(matrix: np.ndarray, row_name: str, rows: Sequence[str],
                 columns: Sequence[str]) -> Table:
    """A 2-D array with a label column and a header row."""
    return [[row_name, *columns], *([r, *m] for r, m in zip(rows, matrix, strict=True))]


def _round(a: np.ndarray) -> Any:
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        return a.astype(np.int64).tolist()
    return [float(f"{v:.{DIGITS}g}") for v in a.ravel()] if a.ndim <= 1 else \
        [_round(r) for r in a]


def drawn(fig: Figure) -> dict[str, Any]:
    """What each panel of ``fig`` shows: image arrays, line and bar data, text."""
    panels = []
    for ax in fig.axes:
        p: dict[str, Any] = {}
        if ax.get_title():
            p["title"] = ax.get_title()
        arrays = [im.get_array() for im in ax.get_images()]
        images = [_round(np.ma.getdata(a)) for a in arrays if a is not None]
        if images:
            p["images"] = images
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        if bars:
            p["bars"] = [_round(np.array([r.get_height() for r in c])) for c in bars]
        lines = [{"x": _round(np.asarray(ln.get_xdata(), float)),
                  "y": _round(np.asarray(ln.get_ydata(), float)),
                  # matplotlib names unlabelled lines "_child0"...: not the reader's business
                  **({} if str(ln.get_label()).startswith("_") else {"label": ln.get_label()})}
                 for ln in ax.get_lines()]
        if lines:
            p["lines"] = lines
        texts = [t.get_text() for t in ax.texts if t.get_text().strip()]
        if texts:
            p["text"] = texts
        panels.append(p)
    figure_text = [t.get_text() for t in fig.texts if t.get_text().strip()]
    out: dict[str, Any] = {"panels": panels}
    if figure_text:
        out["text"] = figure_text
    return out


def drawn_json(fig: Figure) -> bytes:
    return json.dumps(drawn(fig), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()
