"""A cache that cannot be fooled, poisoned or crashed: crafted stamps, symlinks, damage
that a strict build repairs quietly, and a build that cleans up after itself."""

from __future__ import annotations

import filecmp
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from looking_inside.cache import REPAIRED, STAMP, Cache, sha256_bytes

from helpers import descendants, kill_and_check_no_orphans

ROOT = Path(__file__).resolve().parents[1]


def _entry(cache: Cache, files: dict[str, bytes]) -> Path:
    e = cache.put("figure", "x", "k", files)
    assert e is not None
    return e.path


def _rewrite_stamp(entry: Path, change) -> None:  # noqa: ANN001 - a callable on the dict
    stamp = json.loads((entry / STAMP).read_text())
    change(stamp)
    (entry / STAMP).write_text(json.dumps(stamp))


@pytest.mark.parametrize("crafted", ["absolute", "parent", "nested", "hidden", "stamp-itself",
                                     "empty-files", "files-not-a-dict", "info-not-a-dict",
                                     "digest-not-hex", "stamp-is-a-list", "missing-key"])
def test_a_crafted_stamp_is_damage_not_a_path(tmp_path: Path, caplog,
                                              crafted: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not for the site")
    digest = sha256_bytes(secret.read_bytes())
    cache = Cache(tmp_path / "cache")
    entry = _entry(cache, {"a.png": b"png"})
    names = {"absolute": str(secret), "parent": "../../../../secret.txt",
             "nested": "sub/a.png", "hidden": ".a.png", "stamp-itself": STAMP}
    if crafted in names:
        _rewrite_stamp(entry, lambda s: s["files"].update({names[crafted]: digest}))
    elif crafted == "empty-files":
        _rewrite_stamp(entry, lambda s: s.update(files={}))
    elif crafted == "files-not-a-dict":
        _rewrite_stamp(entry, lambda s: s.update(files=[["a.png", "x"]]))
    elif crafted == "info-not-a-dict":
        _rewrite_stamp(entry, lambda s: s.update(info=[1, 2]))
    elif crafted == "digest-not-hex":
        _rewrite_stamp(entry, lambda s: s["files"].update({"a.png": "../../x"}))
    elif crafted == "missing-key":
        _rewrite_stamp(entry, lambda s: s.pop("key"))
    else:
        (entry / STAMP).write_text("[1, 2, 3]")
    caplog.set_level(REPAIRED)
    assert cache.get("figure", "x", "k") is None
    assert "is damaged" in caplog.text
    assert not entry.exists(), "a damaged entry is moved out of the way"
    assert secret.exists(), "discarding an entry never touches what it named"


def test_a_symlink_in_an_entry_is_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not for the site")
    cache = Cache(tmp_path / "cache")
    entry = _entry(cache, {"a.png": b"png"})
    (entry / "a.png").unlink()
    (entry / "a.png").symlink_to(secret)
    _rewrite_stamp(entry, lambda s: s["files"].update({"a.png": sha256_bytes(b"not for "
                                                                              b"the site")}))
    assert cache.get("figure", "x", "k") is None
    assert secret.read_bytes() == b"not for the site"


def test_an_entry_that_is_a_symlink_is_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    other = Cache(elsewhere)
    crafted = _entry(other, {"a.png": b"crafted"})
    cache = Cache(tmp_path / "cache")
    d = cache.entry_dir("figure", "x", "k")
    d.parent.mkdir(parents=True)
    d.symlink_to(crafted)
    assert cache.get("figure", "x", "k") is None
    assert (crafted / "a.png").read_bytes() == b"crafted", "the link's target is untouched"
    # A folder higher up that is a link is no better.
    shutil.rmtree(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "figure").symlink_to(elsewhere / "figure")
    assert Cache(tmp_path / "cache").get("figure", "x", "k") is None


def _build(data_root: Path, cache: Path, site: Path, project: Path = ROOT,
           **env: str) -> subprocess.CompletedProcess:
    e = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root), LOOKING_INSIDE_CACHE=str(cache),
             LOOKING_INSIDE_DOWNLOAD="0", **env)
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(site)], cwd=project, env=e, capture_output=True, text=True)


