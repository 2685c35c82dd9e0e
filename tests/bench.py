"""The benchmark: ``python tests/bench.py --out DIR [--against TREE] [--quick]``.

Writes DIR/report.md and .json (--against: the other tree's result and ours / its); the
trees take turns at every step, on scratch copies. Compare ratios, never seconds across runs.
1. Cold build, ``mkdocs build --strict -q``, empty cache, the real subsets; full scale
   estimated as the cold build plus, per experiment, epochs x step 4's full-size epoch
   x (1 - subset images / full images), over the CPUs (one trainer per CPU).
2. Warm rebuild against mkdocs.yml without gen-files, macros, hooks. 3. Figure edit:
   a comment appended to products/figures/cifar.py, then the generator.
4. One epoch per experiment on the subsets tiled to full size: the tree's train_epoch
   (one thread, in a child) against a tutorial loop and against the floor (memory
   bandwidth and GEMM rate of one core).
5. The playground: ``LiPlayground.live.steps(N)`` in headless Chromium, by the worker's
   clock, against the same steps of tests/train_reference.py in numpy (one thread).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
BASE_ENV = dict(os.environ)  # for the children, before BLAS is limited to one thread
CPUS = len(os.sched_getaffinity(0))
FULL_N = {"mnist": 60000, "cifar10": 50000}
QUICK_EXPERIMENTS = ("mnist-1layer", "cifar-sweep-100", "mnist-conv")
PLAY = {"lr": 0.003, "wd": 0.01, "b": 32, "seed": 7}  # as tests/test_playground.py


def say(what: str, started: float = time.perf_counter()) -> None:
    print(f"bench [{time.perf_counter() - started:4.0f} s]: {what}", file=sys.stderr)


class Tree:
    """A scratch copy of what one checkout builds from, with its own cache and site."""

    def __init__(self, name: str, source: Path, scratch: Path, data: Path) -> None:
        self.name, self.data = name, data
        self.dir, self.cache = scratch / name / "tree", scratch / name / "cache"
        self.site = scratch / name / "site"
        for part in ("src", "gen", "docs"):
            shutil.copytree(source / part, self.dir / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        shutil.copy(source / "mkdocs.yml", self.dir)
        main = (self.dir / "src/looking_inside/__main__.py").read_text()
        self.generator = "generate" if '"generate"' in main else "figures"

    def run(self, *args: str) -> tuple[float, str]:
        """Seconds of ``python ARGS`` in the copy, and its stdout."""
        env = dict(BASE_ENV, PYTHONPATH=str(self.dir / "src"),
                   LOOKING_INSIDE_CACHE=str(self.cache), LOOKING_INSIDE_DATA=str(self.data),
                   LOOKING_INSIDE_DOWNLOAD="0", NO_MKDOCS_2_WARNING="1",
                   DISABLE_MKDOCS_2_WARNING="true")
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, *args], cwd=self.dir, env=env,
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"{self.name}: `python {' '.join(args)}` failed:\n{proc.stderr[-3000:]}")
        return time.perf_counter() - t, proc.stdout

    def build(self, *flags: str, plain: bool = False) -> float:
        config, site = ("plain.yml", "plain-site") if plain else ("mkdocs.yml", self.site)
        return self.run("-m", "mkdocs", "build", "-q", *flags, "-f", config, "-d", str(site))[0]

    def generate(self) -> float:
        out = self.dir.parent / "generated"
        return self.run("-m", "looking_inside", self.generator, "--out", str(out))[0]


def alternate(trees: list[Tree], reps: int, fn) -> dict[str, list]:
    """``fn(tree, i)`` for i in range(reps), the trees taking turns."""
    out: dict[str, list] = {t.name: [] for t in trees}
    for i in range(reps):
        for t in trees:
            out[t.name].append(fn(t, i))
    return out


def warm_rebuild(trees: list[Tree], reps: int) -> dict[str, dict]:
    """Warm builds with and without our plugins (medians)."""
    import yaml

    for t in trees:
        cfg = yaml.safe_load((t.dir / "mkdocs.yml").read_text())
        ours = ("gen-files", "macros")
        cfg["plugins"] = [p for p in cfg["plugins"] if not (p in ours or (
            isinstance(p, dict) and next(iter(p)) in ours))]
        cfg.pop("hooks", None)
        (t.dir / "plain.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
        t.build()  # not counted (both): .pyc files, the disk cache
        t.build(plain=True)
    full = alternate(trees, reps, lambda t, i: t.build())
    plain = alternate(trees, reps, lambda t, i: t.build(plain=True))
    medians = {n: (statistics.median(full[n]), statistics.median(plain[n])) for n in full}
    return {n: {"full_s": f, "plain_s": p, "added_s": f - p} for n, (f, p) in medians.items()}


def figure_edit(trees: list[Tree], reps: int) -> dict[str, float]:
    def edit(t: Tree, i: int) -> float:
        with (t.dir / "src/looking_inside/products/figures/cifar.py").open("a") as f:
            f.write(f"# bench edit {i}\n")
        return t.generate()

    for t in trees:
        t.generate()  # not counted: fills the output folder
    runs = alternate(trees, reps, edit)
    return {name: statistics.median(seconds) for name, seconds in runs.items()}


def child(job: dict) -> None:
    """In a child on one tree's src: one epoch per experiment on the tiled subsets, ours
    and the tutorial's; prints {name: [ours s, tutorial s]}."""
    import numpy as np
    import torch

    from looking_inside.config import EXPERIMENTS
    from looking_inside.data.datasets import spec
    from looking_inside.data.readers import read_splits
    from looking_inside.training.models import build_model, preprocess
    from looking_inside.training.trainer import make_optimizer, train_epoch

    data = {}
    for ds, n in job["sizes"].items():
        (split,) = read_splits(Path(job["root"]), spec(ds), ("train",))
        idx = np.arange(n) % len(split.labels)  # the subset, repeated
        y = torch.from_numpy(split.labels[idx].astype(np.int64))
        data[ds] = (preprocess(split.images[idx], ds), y)
    torch.set_num_threads(1)  # as the build trains: one thread per process
    torch.use_deterministic_algorithms(True)
    out = {}
    for exp in [e for e in EXPERIMENTS if e.name in job["names"]]:
        x, y = data[exp.dataset]
        torch.manual_seed(exp.seed)
        model = build_model(exp)
        opt = make_optimizer(exp, model)
        gen = torch.Generator().manual_seed(exp.seed)
        warm = 2 * exp.batch_size  # two steps, not counted: kernels chosen
        train_epoch(model, opt, x[:warm], y[:warm], exp.batch_size, gen)
        t = time.perf_counter()
        train_epoch(model, opt, x, y, exp.batch_size, gen)
        out[exp.name] = [time.perf_counter() - t, tutorial_epoch(exp, x, y, job["batches"])]
    print(json.dumps(out))


