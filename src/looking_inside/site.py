"""The site glue: what ``gen/`` scripts and the macros module call.

The mkdocs process never trains or renders itself. A warm build answers from the
cache (a few milliseconds); anything missing is made by ``python -m looking_inside
figures`` in a child process, so that under ``mkdocs serve`` an edit to ``src/``
runs the *edited* code (the server's own imports would be stale), and torch is never
imported into the server.
"""

from __future__ import annotations

import html
import json
import logging
import os
import posixpath
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from looking_inside.build import Builder, Manifest
from looking_inside.cache import REPAIRED
from looking_inside.config import Settings, load_settings
from looking_inside.errors import BuildError
from looking_inside.machine import die_with_parent

log = logging.getLogger("mkdocs.plugins.looking_inside.site")

FIGURE_DIR = "figures"
DATA_DIR = "assets/data"

_current: Manifest | None = None
_scratch: tempfile.TemporaryDirectory[str] | None = None
# A build begun by ``start`` and not yet waited for: its settings, when it began, and
# its outputs (or the child making them), with the damaged entries its lookup found.
_pending: tuple[Settings, float, Manifest | _Child, int] | None = None


def settings_for(config_file: str | None) -> Settings:
    """Settings with relative paths taken from the folder of mkdocs.yml."""
    base = Path(config_file).resolve().parent if config_file else Path.cwd()
    return load_settings(base_dir=base)


def start(settings: Settings) -> None:
    """Begin this build's outputs now: look them up in the cache, and start the child
    that makes what is missing. ``gen/hooks.py`` calls this before the search plugin
    loads jieba's dictionary (~1.2 s of every ``mkdocs build``), which the child
    overlaps; ``prepare`` then waits for it."""
    global _pending
    discard()
    t = time.perf_counter()
    with Builder(settings) as builder:
        manifest = builder.lookup()
        repaired = builder.cache.stats["corrupt"]
    if manifest is None:
        log.info("looking_inside: training and rendering what is missing (cache: %s)",
                 settings.cache_dir)
        _pending = (settings, t, _Child(settings), repaired)
    else:
        _pending = (settings, t, manifest, repaired)


def discard() -> None:
    """Forget a started build that nothing waited for (its mkdocs build failed before
    ``gen/site.py`` ran), stopping its child."""
    global _pending
    if _pending is not None and isinstance(_pending[2], _Child):
        _pending[2].stop()
    _pending = None


def prepare(settings: Settings) -> Manifest:
    """The build's outputs: from the cache, else made in a child process (started by
    ``start`` if it ran for these settings, else now)."""
    global _current, _pending, _scratch
    if _pending is None or _pending[0] != settings:
        start(settings)
    assert _pending is not None
    _, t, made, repaired = _pending
    _pending = None
    if isinstance(made, _Child):
        _scratch = made.scratch
        manifest = made.wait()
        manifest.repaired += repaired
        log.info("looking_inside: made in %.1f s", time.perf_counter() - t)
    else:
        manifest = made
        log.debug("looking_inside: everything cached (%.3f s)", time.perf_counter() - t)
    _current = manifest
    return manifest


_LEVEL = re.compile(r"(DEBUG|INFO|REPAIRED|WARNING|ERROR|CRITICAL)\s*-  (.*)")


