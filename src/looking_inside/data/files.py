"""Which files make up a data set, and their identity, without importing numpy.

Kept apart from ``readers`` so a warm build can compute cache keys cheaply.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from looking_inside.cache import atomic_write_bytes, sha256_file
from looking_inside.config import ENV_DATA, Settings
from looking_inside.data.datasets import spec
from looking_inside.errors import BuildError

# Files at most this big are hashed on every build: cheaper than trusting a stat.
SMALL_FILE = 1 << 16
# A stat younger than this is not memoised (coarse file system clocks).
RACY_NS = 2_000_000_000


def unreadable(path: Path, exc: Exception) -> BuildError:
    return BuildError(f"{path}: cannot read ({exc}); put the real file there, or delete it "
                      "and download again")


def missing_error(root: Path, dataset: str, missing: list[Path], why: str) -> BuildError:
    """One line: what is missing and why, the layout expected, and the fix."""
    listed = ", ".join(p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
                       for p in missing)
    return BuildError(
        f"{dataset}: data files not found under {root} ({why}): {listed}; expected "
        f"layout: {spec(dataset).layout}; fix: set {ENV_DATA} to a folder in torchvision's "
        f"layout (offline machines: {ENV_DATA}=../shared/data), or run once with network "
        "access so torchvision can download the files"
    )


def fingerprint(settings: Settings, dataset: str) -> str:
    """A hash of the data set's source files, memoised by their stat in the cache.

    Hashing 200 MB on every build would cost more than the whole warm build, so a
    large file whose stat is unchanged reuses its recorded hash, as git does; small
    files are always hashed. Size and mtime alone can be faked (edit in place, then
    restore the mtime with ``touch -r``); the inode change time cannot be set from user
    space and moves on every write, and device + inode catch a file replaced by another.
    """
    memo_path = settings.cache_dir / "data-hashes.json"
    memo: Any = {}
    with contextlib.suppress(OSError, ValueError):
        memo = json.loads(memo_path.read_text())
    if not isinstance(memo, dict):
        memo = {}
    h = hashlib.sha256(dataset.encode())
    changed = False
    for p in spec(dataset).source_files(settings.data_root):
        try:
            st = p.stat()
        except OSError as exc:
            raise missing_error(settings.data_root, dataset, [p], str(exc)) from exc
        ident = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
        entry = memo.get(str(p))
        if st.st_size > SMALL_FILE and isinstance(entry, dict) and entry.get("stat") == ident \
                and isinstance(entry.get("sha256"), str):
            digest = entry["sha256"]
        else:
            try:
                digest = sha256_file(p, follow=True)
            except (OSError, ValueError) as exc:
                raise unreadable(p, exc) from exc
            # A file changed within the timestamps' granularity of our stat can change
            # again without moving them ("racy git"): trust a stat only once it is old.
            settled = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_NS
            if st.st_size > SMALL_FILE and settled:
                memo[str(p)] = {"stat": ident, "sha256": digest}
                changed = True
        h.update(p.name.encode() + b"\0" + digest.encode())
    if changed:
        # The memo only saves time; an unwritable cache is reported elsewhere.
        with contextlib.suppress(OSError):
            atomic_write_bytes(memo_path, json.dumps(memo, indent=1, sort_keys=True).encode())
    return h.hexdigest()