def tutorial_epoch(exp, x, y, batches: int) -> float:
    """A tutorial's loop on tensors (no DataLoader, batches of 64, autograd, torch.optim),
    on our one thread (on a shared machine, a thread pool times the neighbours): an
    epoch, from ``batches`` timed after three untimed."""
    import torch

    from looking_inside.training.models import build_model

    model = build_model(exp)
    if exp.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=exp.lr, momentum=0.9,
                              weight_decay=exp.weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=exp.lr, weight_decay=exp.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(len(y))
    for i in range(3 + batches):
        if i == 3:
            start = time.perf_counter()
        idx = perm[i * 64:(i + 1) * 64]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        loss.item()  # every tutorial prints a running loss
    return (time.perf_counter() - start) / batches * math.ceil(len(y) / 64)


@functools.cache
def limits() -> tuple[float, float]:
    """One core's memory bandwidth (bytes read + written by a copy) and GEMM rate."""
    import torch

    torch.set_num_threads(1)
    src = torch.ones(64 * 2**20)
    dst = torch.empty_like(src)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    copy_s = min(timeit.repeat(lambda: dst.copy_(src), number=1, repeat=3))
    gemm_s = min(timeit.repeat(lambda: torch.mm(a, b), number=1, repeat=3))
    return 2 * src.numel() * 4 / copy_s, 2 * 1024**3 / gemm_s


def floor_s(exp, n: int) -> float:
    """max(pixels + labels read once / bandwidth, FLOPs / GEMM rate); FLOPs: a forward and
    a weight-gradient GEMM per layer, an input-gradient GEMM for all but the first."""
    bandwidth, gemm_flops = limits()
    widths = [exp.n_inputs, *exp.hidden, 10]
    flops = sum((2 if i == 0 else 3) * 2 * n * widths[i] * widths[i + 1]
                for i in range(len(widths) - 1))
    if exp.conv:
        flops = 3 * exp.forward_flops * n  # forward and two backward products
    return max(n * (exp.n_inputs * 4 + 8) / bandwidth, flops / gemm_flops)