class _Child:
    """``python -m looking_inside figures`` writing into a scratch folder; its output
    is relayed to mkdocs' log as it comes, from a thread, while mkdocs goes on."""

    def __init__(self, settings: Settings) -> None:
        self.scratch = tempfile.TemporaryDirectory(prefix="looking-inside-")
        self.cmd = [sys.executable, "-m", "looking_inside", "figures", "--verbose",
                    "--out", self.scratch.name, "--data-root", str(settings.data_root),
                    "--cache-dir", str(settings.cache_dir), "--device", settings.device]
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"]
                                   if env.get("PYTHONPATH") else "")
        # Fresh .pyc files under src/ would trigger `mkdocs serve`'s watcher again.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=env, bufsize=1, preexec_fn=die_with_parent if sys.platform == "linux" else None)
        self.errors: list[str] = []
        self._relay = threading.Thread(target=self._read, daemon=True)
        self._relay.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip()
            if line.startswith("error: "):
                self.errors.append(line[len("error: "):])
            elif self.errors and line:
                self.errors.append(line)  # continuation lines of a multi-line error
            elif line:
                # Relay progress (one line per epoch) at the level the child gave it, so
                # its warnings stay warnings here.
                m = _LEVEL.match(line)
                level = logging.INFO
                if m:
                    name, line = m.groups()
                    level = REPAIRED if name == "REPAIRED" else int(logging.getLevelName(name))
                log.log(level, "looking_inside: %s", line)

    def wait(self) -> Manifest:
        rc = self.proc.wait()
        self._relay.join()
        if rc != 0:
            raise BuildError("\n".join(self.errors)
                             or f"`{' '.join(self.cmd)}` exited with {rc}")
        return Manifest.read(Path(self.scratch.name))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._relay.join()
        self.scratch.cleanup()


def current() -> Manifest:
    if _current is None:
        raise BuildError(
            "the figures and facts are not ready: gen/site.py has not run. Fix: keep "
            "`gen-files` (with `scripts: [gen/site.py]`) in the plugins of mkdocs.yml"
        )
    return _current


def write_outputs(manifest: Manifest, open_file: Callable[..., IO[Any]]) -> None:
    """Write figures, exports and the generated page through mkdocs-gen-files."""
    for fig in manifest.figures:
        for f in [*fig["files"], fig["data"]]:
            with open_file(f"{FIGURE_DIR}/{f}", "wb") as fh:
                fh.write(manifest.paths[f].read_bytes())
    for exp in manifest.exports:
        for f in exp["files"]:
            with open_file(f"{DATA_DIR}/{f}", "wb") as fh:
                fh.write(manifest.paths[f].read_bytes())
    with open_file(f"{DATA_DIR}/manifest.json", "w") as fh:
        fh.write(manifest_json(manifest))


# --- what chapters call (through gen/macros.py) ----------------------------------

def fact_value(name: str, page: str) -> Any:
    """A fact's raw value (for text that depends on it); unknown names fail alike."""
    fact_html(name, page)
    return current().facts[name]["value"]


def fact_html(name: str, page: str) -> str:
    facts = current().facts
    if name not in facts:
        near = sorted(k for k in facts if k.split(".")[0] == name.split(".")[0])
        raise BuildError(f"{page}: unknown fact {name!r}"
                         + (f"; facts with that prefix: {', '.join(near)}" if near else "")
                         + ". Fix the name in the chapter, or add the fact in "
                           "src/looking_inside/facts.py")
    text = html.escape(str(facts[name]["text"]))
    return f'<span class="li-fact" data-fact="{html.escape(name)}">{text}</span>'


# A chapter's figure calls, as written: ``{{ figure("name") }}``.
FIGURE_CALL = re.compile(r"""\{\{\s*figure\(\s*["']([^"']+)["']\s*\)\s*\}\}""")


def nav_pages(nav: Any) -> list[str]:
    """The Markdown files of mkdocs' ``nav`` setting, in reading order."""
    out: list[str] = []
    items = nav if isinstance(nav, list) else [nav]
    for item in items:
        if isinstance(item, dict):
            for value in item.values():
                out += nav_pages(value)
        elif isinstance(item, list):
            out += nav_pages(item)
        elif isinstance(item, str) and item.endswith(".md"):
            out.append(item)
    return out


def figure_numbers(docs_dir: Path, pages: list[str]) -> dict[str, tuple[int, str]]:
    """Figure name -> (number, page where it first appears), numbered 1, 2, ... in the
    order the chapters show them, so inserting a figure renumbers every later one."""
    numbers: dict[str, tuple[int, str]] = {}
    for page in pages:
        path = docs_dir / page
        if not path.is_file():
            continue
        for name in FIGURE_CALL.findall(path.read_text(encoding="utf-8")):
            numbers.setdefault(name, (len(numbers) + 1, page))
    return numbers


def figure_label(n: int) -> str:
    return f"图 {n}"


