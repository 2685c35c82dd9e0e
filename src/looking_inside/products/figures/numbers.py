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
from matplotlib.lines import Line2D
from matplotlib.text import Text

# Rows, the first one the header; cells are numbers or text.
Table = list[Sequence[Any]]

# float32 carries about 7 significant digits; 6 keep files small and lose nothing a
# reader can see.
DIGITS = 6


def _cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{float(v):.{DIGITS}g}"
    return str(v)  # numpy integers print as plain digits too


def table_csv(table: Table) -> bytes:
    """CSV with ``\\n`` line ends and no trailing spaces: the same bytes every time."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([_cell(v) for v in row] for row in table)
    return buf.getvalue().encode()


def matrix_table(matrix: np.ndarray, row_name: str, rows: Sequence[str],
                 columns: Sequence[str]) -> Table:
    """A 2-D array with a label column and a header row."""
    return [[row_name, *columns], *([r, *m] for r, m in zip(rows, matrix, strict=True))]


def pixels(side: int, channels: str = "") -> list[str]:
    """Column names of a flattened image: row-major, channel-major for colour ("RGB")."""
    return [f"{ch}r{r}c{c}" for ch in channels or [""] for r in range(side) for c in range(side)]


def _round(a: np.ndarray) -> Any:
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        return a.astype(np.int64).tolist()
    return [float(f"{v:.{DIGITS}g}") for v in a.ravel()] if a.ndim <= 1 else \
        [_round(r) for r in a]


def drawn_json(fig: Figure) -> bytes:
    """What each panel of ``fig`` shows, as JSON: image arrays, line and bar data, text."""
    panels = []
    for ax in fig.axes:
        arrays = [im.get_array() for im in ax.get_images()]
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        p = {"title": ax.get_title(),
             "images": [_round(np.ma.getdata(a)) for a in arrays if a is not None],
             "bars": [_round(np.array([r.get_height() for r in c])) for c in bars],
             "lines": [_line(ln) for ln in ax.get_lines()], "text": _texts(ax.texts)}
        panels.append({k: v for k, v in p.items() if v})
    out: dict[str, Any] = {"panels": panels}
    if text := _texts(fig.texts):
        out["text"] = text
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _line(ln: Line2D) -> dict[str, Any]:
    out = {"x": _round(np.asarray(ln.get_xdata(), float)),
           "y": _round(np.asarray(ln.get_ydata(), float))}
    # matplotlib names unlabelled lines "_child0"...: not the reader's business
    if not str(ln.get_label()).startswith("_"):
        out["label"] = ln.get_label()
    return out


def _texts(texts: Sequence[Text]) -> list[str]:
    return [t.get_text() for t in texts if t.get_text().strip()]