def training(trees: list[Tree], data_root: Path, quick: bool) -> list[dict]:
    from looking_inside.config import EXPERIMENTS
    from looking_inside.data.datasets import spec
    from looking_inside.data.readers import read_splits

    exps = [e for e in EXPERIMENTS if not quick or e.name in QUICK_EXPERIMENTS]
    sizes = {ds: n // 10 if quick else n for ds, n in FULL_N.items()}
    job = json.dumps({"root": str(data_root), "sizes": sizes, "batches": 20 if quick else 60,
                      "names": [e.name for e in exps]})
    runs = alternate(trees, 1, lambda t, i: t.run(__file__, "--child", job)[1])
    epochs = {name: json.loads(r[0].splitlines()[-1]) for name, r in runs.items()}
    subset = {ds: len(read_splits(data_root, spec(ds), ("train",))[0].labels) for ds in sizes}
    rows = []
    for exp in exps:
        n = sizes[exp.dataset]
        rows.append({"experiment": exp.name, "images": n, "epochs": exp.epochs,
                     "subset_images": subset[exp.dataset], "floor_s": floor_s(exp, n),
                     "tutorial_s": epochs["this"][exp.name][1],
                     "ours_s": {t: e.get(exp.name, [math.nan])[0] for t, e in epochs.items()}})
    return rows


def full_scale(cold_s: float, experiments: list[dict], tree: str) -> float:
    """The cold build's estimate at full size (the module's docstring, step 1), over the
    experiments ``tree`` has (an older tree lacks the newer ones: NaN)."""
    extra = sum(r["epochs"] * r["ours_s"][tree] * (1 - r["subset_images"] / r["images"])
                for r in experiments if not math.isnan(r["ours_s"][tree]))
    return cold_s + extra / CPUS


# n steps from the seed's network; the worker's own clock (its training loop alone).
PLAY_JS = """async n => { const live = window.LiPlayground.live; live.reset();
                          await live.steps(n); return live.latest.trainMs; }"""


def numpy_steps_per_s(site: Path, hidden: int, steps: int, reps: int) -> float:
    import gzip
    import struct

    import numpy as np
    from train_reference import Reference  # tests/ is this script's folder

    raw = gzip.decompress((site / "assets/data/train-sample.bin").read_bytes())
    n_train, n_test = struct.unpack("<II", raw[8:16])
    labels = np.frombuffer(raw, np.uint8, n_train, 16)
    images = np.frombuffer(raw, np.uint8, n_train * 784, 16 + n_train + n_test)

    times = []
    for _ in range(reps):
        net = Reference(hidden, PLAY["lr"], PLAY["wd"], PLAY["b"], PLAY["seed"], images, labels)
        t = time.perf_counter()
        for _ in range(steps):
            net.train_step()
        times.append(time.perf_counter() - t)
    return steps / min(times)


def playground(trees: list[Tree], steps: int, reps: int) -> dict:
    from conftest import ARGS, CHROMIUM  # the tests' browser, the same way
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # else a line per request
            pass

    out: dict = {"numpy": {}, **{t.name: {} for t in trees}}
    query = "&".join(f"{k}={v}" for k, v in PLAY.items())
    # The scratch folder on 127.0.0.1 (no worker starts from file://); links are relative.
    handler = functools.partial(Quiet, directory=str(trees[0].site.parents[1]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for h in (0, 10):
            for t in trees:
                page = browser.new_page()
                page.set_default_timeout(120_000)
                page.goto(f"{base}/{t.name}/site/interactive/train/#h={h}&{query}")
                page.wait_for_selector(".li-train-live[data-state=ready]", state="attached")
                page.evaluate(PLAY_JS, steps)  # warm-up: the JIT
                ms = min(page.evaluate(PLAY_JS, steps) for _ in range(reps))
                out[t.name][h] = steps / (ms / 1000)
                page.close()
            out["numpy"][h] = numpy_steps_per_s(trees[0].site, h, steps, reps)
        browser.close()
    httpd.shutdown()
    return out


def row(what: str, target: str, values: dict, fmt, met: bool | None, versus: str = "") -> list:
    """One table row; the last column is the other tree's result and ours / its."""
    if "against" in values and not versus:
        versus = f"{fmt(values['against'])}; ratio {values['this'] / values['against']:.2f}x"
    verdict = {True: "met", False: "MISSED", None: "-"}[met]
    return [what, target, fmt(values["this"]), verdict, versus]


def rows(res: dict) -> list[list]:
    """The budgets of the smaller engine (issue #25): against the previous release where
    there is one, else absolute."""
    secs, cold, edit = "{:.2f} s".format, res["cold_s"], res["edit_s"]
    warm = {name: w["added_s"] for name, w in res["warm"].items()}

    def within(v: dict, factor: float) -> bool | None:
        return v["this"] <= factor * v["against"] if "against" in v else None

    out = [row("cold build on the subsets", "<= 1.15x previous", cold, secs, within(cold, 1.15))]
    if "full_s" in res:
        out.append(row("cold build, full scale (est.)", "<= 1.15x previous", res["full_s"],
                       secs, within(res["full_s"], 1.15)))
    mine = res["warm"]["this"]
    out.append(row(f"warm rebuild ({mine['full_s']:.2f} s) over plain mkdocs "
                   f"({mine['plain_s']:.2f} s)", "<= +0.5 s", warm, "{:+.2f} s".format,
                   warm["this"] <= 0.5))
    out.append(row("figure edit -> generator (median)", "<= 2 s", edit, secs, edit["this"] <= 2))
    exps = res["training"]
    speed = min((r["tutorial_s"] / r["ours_s"]["this"], r["experiment"]) for r in exps)
    floor = max((r["ours_s"]["this"] / r["floor_s"], r["experiment"]) for r in exps)
    logs = [math.log(r["ours_s"]["this"] / r["ours_s"]["against"]) for r in exps
            if not math.isnan(r["ours_s"].get("against", math.nan))]
    versus = f"epochs {math.exp(statistics.mean(logs)):.2f}x its (geometric mean)" if logs else ""
    out.append(row("training epoch vs tutorial (worst)", ">= 10x each", {"this": speed[0]},
                   lambda v: f"{v:.1f}x ({speed[1]})", speed[0] >= 10, versus))
    out.append(row("training epoch vs floor (worst)", "<= 3x each", {"this": floor[0]},
                   lambda v: f"{v:.1f}x ({floor[1]})", floor[0] <= 3))
    play = res["playground"]
    for h, numpy in play["numpy"].items():
        steps = {name: play[name][h] for name in ("this", "against") if name in play}
        out.append(row(f"playground steps/s, {h} hidden", "reported", steps,
                       lambda v, numpy=numpy: f"{v:.0f}, {v / numpy:.2f}x numpy", None))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--against", type=Path, help="another checkout of the project")
    ap.add_argument("--quick", action="store_true", help="a smoke test (< 3 minutes)")
    ap.add_argument("--child", type=json.loads, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # numpy's reference on one thread, as the worker
    from looking_inside.config import load_settings

    quick, data_root = args.quick, load_settings().data_root
    started, load0 = time.perf_counter(), os.getloadavg()[0]
    sources = {"this": HERE, "against": args.against}
    sources = {name: path.resolve() for name, path in sources.items() if path}
    res: dict = {"trees": {name: str(path) for name, path in sources.items()}}
    with tempfile.TemporaryDirectory(prefix="looking-inside-bench-") as tmp:
        scratch = Path(tmp)
        trees = [Tree(name, path, scratch, data_root) for name, path in sources.items()]
        say("cold builds")
        res["cold_s"] = {t.name: t.build("--strict") for t in trees}
        say("warm rebuilds")
        res["warm"] = warm_rebuild(trees, 2 if quick else 5)
        say("figure edits")
        res["edit_s"] = figure_edit(trees, 3 if quick else 5)
        say("training epochs")
        res["training"] = training(trees, data_root, quick)
        if not quick:
            res["full_s"] = {t.name: full_scale(res["cold_s"][t.name], res["training"], t.name)
                             for t in trees}
        say("playground")
        res["playground"] = playground(trees, 200 if quick else 1000, 1 if quick else 3)
    notes = [", ".join(f"{name} = {path}" for name, path in res["trees"].items()),
             f"data: {data_root}; generators: "
             + ", ".join(f"{t.name} `{t.generator}`" for t in trees),
             "floor from {:.1f} GB/s and {:.0f} GFLOP/s (one core)".format(
                 *(v / 1e9 for v in limits()))]
    if quick:
        notes.append("--quick: no full-scale estimate; training " + ", ".join(QUICK_EXPERIMENTS)
                     + " at a tenth of full size; 2 warm builds, 3 edits, 200 steps")
    load = f"load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after"
    lines = [f"bench{' --quick' if quick else ''}: {CPUS} CPUs, "
             f"{time.perf_counter() - started:.0f} s, {load}", "",
             "| row | target | result | | against |", "|---|---|---|---|---|",
             *("| " + " | ".join(r) + " |" for r in rows(res)), "",
             *(f"- {note}" for note in notes)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    (args.out / "report.json").write_text(json.dumps(res | {"notes": notes}, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