def figref_markdown(name: str, page: str, numbers: dict[str, tuple[int, str]]) -> str:
    """``图 N`` linking to the figure, on this page or another."""
    if name not in numbers:
        raise BuildError(f"{page}: figref({name!r}) names a figure that no chapter shows; "
                         "fix the name, or add {{ figure(...) }} for it to a chapter")
    n, target = numbers[name]
    href = "" if target == page else posixpath.relpath(target, posixpath.dirname(page) or ".")
    return f'[{figure_label(n)}]({href}#fig-{name}){{ .li-figref }}'


def figure_markdown(name: str, page: str, repo_url: str | None = None,
                    number: int | None = None) -> str:
    """A figure block with both palettes, caption and alt text from the registry (the
    caption starts with ``图 N`` when the figure is numbered), and under it where it
    came from: its numbers (数据) and its drawing function (代码)."""
    by_name = {f["name"]: f for f in current().figures}
    if name not in by_name:
        raise BuildError(f"{page}: unknown figure {name!r}; known figures: "
                         + ", ".join(sorted(by_name))
                         + ". Fix the name, or register the figure in "
                           "src/looking_inside/products/figures/registry.py")
    fig = by_name[name]
    rel = posixpath.relpath(FIGURE_DIR, posixpath.dirname(page) or ".")
    alt = fig["alt"].replace("[", "（").replace("]", "）")
    width = f" width={fig['width']}" if fig.get("width") else ""
    label = f'<span class="li-fignum">{figure_label(number)}</span>　' if number else ""
    imgs = []
    for f in fig["files"]:
        theme = f.split(".")[-2]
        imgs.append(f'![{alt}]({rel}/{f}#only-{theme}){{ loading=lazy{width} }}')
    return (f'<figure markdown="span" class="li-figure" id="fig-{name}">\n'
            + "\n".join(imgs)
            + f"\n<figcaption>{label}{html.escape(fig['caption'])}</figcaption>\n"
            + source_line(fig, rel, repo_url) + "\n</figure>")


def code_url(path: str, first: int, last: int, repo_url: str | None,
             env: Mapping[str, str] = os.environ) -> str | None:
    """A permalink to lines ``first``-``last`` of ``path``, or None where there is none.

    In GitHub Actions: the commit being built. Elsewhere: ``repo_url`` (GitHub's
    ``/blob/`` form) at the checkout's commit, if mkdocs.yml sets it.
    """
    anchor = f"{path}#L{first}-L{last}"
    server, repo, sha = (env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY",
                                              "GITHUB_SHA"))
    if server and repo and sha:
        return f"{server.rstrip('/')}/{repo}/blob/{sha}/{anchor}"
    if repo_url:
        return f"{repo_url.rstrip('/')}/blob/{_revision()}/{anchor}"
    return None


_REVISION: dict[str, str] = {}


def _revision() -> str:
    """The checkout's commit (asked once per process), else ``HEAD``."""
    if "rev" not in _REVISION:
        try:
            out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                 cwd=Path(__file__).resolve().parent, timeout=10)
            rev = out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            rev = ""
        _REVISION["rev"] = rev if re.fullmatch(r"[0-9a-f]{40}", rev) else "HEAD"
    return _REVISION["rev"]


def source_line(fig: Mapping[str, Any], rel: str, repo_url: str | None) -> str:
    """数据 · 代码: the data file and the drawing function.

    Markdown links, so that mkdocs makes the data link relative to the page and
    ``--strict`` fails if the file is missing.
    """
    code = fig["code"]
    first, last = code["lines"]
    where = f'{code["path"]}#L{first}-L{last}'
    data = f'[数据]({rel}/{fig["data"]}){{ .li-data-link download }}'
    url = code_url(code["path"], first, last, repo_url)
    if url:
        title = html.escape(f'{where}（{code["function"]}）', quote=True)
        src = f'[代码]({url}){{ .li-code-link title="{title}" }}'
    else:
        src = f'<span class="li-code-ref">代码：`{where}`</span>'
    return f'<div class="li-figure-source" markdown="span">{data} · {src}</div>'


def manifest_json(m: Manifest) -> str:
    return json.dumps(m.to_json(), ensure_ascii=False, indent=1, sort_keys=True)
