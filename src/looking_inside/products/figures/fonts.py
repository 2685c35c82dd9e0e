"""Which font files the figures can draw Chinese with, identified without matplotlib.

A figure's cache key must move when its font changes (another file in
``LOOKING_INSIDE_FONT``, a CJK font installed or updated) and a warm build must not
import matplotlib to find out, so the identity is read from the font folders.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ENV_FONT = "LOOKING_INSIDE_FONT"

# Families that cover Simplified Chinese, best first (Linux, macOS, Windows).
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "PingFang SC", "Heiti SC",
    "Microsoft YaHei", "SimHei",
)
# Parts of the file names those families ship in (lower case).
CJK_FILE_HINTS = ("cjk", "sourcehan", "wqy", "wenquanyi", "pingfang", "heiti", "stheiti",
                  "msyh", "simhei", "notosanssc")


def cjk_files() -> list[Path]:
    """Installed font files whose names say they carry Chinese glyphs."""
    home = Path.home()
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
            home / ".local/share/fonts", home / ".fonts",
            Path("/Library/Fonts"), Path("/System/Library/Fonts"), home / "Library/Fonts"]
    if os.environ.get("WINDIR"):
        dirs.append(Path(os.environ["WINDIR"]) / "Fonts")
    found = []
    for d in dirs:
        for dirpath, _, names in os.walk(d):
            found += [Path(dirpath) / n for n in names
                      if any(h in n.lower() for h in CJK_FILE_HINTS)]
    return sorted(found)


def identity() -> str:
    """A hash that moves when the font the figures would use can have changed."""
    h = hashlib.sha256()
    chosen = os.environ.get(ENV_FONT)
    h.update(f"{ENV_FONT}={chosen or ''}\0".encode())
    for p in [Path(chosen)] if chosen else cjk_files():
        try:
            st = p.stat()
            # ctime too: an in-place rewrite can restore the mtime, not the ctime.
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0"
                     f"{st.st_ino}\0".encode())
        except OSError:
            h.update(f"{p}\0missing\0".encode())
    return h.hexdigest()
