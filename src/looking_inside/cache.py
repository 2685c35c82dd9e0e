"""A content-addressed cache of build artefacts (trained results, figures, facts).

An entry is a folder ``<cache>/<kind>/<name>/<key>/`` holding its files and a
``STAMP`` written last, which records the key and every file's sha256. An entry is
only ever read through its stamp, so a half-written, truncated, edited or foreign
entry is detected, reported as a warning and rebuilt. Entries are assembled in a
private temp folder and moved in with one ``rename``: a build killed at any point
leaves either no entry or a whole one, and two builds writing the same entry
at once both succeed (the second rename loses and its identical copy is dropped).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.plugins.looking_inside.cache")

STAMP = "STAMP"
FORMAT = 1  # bump when the layout of entries changes


def _fault_point(name: str) -> None:
    """Fault injection for the crash tests: ``LOOKING_INSIDE_FAULT=pause-<name>`` stops
    here for a minute, so a test can SIGKILL the build at exactly this point."""
    if os.environ.get("LOOKING_INSIDE_FAULT") == f"pause-{name}":
        import time

        time.sleep(60)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` so readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are served to readers
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_json(obj: Any) -> str:
    """Key of a JSON-able object: canonical JSON, sha256."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return sha256_bytes(text.encode())


_SOURCE_HASHES: dict[tuple[str, int, int], str] = {}


def source_hash(modules: Iterable[str]) -> str:
    """Hash of the *current on-disk* source of the named modules of this package.

    Read from disk rather than from imported modules so that, under ``mkdocs serve``,
    an edit to ``src/`` moves the key even though the server imported the old code.
    """
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for mod in sorted(modules):
        path = here.joinpath(*mod.split(".")).with_suffix(".py")
        st = path.stat()
        memo = (str(path), st.st_size, st.st_mtime_ns)
        digest = _SOURCE_HASHES.get(memo)
        if digest is None:
            digest = sha256_file(path)
            _SOURCE_HASHES[memo] = digest
        h.update(f"{mod}\0{digest}\0".encode())
    return h.hexdigest()


def versions(*packages: str) -> dict[str, str]:
    """Installed versions, read from package metadata (no import: torch costs 1-2 s)."""
    return {p: _version(p) for p in packages}


@functools.cache
def _version(package: str) -> str:
    # Memoised: a metadata scan costs ~5 ms and every cache key asks for several;
    # a process never sees its installed packages change under it in practice.
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


@dataclass(frozen=True)
class Entry:
    """A verified cache entry: its folder and the files the stamp vouches for."""

    path: Path
    digests: Mapping[str, str]  # file name -> sha256, as recorded in the stamp
    info: Mapping[str, Any]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(sorted(self.digests))

    def file(self, name: str) -> Path:
        return self.path / name


STALE_SECONDS = 3600.0


def _sweep_stale(parent: Path) -> None:
    """Remove temp folders that killed builds left behind (never ones in use)."""
    import time

    now = time.time()
    for child in parent.glob(".tmp-*"):
        try:
            if now - child.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            pass


class Cache:
    """Entries under one cache folder. ``enabled=False`` after a failed write: the
    build carries on without caching and says so once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.enabled = True
        self.stats = {"hits": 0, "misses": 0, "corrupt": 0}

    def entry_dir(self, kind: str, name: str, key: str) -> Path:
        return self.root / kind / name / key

    def get(self, kind: str, name: str, key: str) -> Entry | None:
        """The entry if it exists and every file matches its stamp; else None.

        A damaged entry is logged as a warning and moved out of the way.
        """
        d = self.entry_dir(kind, name, key)
        stamp_path = d / STAMP
        try:
            raw = stamp_path.read_bytes()
        except FileNotFoundError:
            self.stats["misses"] += 1
            return None
        except OSError as exc:
            return self._corrupt(d, f"unreadable stamp ({exc})")
        try:
            stamp = json.loads(raw)
            files = stamp["files"]
            if stamp.get("format") != FORMAT or stamp.get("key") != key or \
                    stamp.get("kind") != kind or stamp.get("name") != name:
                return self._corrupt(d, "stamp belongs to another entry")
            if not isinstance(files, dict):
                raise TypeError("files is not a mapping")
            for fname, digest in files.items():
                if sha256_file(d / fname) != digest:
                    return self._corrupt(d, f"{fname} does not match its recorded hash")
        except FileNotFoundError as exc:
            return self._corrupt(d, f"missing file {Path(exc.filename or '?').name}")
        except (ValueError, KeyError, TypeError, OSError) as exc:
            return self._corrupt(d, f"unreadable stamp ({exc})")
        self.stats["hits"] += 1
        return Entry(path=d, digests=dict(files), info=stamp.get("info", {}))

    def _corrupt(self, d: Path, why: str) -> Entry | None:
        """Report and discard a damaged entry; returns None so callers can return it."""
        self.stats["corrupt"] += 1
        log.warning("cache entry %s is damaged (%s); rebuilding it", d, why)
        self._discard(d)
        return None

    def _discard(self, d: Path) -> None:
        # Rename first so a concurrent reader never sees a half-deleted entry.
        trash = d.parent / f".trash-{uuid.uuid4().hex}"
        try:
            os.rename(d, trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def put(self, kind: str, name: str, key: str, files: Mapping[str, bytes],
            info: Mapping[str, Any] | None = None) -> Entry | None:
        """Store ``files`` as an entry; returns it, or None when caching is off."""
        if not self.enabled:
            return None
        final = self.entry_dir(kind, name, key)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            _sweep_stale(final.parent)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        except OSError as exc:
            self._disable(exc)
            return None
        try:
            digests = {}
            for fname, data in files.items():
                (tmp / fname).write_bytes(data)
                digests[fname] = sha256_bytes(data)
            stamp = {"format": FORMAT, "kind": kind, "name": name, "key": key,
                     "files": digests, "info": dict(info or {})}
            _fault_point("before-stamp")
            # The stamp goes in last: an entry without one is never read.
            (tmp / STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True))
            try:
                os.rename(tmp, final)
            except OSError:
                # Another build stored the same key first; keep theirs if it is whole.
                if self.get(kind, name, key) is None:
                    os.rename(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            self._disable(exc)
            return None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return Entry(path=final, digests=digests, info=dict(info or {}))

    def _disable(self, exc: OSError) -> None:
        self.enabled = False
        log.warning("cannot write to the cache folder %s (%s); building without a cache. "
                    "Fix: make it writable or set LOOKING_INSIDE_CACHE to a writable folder",
                    self.root, exc)

    def prune(self, kind: str, name: str, keep: str, older_than: float = STALE_SECONDS) -> None:
        """Drop other versions of an entry, once they are ``older_than`` seconds old.

        Old keys are what every code or config edit leaves behind; the grace period
        spares entries a concurrent build (say, `mkdocs serve` on other code) just made.
        """
        import time

        parent = self.root / kind / name
        if not self.enabled or not parent.is_dir():
            return
        now = time.time()
        for child in parent.iterdir():
            if child.name == keep or child.name.startswith("."):
                continue
            try:
                if now - child.stat().st_mtime > older_than:
                    self._discard(child)
            except OSError:
                pass
