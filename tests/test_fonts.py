"""Installing the CJK font after a failed build must make the next build work.

matplotlib caches its font list in ``$MPLCONFIGDIR/fontlist-*.json`` and never looks
again, so a font installed after the list was made is invisible. The test makes that
state for real: matplotlib builds the list, then every CJK entry is dropped from it
(as if the font had been installed afterwards), and a fresh process must still find
the font, and leave a list that has it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from looking_inside.products.figures.fonts import CJK_FAMILIES, cjk_files

CHILD = """
from matplotlib import font_manager
before = {f.name for f in font_manager.fontManager.ttflist}
from looking_inside.products.figures.style import cjk_family
print(sorted(set(before) & set(CJK)))
print(cjk_family())
"""


def run(code: str, env: dict[str, str]) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    return proc.stdout.strip().splitlines()


@pytest.mark.skipif(not any("NotoSansCJK" in p.name for p in cjk_files()),
                    reason="needs fonts-noto-cjk (installed by `make` and CI)")
def test_font_installed_after_the_font_list_was_cached_is_found(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LOOKING_INSIDE_FONT"}
    env["MPLCONFIGDIR"] = str(tmp_path)
    run("import matplotlib.font_manager", env)  # matplotlib writes its font list
    (cache,) = tmp_path.glob("fontlist-*.json")
    data = json.loads(cache.read_text())
    cjk = [f for f in data["ttflist"] if "CJK" in f["name"] or f["name"] in CJK_FAMILIES]
    assert cjk, "the font list should hold the installed CJK fonts"
    data["ttflist"] = [f for f in data["ttflist"] if f not in cjk]
    cache.write_text(json.dumps(data))

    before, family = run(f"CJK = {list(CJK_FAMILIES)!r}\n" + CHILD, env)
    assert before == "[]", "the child must start from the edited (stale) list"
    assert family == "Noto Sans CJK SC"
    # The rebuilt list was saved: the next process finds the font without a rebuild.
    names = {f["name"] for f in json.loads(cache.read_text())["ttflist"]}
    assert "Noto Sans CJK SC" in names
