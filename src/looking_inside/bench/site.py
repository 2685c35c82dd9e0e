"""Benchmark, site side: real ``mkdocs build`` runs in child processes (cold, warm,
and with our plugins taken out), their phases and peak memory, and page weight.

Builds run through one small driver that does what ``mkdocs build`` does (load the
config, start the plugins, build) and can drop plugins, so the build with our hook
and the one without it differ in nothing else.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from looking_inside.config import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "mkdocs.yml"
OUR_PLUGINS = ("gen-files", "macros")  # our hook (gen/site.py) and what reads its facts

# ``python -c`` driver: mkdocs' own build_command, minus click, plus dropping plugins.
_DRIVER = """
import json, logging, sys
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.utils.yaml import yaml_load
config_file, site_dir, drop = sys.argv[1], sys.argv[2], set(json.loads(sys.argv[3]))
logging.basicConfig(level=logging.INFO, format="%(levelname)-8s-  %(message)s")
overrides = {"site_dir": site_dir}
if drop:
    with open(config_file, "rb") as f:
        plugins = yaml_load(f).get("plugins", [])
    overrides["plugins"] = [p for p in plugins
                            if (next(iter(p)) if isinstance(p, dict) else p) not in drop]
cfg = load_config(config_file, **overrides)
cfg.plugins.on_startup(command="build", dirty=False)
try:
    build(cfg)
finally:
    cfg.plugins.on_shutdown()
