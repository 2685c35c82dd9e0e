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
import errno
import functools
import hashlib
import io
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from looking_inside.errors import BuildError

log = logging.getLogger("mkdocs.plugins.looking_inside.cache")

# A repaired entry is news, not a failure: logged above INFO so every build shows
# it, below WARNING so `mkdocs build --strict` (which counts warnings) still passes
# on the build that repairs it.
REPAIRED = 25
logging.addLevelName(REPAIRED, "REPAIRED")

# A file name an entry may hold: a plain name inside its folder, nothing else.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[0-9a-f]{64}")

STAMP = "STAMP"
FORMAT = 1  # bump when the layout of entries changes


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


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_regular(path: Path, limit: int | None = None,
                 follow: bool = False) -> io.BufferedReader:
    """Open a regular file to read: nothing that blocks opening (a FIFO), its type and
    size checked before any read, no symlink followed unless ``follow`` (data files may
    be links to a shared copy; cache entries never hold one). The one way every reader
    of data, cache entries and results opens a file. Raises OSError or ValueError."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags if follow else flags | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        if limit is not None and st.st_size > limit:
            raise ValueError(f"{path.name} is larger than {limit:,} bytes")
        os.set_blocking(fd, True)
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sha256_file(path: Path, follow: bool = False) -> str:
    with open_regular(path, follow=follow) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_stamp(stamp: object, kind: str, name: str, key: str) -> dict[str, str]:
    """The stamp's file table if every field is as ``put`` writes it; else ValueError.
    File names must be plain names (no separators, no ``..``, no hidden files), so a
    crafted stamp cannot point outside its entry."""
    if not isinstance(stamp, dict):
        raise ValueError("stamp is not an object")
    if [stamp.get(k) for k in ("format", "kind", "name", "key")] != [FORMAT, kind, name, key]:
        raise ValueError("stamp belongs to another entry")
    files, info = stamp.get("files"), stamp.get("info", {})
    if not isinstance(files, dict) or not files:
        raise ValueError("no file table")
    if not isinstance(info, dict):
        raise ValueError("info is not an object")
    for fname, digest in files.items():
        if not isinstance(fname, str) or not _NAME.fullmatch(fname) or fname == STAMP:
            raise ValueError(f"bad file name {str(fname)[:40]!r}")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise ValueError(f"bad digest for {fname}")
    return dict(files)


def hash_json(obj: Any) -> str:
    """Key of a JSON-able object: canonical JSON, sha256."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return sha256_bytes(text.encode())


def versions(*packages: str) -> dict[str, str]:
    """Installed versions, read from package metadata (importing torch is slow)."""
    return {p: _version(p) for p in packages}


@functools.cache  # every cache key asks for several
def _version(package: str) -> str:
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


STALE_SECONDS = 3600.0


def _sweep_stale(parent: Path) -> None:
    """Remove the temp folders of builds that are gone (``.tmp-<pid>-…``: its process
    no longer runs), or, for any other, an hour old; never one in use."""
    for child in parent.glob(".tmp-*"):
        gone = False
        try:
            os.kill(int(child.name.split("-")[1]), 0)
        except ProcessLookupError:  # its build is gone
            gone = True
        except (ValueError, IndexError, OSError):
            pass
        with contextlib.suppress(OSError):
            if gone or time.time() - child.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(child, ignore_errors=True)


