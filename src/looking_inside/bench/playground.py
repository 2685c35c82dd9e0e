"""Benchmark, playground side: how fast 训练场's trainer runs in the reader's browser
(its Web Worker, in headless Chromium, on the built site) against the same steps of
the numpy reference the tests check it with (``tests/train_reference.py``), on one
BLAS thread.

Both sides train the same network from the same seed on the same sample file, so
they do the same work; the worker's weights are compared with numpy's afterwards to
show it. The reference lives in the tests of a checkout (``make bench`` runs from
one); without it, or without Chromium and Playwright, the row is skipped, saying why.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import importlib.util
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from looking_inside.config import PROJECT_ROOT
from looking_inside.errors import BuildError

REFERENCE = PROJECT_ROOT / "tests" / "train_reference.py"
CHROMIUM = Path(os.environ.get("LOOKING_INSIDE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGE = "interactive/train/"
SAMPLE = Path("assets") / "data" / "train-sample.bin"
HIDDEN = (0, 10)
# The settings tests/test_playground.py checks the worker against numpy with.
SETTINGS = {"lr": 0.003, "wd": 0.01, "batch": 32, "seed": 7}
ONE_THREAD = {v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


@dataclass(frozen=True)
class Row:
    hidden: int
    steps: int
    browser_s: float  # the worker's own clock around its training loop, best of reps
    numpy_s: float  # the reference's n train_step() calls, best of reps
    max_rel_diff: float  # worker vs numpy weights after the steps: the same work was done

    @property
    def browser_steps_per_s(self) -> float:
        return self.steps / self.browser_s

    @property
    def numpy_steps_per_s(self) -> float:
        return self.steps / self.numpy_s

    @property
    def ratio(self) -> float:
        """Browser speed over numpy's: above 1, the browser is faster."""
        return self.numpy_s / self.browser_s

    def to_json(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "steps": self.steps, "browser_s": self.browser_s,
                "numpy_s": self.numpy_s, "browser_steps_per_s": self.browser_steps_per_s,
                "numpy_steps_per_s": self.numpy_steps_per_s, "ratio": self.ratio,
                "max_rel_diff": self.max_rel_diff}


@dataclass(frozen=True)
class Playground:
    rows: tuple[Row, ...]
    settings: dict[str, float]
    reps: int
    skipped: str | None = None  # why nothing was measured
    # CPU seconds Chromium used that this process never reaps (its renderers exit
    # unwaited): the bench's background-load check must not count them as others'.
    untracked_cpu_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"skipped": self.skipped, "settings": self.settings, "reps": self.reps,
                "blas_threads": 1, "rows": [r.to_json() for r in self.rows]}


def missing() -> str | None:
    """Why the row cannot be measured here, or None."""
    if not REFERENCE.is_file():
        return (f"{REFERENCE} not found: the numpy reference is part of the tests of a "
                "checkout; run the bench from one")
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed; fix: pip install -e '.[test]'"
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} not found; fix: sudo apt-get install chromium, or point "
                "LOOKING_INSIDE_CHROMIUM at a Chromium or Chrome")
    return None


def measure(site_dir: Path, steps: int, reps: int) -> Playground:
    """``steps`` training steps for each of ``HIDDEN``, in the browser and in numpy."""
    why = missing()
    if why:
        return Playground((), dict(SETTINGS), reps, skipped=why)
    sample = site_dir / SAMPLE
    if not sample.is_file():
        raise BuildError(f"{sample}: the built site has no training sample; "
                         "rebuild it (the `train-sample` export makes it)")
    reaped0 = _reaped_cpu_s()
    browser, seen = _browser_runs(site_dir, steps, reps)
    untracked = max(0.0, seen - (_reaped_cpu_s() - reaped0))
    with tempfile.TemporaryDirectory(prefix="looking-inside-play-") as tmp:
        numpy = _numpy_runs(sample, steps, reps, Path(tmp))
    rows = []
    for h in HIDDEN:
        b, n = browser[h], numpy[h]
        rows.append(Row(h, steps, b["seconds"], n["seconds"],
                        _max_rel_diff(b["layers"], n["layers"])))
    return Playground(tuple(rows), dict(SETTINGS), reps, untracked_cpu_s=untracked)