"""

# Log lines that end a phase of a cold build, and the phase each one ends. The first
# data load also pays for starting the child process and importing torch.
_MARKERS = (
    (re.compile(r"training and rendering what is missing"), "mkdocs start-up"),
    (re.compile(r"looking_inside: (\w+): \d+ train / \d+ test images"), "load {}"),
    (re.compile(r"looking_inside: ([\w-]+): test accuracy"), "train {}"),
    (re.compile(r"looking_inside: \d+ figures in"), "figures + facts"),
)
FIRST_LOAD_NOTE = " (+ child start, import torch)"


@dataclass(frozen=True)
class BuildRun:
    seconds: float
    phases: tuple[tuple[str, float], ...]  # consecutive, summing to ``seconds``
    peak_rss: int  # bytes: the largest high-water mark of any one process of the build
    peak_tree_rss: int  # bytes: all processes of the build at once, sampled


class _TreeSampler(threading.Thread):
    """Polls /proc for the RSS of a process and its descendants, every ``interval`` s.

    Each process's own high-water mark (VmHWM) is exact whenever it is read; the sum
    over processes is a sample and can miss a short peak. (The kernel's ru_maxrss is
    no use here: a child inherits the benchmark's own, much larger, mark at exec.)
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_tree = 0
        self.peak_process = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            total = 0
            for pid in _tree(self.pid):
                rss, hwm = _status_kb(pid)
                total += rss
                self.peak_process = max(self.peak_process, hwm * 1024)
            self.peak_tree = max(self.peak_tree, total * 1024)
            if self.stopped.wait(self.interval):
                return


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue  # exited while we looked
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [p for p, pp in parents.items() if pp in frontier]
        tree.extend(frontier)
    return tree


def _status_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB; zeros once the process is gone."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return rss, hwm


def _env(data_root: Path, cache: Path, device: str) -> dict[str, str]:
    return dict(os.environ, LOOKING_INSIDE_DATA=str(data_root), LOOKING_INSIDE_CACHE=str(cache),
                LOOKING_INSIDE_DEVICE=device, LOOKING_INSIDE_DOWNLOAD="0",
                PYTHONUNBUFFERED="1")  # lines must arrive when they are logged


def run_build(site_dir: Path, env: dict[str, str], drop: tuple[str, ...] = (),
              project: Path = PROJECT_ROOT) -> BuildRun:
    """One build in a child process; phases from the time each marker line arrives."""
    cmd = [sys.executable, "-c", _DRIVER, str(project / "mkdocs.yml"), str(site_dir),
           json.dumps(list(drop))]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    sampler = _TreeSampler(proc.pid) if Path("/proc/self/status").exists() else None
    if sampler:
        sampler.start()
    assert proc.stdout is not None
    phases: list[tuple[str, float]] = []
    last = start
    tail: list[str] = []
    for line in proc.stdout:
        now = time.perf_counter()
        tail = (tail + [line.rstrip()])[-40:]
        for pattern, name in _MARKERS:
            m = pattern.search(line)
            if m:
                label = name.format(*m.groups())
                if label.startswith("load ") and not any(p.startswith("load ") for p, _ in phases):
                    label += FIRST_LOAD_NOTE
                phases.append((label, now - last))
                last = now
                break
    proc.wait()
    end = time.perf_counter()
    if sampler:
        sampler.stopped.set()
        sampler.join()
    if proc.returncode != 0:
        from looking_inside.errors import BuildError

        raise BuildError("benchmark build failed (mkdocs exited with "
                         f"{proc.returncode}):\n" + "\n".join(tail))
    phases.append(("mkdocs pages" if phases else "mkdocs build", end - last))
    # Trainers run in parallel and each logs its own loads: a label that repeats
    # adds to its first occurrence, so the phases still sum to the build's time.
    merged: dict[str, float] = {}
    for label, seconds in phases:
        merged[label] = merged.get(label, 0.0) + seconds
    return BuildRun(seconds=end - start, phases=tuple(merged.items()),
                    peak_rss=sampler.peak_process if sampler else 0,
                    peak_tree_rss=sampler.peak_tree if sampler else 0)


def cold_build(data_root: Path, cache: Path, site_dir: Path, device: str) -> BuildRun:
    """A build with an empty cache: it trains, renders and builds everything."""
    return run_build(site_dir, _env(data_root, cache, device))


# --- the edit loops ---------------------------------------------------------------------

# The figure whose drawing the edit loop changes: the example of a figure edit.
EDITED_FIGURE = "cifar-samples"


def _edit_function(path: Path, function: str, i: int) -> None:
    """A real edit to the body of ``function`` in ``path``: a statement before its
    first, as a contributor's change would be (a comment no longer counts: keys are
    of the syntax, see ``sources.slice_hash``)."""
    import ast

    lines = path.read_text().splitlines(keepends=True)
    node = next(n for n in ast.parse("".join(lines)).body
                if isinstance(n, ast.FunctionDef) and n.name == function)
    first = node.body[0]
    lines.insert(first.lineno - 1, " " * first.col_offset + f"edit = {i}\n")
    path.write_text("".join(lines))


@dataclass(frozen=True)
class EditLoop:
    figure_s: tuple[float, ...]  # edit the figure module -> `figures` run finished
    chapter_s: tuple[float, ...]  # edit one chapter line -> `mkdocs build` finished
    made: str  # what the last figure run made, as it said

    def to_json(self) -> dict[str, Any]:
        return {"figure_s": list(self.figure_s), "chapter_s": list(self.chapter_s),
                "figure_median_s": statistics.median(self.figure_s),
                "chapter_median_s": statistics.median(self.chapter_s), "made": self.made}


def edit_loops(data_root: Path, cache: Path, scratch: Path, device: str,
               reps: int) -> EditLoop:
    """What a contributor waits for, on a copy of the project (the repo is not touched).

    Figure edit: add a statement to the function that draws ``cifar-samples`` and run
    ``python -m looking_inside figures``, which renders that figure again (both
    palettes). Chapter edit: append a line to a chapter and run ``mkdocs build``,
    everything else cached.
    """
    import shutil

    from looking_inside.products.figures.registry import get_figure
    from looking_inside.sources import module_path

    project = scratch / "edit-project"
    shutil.copytree(PROJECT_ROOT / "docs", project / "docs")
    shutil.copytree(PROJECT_ROOT / "gen", project / "gen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CONFIG, project / "mkdocs.yml")
    shutil.copytree(PROJECT_ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    # Bytecode is written, as in a contributor's checkout: only the edited module is
    # compiled again.
    env = _env(data_root, cache, device) | {"PYTHONPATH": str(project / "src")}
    out = scratch / "edit-figures"
    cmd = [sys.executable, "-m", "looking_inside", "figures", "--out", str(out)]
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm, not counted
    figure, made = [], ""
    spec = get_figure(EDITED_FIGURE)
    edited = project / "src" / module_path(f"products.figures.{spec.module}").relative_to(
        module_path("").parents[1])
    for i in range(reps):
        _edit_function(edited, spec.function, i)
        t = time.perf_counter()
        proc = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        figure.append(time.perf_counter() - t)
        made = proc.stdout.strip().rpartition("made: ")[2].partition(";")[0]
    run_build(scratch / "edit-site", env, project=project)  # warm, not counted
    chapter = []
    for i in range(reps):
        with (project / "docs" / "intro.md").open("a") as f:
            f.write(f"\n改一个错别字 {i}。\n")
        chapter.append(run_build(scratch / "edit-site", env, project=project).seconds)
    return EditLoop(tuple(figure), tuple(chapter), made)


# --- warm rebuild ----------------------------------------------------------------------

@dataclass(frozen=True)
class WarmRebuild:
    full_s: tuple[float, ...]  # the site build, everything cached
    plain_s: tuple[float, ...]  # the same build without gen-files and macros
    hook_s: tuple[float, ...]  # site.prepare + write_outputs in this process

    @property
    def full_median(self) -> float:
        return statistics.median(self.full_s)

    @property
    def plain_median(self) -> float:
        return statistics.median(self.plain_s)

    @property
    def added_s(self) -> float:
        return self.full_median - self.plain_median

    @property
    def ratio(self) -> float:
        return self.full_median / self.plain_median

    def to_json(self) -> dict[str, Any]:
        return {"full_s": list(self.full_s), "plain_s": list(self.plain_s),
                "hook_in_process_s": list(self.hook_s), "full_median_s": self.full_median,
                "plain_median_s": self.plain_median, "added_s": self.added_s,
                "ratio": self.ratio, "hook_in_process_median_s": statistics.median(self.hook_s)}


def warm_rebuild(data_root: Path, cache: Path, scratch: Path, device: str,
                 reps: int) -> WarmRebuild:
    """Alternate full and plain builds so both see the same background load.

    One build first, not counted: it warms the disk cache and the ``.pyc`` files, and
    rebuilds whatever a source edit since the cold build has invalidated.
    """
    env = _env(data_root, cache, device)
    run_build(scratch / "warm-up", env)
    full, plain = [], []
    for i in range(reps):
        full.append(run_build(scratch / f"warm-{i}", env).seconds)
        plain.append(run_build(scratch / f"plain-{i}", env, drop=OUR_PLUGINS).seconds)
    hook = _hook_in_process(data_root, cache, scratch, device, reps)
    return WarmRebuild(tuple(full), tuple(plain), hook)


def _hook_in_process(data_root: Path, cache: Path, scratch: Path, device: str, reps: int
                     ) -> tuple[float, ...]:
    """What gen/site.py does on a warm build, timed without process start-up."""
    from looking_inside import site
    from looking_inside.config import load_settings
    from looking_inside.errors import BuildError

    settings = load_settings(data_root=data_root, cache_dir=cache, device=device,
                             base_dir=PROJECT_ROOT)
    out = scratch / "hook-out"

    def open_file(name: str, mode: str = "r") -> Any:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open(mode)

    if site.Builder(settings).lookup() is None:  # else prepare() would train
        raise BuildError(f"the warm-rebuild benchmark found the cache {cache} cold")
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        site.write_outputs(site.prepare(settings), open_file)
        times.append(time.perf_counter() - t)
    return tuple(times)


# --- page weight -------------------------------------------------------------------------

class _Refs(html.parser.HTMLParser):
    """Files a page makes the browser fetch on load: images, scripts, stylesheets."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img" and a.get("src"):
            self.images.append(a["src"] or "")
        elif tag == "script" and a.get("src"):
            self.assets.append(a["src"] or "")
        elif tag == "link" and a.get("href") and "stylesheet" in (a.get("rel") or "").split():
            self.assets.append(a["href"] or "")


@dataclass(frozen=True)
class PageWeight:
    page: str
    html: int  # bytes
    assets: int  # scripts and stylesheets
    images: int  # figures of one palette (the heavier); a reader never loads both
    images_both: int  # both palettes, for reference

    @property
    def total(self) -> int:
        return self.html + self.assets + self.images


def page_weights(site_dir: Path) -> list[PageWeight]:
    out = []
    for page in sorted(site_dir.rglob("index.html")):
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))

        def size(ref: str, base: Path = page.parent) -> int:
            ref = ref.split("#", 1)[0].split("?", 1)[0]
            if not ref or "://" in ref or ref.startswith("data:"):
                return 0  # remote or inline: nothing the site serves
            f = (base / ref).resolve()
            return f.stat().st_size if f.is_file() else 0

        by_palette: dict[str, int] = {}
        for src in set(parser.images):
            palette = src.rsplit("#only-", 1)[1] if "#only-" in src else "both"
            by_palette[palette] = by_palette.get(palette, 0) + size(src)
        shared = by_palette.pop("both", 0)
        rel = page.parent.relative_to(site_dir).as_posix()
        out.append(PageWeight(
            page=(rel + "/") if rel != "." else "index", html=page.stat().st_size,
            assets=sum(size(s) for s in set(parser.assets)),
            images=shared + max(by_palette.values(), default=0),
            images_both=shared + sum(by_palette.values()),
        ))
    return out
