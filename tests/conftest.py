"""Shared fixtures: the real data root, and one real `mkdocs build --strict` per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _data_root() -> Path:
    env = os.environ.get("LOOKING_INSIDE_DATA")
    return Path(env).resolve() if env else (ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = _data_root()
    if not (root / "MNIST" / "raw").is_dir():
        pytest.fail(f"real data not found at {root}; set LOOKING_INSIDE_DATA (see README)")
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
