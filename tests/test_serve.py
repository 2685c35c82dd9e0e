"""`mkdocs serve` picks up code edits without a restart: a changed caption, a new fact."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - 127.0.0.1 only
        return r.read().decode()


def _wait(pred, timeout: float, what: str) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_serve_picks_up_a_caption_and_a_new_fact(built_site: Path, data_root: Path,
                                                 session_cache: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    for d in ("docs", "gen"):
        shutil.copytree(ROOT / d, project / d, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    cache = tmp_path / "cache"
    shutil.copytree(session_cache, cache, ignore=shutil.ignore_patterns(".tmp-*", ".trash-*"))
    port = _free_port()
    env = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root), LOOKING_INSIDE_CACHE=str(cache),
               LOOKING_INSIDE_DOWNLOAD="0", PYTHONPATH=str(project / "src"),
               PYTHONDONTWRITEBYTECODE="1")
    log = (tmp_path / "serve.log").open("w")
    # Live reload on (the default): mkdocs 1.6 watches files only when it is on.
    proc = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
                            cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/cifar/"
    try:
        _wait(lambda: "cifar-samples" in _get(url), 120, "the first build")
        registry = project / "src/looking_inside/products/figures/registry.py"
        old = "从 CIFAR-10 测试集里随机抽出的图像"
        registry.write_text(registry.read_text().replace(old, "改过的图注：" + old))
        facts = project / "src/looking_inside/products/facts.py"
        facts.write_text(facts.read_text().replace(
            '    f: dict[str, Fact] = {"chance": _fact(0.1, pct(0.1, 0))}',
            '    f: dict[str, Fact] = {"chance": _fact(0.1, pct(0.1, 0)),\n'
            '                          "serve.new": _fact(7, "新加的事实七")}'))
        chapter = project / "docs/cifar.md"
        chapter.write_text(chapter.read_text() + '\n{{ fact("serve.new") }}\n')
        _wait(lambda: "改过的图注" in (page := _get(url)) and "新加的事实七" in page, 180,
              "the rebuild with the edited code")
        assert proc.poll() is None, "the server kept running"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in text, text[-3000:]