# Pages that record the build itself (training times, what was cached or repaired).
RECORDS = {"how-built/index.html", "assets/data/manifest.json", "search/search_index.json",
           "sitemap.xml", "sitemap.xml.gz"}


def _differences(a: Path, b: Path) -> list[str]:
    files = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    other = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    assert files == other
    return sorted(f for f in files - RECORDS if not filecmp.cmp(a / f, b / f, shallow=False))


def test_single_byte_damage_is_repaired_by_a_strict_warm_build(
        built_site: Path, data_root: Path, session_cache: Path, tmp_path: Path) -> None:
    """One byte flipped in each kind of cached file, at once: the strict build passes,
    says what it repaired, and publishes exactly what a clean build publishes."""
    cache = tmp_path / "cache"
    shutil.copytree(session_cache, cache, ignore=shutil.ignore_patterns(".tmp-*", ".trash-*"))
    damaged = []
    for pattern in ("results/mnist-1layer/*/arrays.npz", "results/cifar-1layer/*/meta.json",
                    "results/mnist-2layer/*/STAMP", "figure/mnist-confusion/*/*.light.svg",
                    "figure/single-layer-network/*/*.dark.svg", "facts/facts/*/facts.json",
                    "export/confusion-mnist/*/confusion-mnist.json"):
        found = sorted(cache.glob(pattern))
        assert len(found) == 1, pattern
        data = bytearray(found[0].read_bytes())
        data[len(data) // 3] ^= 0x01
        found[0].write_bytes(bytes(data))
        damaged.append(found[0])
    proc = _build(data_root, cache, tmp_path / "site")
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert log.count("is damaged") >= len(damaged)
    assert "Traceback" not in log
    assert _differences(built_site, tmp_path / "site") == []
    page = (tmp_path / "site" / "how-built" / "index.html").read_text()
    manifest = json.loads((tmp_path / "site" / "assets/data/manifest.json").read_text())
    assert manifest["repaired"] >= len(damaged)
    assert f"{manifest['repaired']} 个条目已损坏" in page


def test_the_published_manifest_holds_no_local_paths(built_site: Path, data_root: Path,
                                                     session_cache: Path) -> None:
    text = (built_site / "assets" / "data" / "manifest.json").read_text()
    for local in (str(data_root), str(session_cache), str(Path.home()), str(ROOT)):
        assert local not in text


def test_a_build_that_cannot_write_its_output_says_so_before_training(
        data_root: Path, tmp_path: Path) -> None:
    """A file where the cache folder should be: the site's build cannot write its
    generated folder (inside the cache folder), and says so in one line, before any
    training. (``generate --out`` elsewhere still works on a temporary cache:
    ``tests/test_cache.py``.)"""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    e = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root), LOOKING_INSIDE_CACHE=str(blocker),
             LOOKING_INSIDE_DOWNLOAD="0")
    site = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, env=e, capture_output=True,
                          text=True)
    assert site.returncode != 0
    errors = [line for line in site.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "cannot write the generated files" in errors[0], site.stderr
    assert "Traceback" not in site.stderr and ": training on " not in site.stderr
    assert blocker.read_text() == "a file where the cache folder should be"


def test_killing_the_build_ends_its_children(data_root: Path, tmp_path: Path) -> None:
    """SIGKILL to mkdocs while its child trains: no process of the build lives on."""
    e = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root),
             LOOKING_INSIDE_CACHE=str(tmp_path / "cache"), LOOKING_INSIDE_DOWNLOAD="0",
             PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "mkdocs", "build", "--site-dir",
                             str(tmp_path / "site")], cwd=ROOT, env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "epoch 1/" in line:  # a trainer is at work
            break
    assert descendants(proc.pid), "the build should have a child training by now"
    kill_and_check_no_orphans(proc)


def test_logging_level_of_repairs() -> None:
    assert logging.WARNING > REPAIRED > logging.INFO
    assert logging.getLevelName(REPAIRED) == "REPAIRED"
