"""Shared fixtures: the real data root, and one real `mkdocs build --strict` per session."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# --- tiers ----------------------------------------------------------------------------
# Every test is in one tier, decided here and nowhere else. `unit` (`make test-fast`,
# `pytest -m unit`): no built site, no browser, no real training or site engine, no
# test of a real process's crash or a download. `full`: the rest; `make test` runs both.
FULL_FIXTURES = {"built_site", "server", "browser", "session_cache", "generated",
                 "zensical_site", "zensical_server", "project_copy"}
# Whole modules of real processes: crashes and races of trainers, a download from a
# local server, `mkdocs serve`, the CLI on hostile roots.
FULL_MODULES = {"test_cache", "test_cache_hostile", "test_download", "test_serve",
                "test_data_hostile", "test_ci", "test_trust", "test_map_page"}
# Single tests that train or build for real although nothing above says so.
FULL_TESTS = {"test_full_size_files_load",
              "test_a_figure_module_edit_moves_exactly_its_figures_keys",
              "test_a_helper_edit_moves_the_keys_of_what_imports_it",
              "test_a_chapter_edit_moves_no_key"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: the fast tier (make test-fast)")
    config.addinivalue_line("markers", "full: needs a built site, a browser or real processes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__ if item.module else ""  # type: ignore[attr-defined]
        full = (FULL_FIXTURES & set(getattr(item, "fixturenames", ())) or module in FULL_MODULES
                or item.originalname in FULL_TESTS)  # type: ignore[attr-defined]
        item.add_marker(pytest.mark.full if full else pytest.mark.unit)
    # The full tier first: under pytest-xdist (`make test`), the first worker then builds
    # the shared site while the other runs unit tests, instead of waiting for it.
    items.sort(key=lambda item: item.get_closest_marker("full") is None)
# Debian's Chromium; GitHub's runners point this at their preinstalled Chrome.
CHROMIUM = Path(os.environ.get("LOOKING_INSIDE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _data_root() -> Path:
    """$LOOKING_INSIDE_DATA, else the shared subsets beside the checkout, else the
    per-user folder `make data` downloads into."""
    env = os.environ.get("LOOKING_INSIDE_DATA")
    if env:
        return Path(env).resolve()
    shared = (ROOT.parent / "shared" / "data").resolve()
    if shared.is_dir():
        return shared
    from looking_inside.config import default_data_root

    return default_data_root()


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = _data_root()
    if not (root / "MNIST" / "raw").is_dir():
        pytest.fail(f"real data not found at {root}; run `make data` or set "
                    "LOOKING_INSIDE_DATA (see README)")
    return root


def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every pytest-xdist worker of this run sees (their base temp folders are
    siblings); without xdist, the session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def once(folder: Path) -> Iterator[bool]:
    """Held by one worker at a time; yields whether ``folder`` still has to be made
    (the first worker makes it, the others then reuse it: one site per run)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder.parent / f".{folder.name}.done"
        yield not done.exists()
        done.touch()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results cache the site tests share (LOOKING_INSIDE_CACHE if set)."""
    env = os.environ.get("LOOKING_INSIDE_CACHE")
    if env:
        return Path(env)
    cache = shared(tmp_path_factory) / "cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, data_root: Path,
               session_cache: Path) -> Path:
    """The whole site, built once with `mkdocs build --strict` on the real data; or, when
    LOOKING_INSIDE_SITE names one (the workflow, `make ci-full`), the site already built
    there, so the tests read exactly what is published. That site must come from the
    tests' cache (LOOKING_INSIDE_CACHE): its manifest is the one generated there."""
    prebuilt = os.environ.get("LOOKING_INSIDE_SITE")
    if prebuilt:
        site = (ROOT / prebuilt).resolve()
        published = site / "assets" / "data" / "manifest.json"
        generated = session_cache / "generated" / "assets" / "data" / "manifest.json"
        if not published.is_file():
            pytest.fail(f"LOOKING_INSIDE_SITE={prebuilt}: no built site there ({published} "
                        "is missing); run `mkdocs build --strict` first, or unset it")
        if not generated.is_file() or generated.read_bytes() != published.read_bytes():
            pytest.fail(f"LOOKING_INSIDE_SITE={prebuilt} was not built from "
                        f"LOOKING_INSIDE_CACHE={session_cache} (its manifest differs from "
                        f"{generated}); set both to the same build's")
        return site
    out = shared(tmp_path_factory) / "site"
    with once(out) as todo:
        if todo:
            env = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root),
                       LOOKING_INSIDE_CACHE=str(session_cache), LOOKING_INSIDE_DOWNLOAD="0")
            proc = subprocess.run(
                [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                cwd=ROOT, env=env, capture_output=True, text=True,
            )
            assert proc.returncode == 0, \
                f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="session")
def generated(built_site: Path, session_cache: Path) -> Path:
    """The folder ``python -m looking_inside generate`` wrote for the built site."""
    return session_cache / "generated"


# --- a real browser on the built site ---------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


def serve(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 (fetch() does not work from file://)."""
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server(built_site: Path) -> Iterator[str]:
    """The built site over HTTP."""
    yield from serve(built_site)


@pytest.fixture()
def project_copy(tmp_path: Path) -> Path:
    """The project's chapters and glue copied aside (the code is the real one)."""
    dst = tmp_path / "project"
    dst.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", dst)
    shutil.copytree(ROOT / "docs", dst / "docs")
    shutil.copytree(ROOT / "gen", dst / "gen", ignore=shutil.ignore_patterns("__pycache__"))
    (dst / "src").symlink_to(ROOT / "src")
    return dst


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser tests drive Debian's Chromium. "
                    "Fix: `sudo apt-get install chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()
