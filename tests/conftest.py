"""Shared fixtures: the real data root, and one real `mkdocs build --strict` per session."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
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


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results cache the site tests share (LOOKING_INSIDE_CACHE if set)."""
    env = os.environ.get("LOOKING_INSIDE_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, data_root: Path,
               session_cache: Path) -> Path:
    """The whole site, built once with `mkdocs build --strict` on the real data."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root),
               LOOKING_INSIDE_CACHE=str(session_cache), LOOKING_INSIDE_DOWNLOAD="0")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


# --- a real browser on the built site ---------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


@pytest.fixture(scope="module")
def server(built_site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (fetch() does not work from file://)."""
    handler = functools.partial(_Quiet, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


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