def _reaped_cpu_s() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class _TreeCpu:
    """CPU seconds of this process's descendants (Linux /proc), the last reading of
    each: read before a page or the browser closes, it covers what Chromium used."""

    def __init__(self) -> None:
        self.last: dict[int, float] = {}

    def sample(self) -> None:
        from looking_inside.bench.site import _tree

        tick = os.sysconf("SC_CLK_TCK")
        for pid in _tree(os.getpid())[1:]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            self.last[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    @property
    def total(self) -> float:
        return sum(self.last.values())


def _max_rel_diff(got: list[dict[str, list[float]]], want: list[dict[str, list[float]]]
                  ) -> float:
    """Largest |difference| over largest |value|, per tensor, as the test measures it."""
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        for key in ("w", "b"):
            top = max(abs(x) for x in w[key]) or 1.0
            diff = max(abs(a - b) for a, b in zip(g[key], w[key], strict=True))
            worst = max(worst, diff / top)
    return worst


# --- the browser ----------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


@contextmanager
def serve(site_dir: Path) -> Iterator[str]:
    """The built site on 127.0.0.1 (a worker cannot start from file://)."""
    handler = functools.partial(_Quiet, directory=str(site_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


# In the page: load the sample, train `n` steps once to warm the JIT up, then `reps`
# times reset to the seed and train the same `n` steps. The time is the worker's own
# (performance.now() around its loop, `trainMs` of its last update): messages and
# drawing are the page's business, not the trainer's.
_TIMED = """async ([n, reps]) => {
    const live = window.LiPlayground.live;
    await live.steps(n);
    let best = Infinity, layers = null;
    for (let i = 0; i < reps; i++) {
        live.reset();
        layers = await live.steps(n);
        best = Math.min(best, live.latest.trainMs);
    }
    return {ms: best, layers: layers};
}"""


def _browser_runs(site_dir: Path, steps: int, reps: int
                  ) -> tuple[dict[int, dict[str, Any]], float]:
    """Per hidden size the best time and the final weights; and the CPU seconds the
    browser's processes were seen to use."""
    from playwright.sync_api import sync_playwright

    out: dict[int, dict[str, Any]] = {}
    cpu = _TreeCpu()
    s = SETTINGS
    with serve(site_dir) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for h in HIDDEN:
                page = browser.new_page()
                page.set_default_timeout(120_000)
                page.goto(f"{base}{PAGE}#h={h}&lr={s['lr']}&wd={s['wd']}&b={s['batch']}"
                          f"&seed={s['seed']}")
                page.wait_for_selector(".li-train-live[data-state=ready]", state="attached")
                got = page.evaluate(_TIMED, [steps, reps])
                if page.eval_on_selector(".li-train-live", "e => e.dataset.train") == "error":
                    raise BuildError(f"{site_dir / SAMPLE}: the playground could not read it")
                out[h] = {"seconds": got["ms"] / 1000, "layers": got["layers"]}
                cpu.sample()
                page.close()
        finally:
            cpu.sample()
            browser.close()
    return out, cpu.total


# --- numpy, in a child process so that BLAS starts with one thread ----------------------

def _numpy_runs(sample: Path, steps: int, reps: int, scratch: Path) -> dict[int, dict[str, Any]]:
    out = scratch / "numpy.json"
    code = ("from looking_inside.bench.playground import numpy_main; import sys; "
            "numpy_main(*sys.argv[1:])")
    env = dict(os.environ, **ONE_THREAD)
    proc = subprocess.run([sys.executable, "-c", code, str(sample), str(steps), str(reps),
                           str(out)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{REFERENCE}: the numpy reference failed:\n{proc.stderr[-2000:]}")
    runs: dict[str, dict[str, Any]] = json.loads(out.read_text())
    return {int(h): r for h, r in runs.items()}


def read_sample(path: Path) -> dict[str, Any]:
    """The playground's training images and labels (format: ``exports.make_sample``)."""
    import numpy as np

    from looking_inside.products.exports import SAMPLE_MAGIC, SAMPLE_VERSION

    raw = gzip.decompress(path.read_bytes())
    version, n_train, n_test = struct.unpack("<III", raw[4:16])
    if raw[:4] != SAMPLE_MAGIC or version != SAMPLE_VERSION:
        raise BuildError(f"{path}: not a version-{SAMPLE_VERSION} training sample; "
                         "rebuild the site")
    labels = np.frombuffer(raw, np.uint8, n_train, 16)
    images = np.frombuffer(raw, np.uint8, n_train * 784, 16 + n_train + n_test)
    return {"images": images.reshape(n_train, 784), "labels": labels}


def numpy_main(sample: str, steps: str, reps: str, out: str) -> None:
    """The child: time ``steps`` reference steps per hidden size, best of ``reps``;
    write the times and the final weights to ``out`` as JSON."""
    spec = importlib.util.spec_from_file_location("train_reference", REFERENCE)
    assert spec is not None and spec.loader is not None
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    data = read_sample(Path(sample))
    s, runs = SETTINGS, {}
    for h in HIDDEN:
        best, last = math.inf, None
        for _ in range(int(reps)):
            net = ref.Reference(h, s["lr"], s["wd"], s["batch"], s["seed"], data["images"],
                                data["labels"])  # initialisation is not timed, as in the worker
            t = time.perf_counter()
            for _ in range(int(steps)):
                net.train_step()
            best = min(best, time.perf_counter() - t)
            last = net
        assert last is not None
        p = last.params
        runs[h] = {"seconds": best, "layers": [
            {"w": p[i].reshape(-1).tolist(), "b": p[i + 1].tolist()} for i in range(0, len(p), 2)]}
    Path(out).write_text(json.dumps(runs))


# --- the report ---------------------------------------------------------------------------

def format_lines(p: dict[str, Any]) -> list[str]:
    """The bench table's section for the playground (``Playground.to_json()``)."""
    s = p["settings"]
    head = "6. 训练场 (the playground): the in-browser trainer against the numpy reference"
    if p["skipped"]:
        return [head, f"   skipped: {p['skipped']}"]
    steps = p["rows"][0]["steps"]
    lines = [
        head,
        f"   {steps} steps per run, batch {s['batch']}, lr {s['lr']}, weight decay {s['wd']}, "
        f"seed {s['seed']}; best of {p['reps']} after a warm-up run",
        f"{'hidden':<8}{'browser steps/s':>17}{'numpy steps/s':>15}{'browser/numpy':>15}"
        f"{'max rel. diff':>15}",
    ]
    for r in p["rows"]:
        lines.append(f"{r['hidden']:<8}{r['browser_steps_per_s']:>17.1f}"
                     f"{r['numpy_steps_per_s']:>15.1f}{r['ratio']:>14.2f}x"
                     f"{r['max_rel_diff']:>15.1e}")
    lines.append("browser: the Web Worker of the built page in headless Chromium, timed by its "
                 "own clock; numpy: tests/train_reference.py on one BLAS thread; both start "
                 "from the same seed and end with the same weights (max rel. diff).")
    return lines