class Cache:
    """Entries under one cache folder. A folder that refuses a write (read-only, full,
    a file in its place) stops the build with one error that says so; it still serves
    whatever it holds, so a read-only cache that has everything builds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repaired = 0  # damaged entries found (and discarded) so far

    def entry_dir(self, kind: str, name: str, key: str) -> Path:
        return self.root / kind / name / key

    def get(self, kind: str, name: str, key: str,
            check: Callable[[Mapping[str, str]], None] | None = None,
            hashed: Collection[str] | None = None) -> Entry | None:
        """The entry if it exists and every file matches its stamp; else None (a damaged
        entry is reported and moved away). ``check(files)`` may refuse files wrong for
        its kind (ValueError). ``hashed``: the files whose bytes are read now (the rest
        must be there, and are hashed by a later ``get`` before they are read)."""
        d = self.entry_dir(kind, name, key)
        if not self.root.is_dir():  # no cache folder yet (or a file in its place)
            return None
        try:  # no symlink on the way: a restored cache may come from elsewhere, point anywhere
            moved = d.resolve() != self.root.resolve() / kind / name / key
        except (OSError, RuntimeError):
            moved = True
        if moved:
            return self.corrupt(d, "the entry or a folder above it is a symlink")
        try:
            with open_regular(d / STAMP, limit=1 << 20) as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return self.corrupt(d, f"unreadable stamp ({exc})")
        try:
            stamp = json.loads(raw)
            files = check_stamp(stamp, kind, name, key)
            if check is not None:
                check(files)
            for fname, digest in files.items():
                if hashed is not None and fname not in hashed:
                    if not stat.S_ISREG((d / fname).lstat().st_mode):
                        raise ValueError(f"{fname} is not a regular file")
                elif sha256_file(d / fname) != digest:
                    return self.corrupt(d, f"{fname} does not match its recorded hash")
        except FileNotFoundError as exc:
            return self.corrupt(d, f"missing file {Path(exc.filename or '?').name}")
        except (ValueError, OSError, RecursionError) as exc:
            return self.corrupt(d, f"bad stamp ({str(exc)[:80]})")
        return Entry(path=d, digests=files, info=stamp.get("info", {}))

    def corrupt(self, d: Path, why: str) -> Entry | None:
        """Report and discard a damaged entry; returns None so callers can return it."""
        self.repaired += 1
        log.log(REPAIRED, "cache entry %s is damaged (%s); rebuilding it", d, why)
        self.discard(d)
        return None

    def discard(self, d: Path) -> None:
        with contextlib.suppress(OSError):
            if d.is_symlink():  # never follow it: drop the link alone
                d.unlink()
                return
            # Rename first so a concurrent reader never sees a half-deleted entry.
            trash = d.parent / f".trash-{uuid.uuid4().hex}"
            os.rename(d, trash)
            shutil.rmtree(trash, ignore_errors=True)

    def put(self, kind: str, name: str, key: str, files: Mapping[str, bytes],
            info: Mapping[str, Any] | None = None) -> Entry:
        """Store ``files`` as an entry, assembled aside and moved in with one rename."""
        final = self.entry_dir(kind, name, key)
        info = dict(info or {})
        digests = {fname: sha256_bytes(data) for fname, data in files.items()}
        tmp = None
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            _sweep_stale(final.parent)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=final.parent))
            for fname, data in files.items():
                (tmp / fname).write_bytes(data)
            stamp = {"format": FORMAT, "kind": kind, "name": name, "key": key,
                     "files": digests, "info": info}
            # Fault injection: the crash tests SIGKILL the build while it waits here.
            if os.environ.get("LOOKING_INSIDE_FAULT") == "pause-before-stamp":
                time.sleep(60)
            # The stamp goes in last: an entry without one is never read.
            (tmp / STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True))
            try:
                os.rename(tmp, final)
            except OSError:
                # Another build stored the same key first; keep theirs if it is whole.
                if self.get(kind, name, key) is None:
                    os.rename(tmp, final)
        except OSError as exc:
            raise self.refused(exc) from exc
        finally:
            if tmp is not None and tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return Entry(path=final, digests=digests, info=info)

    def check_writable(self) -> None:
        """Fail now, not after training, if entries cannot be stored: tried by making
        and removing a folder where they go."""
        try:
            if self.root.exists() and not self.root.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "a file is in its place")
            self.root.mkdir(parents=True, exist_ok=True)
            os.rmdir(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        except OSError as exc:
            raise self.refused(exc) from exc

    def refused(self, exc: OSError) -> BuildError:
        return BuildError(f"{self.root}: cannot write to the cache folder ({exc}); fix: "
                          "make it writable, free disk space, or set LOOKING_INSIDE_CACHE "
                          "to a writable folder")

    def prune(self, kind: str, name: str, keep: str) -> None:
        """Drop other versions of an entry, once they are an hour old: old keys are what
        every edit leaves behind, and the grace period spares entries a concurrent build
        (say, `mkdocs serve` on other code) just made."""
        parent = self.root / kind / name
        if not parent.is_dir():
            return
        for child in parent.iterdir():
            with contextlib.suppress(OSError):
                if child.name != keep and not child.name.startswith(".") and \
                        time.time() - child.stat().st_mtime > STALE_SECONDS:
                    self.discard(child)
