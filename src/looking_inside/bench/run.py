"""``python -m looking_inside.bench``: build speed against a tutorial loop and against
the machine's limits, measured side by side in one run; one table, one JSON file.

The steps (numbers as in the README's Performance section):
1. one training epoch per experiment at full size, ours against a tutorial loop;
2. the same epoch against the floor set by memory bandwidth and GEMM rate;
3. a cold build of the site on the configured data, per phase, and an estimate of
   it at full size (checked by a real build on tiled full-size files);
4. a warm rebuild against the same build without our plugins;
5. peak memory of the cold build and the weight of every built page;
6. the playground's trainer in the browser against the same steps in numpy.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from looking_inside.config import EXPERIMENTS, Settings
from looking_inside.data.datasets import Dataset
from looking_inside.errors import BuildError

log = logging.getLogger("mkdocs.plugins.looking_inside.bench")

MB = 1_000_000  # page weights and targets in decimal megabytes, as browsers report them
BUSY = 0.10  # share of the CPUs taken by others above which a step's timings are suspect


@dataclass(frozen=True)
class Sizes:
    """How much the bench does; ``--quick`` shrinks it to a smoke test for the tests."""

    train: tuple[tuple[Dataset, int], ...]  # training images per data set
    test: int  # test images per data set
    copy_mb: int  # size of the bandwidth copy
    gemm_n: int  # side of the square GEMM
    reps: int  # best-of count for limits and for our epochs
    tutorial_s: float  # seconds of tutorial batches timed per experiment
    warm_reps: int  # warm builds (and plain builds) whose median counts
    full_build: bool  # also build the site on tiled full-size data, to check the estimate
    play_steps: int  # training steps per playground run, in the browser and in numpy


FULL = Sizes(train=(("mnist", 60000), ("cifar10", 50000)), test=10000, copy_mb=512,
             gemm_n=2048, reps=3, tutorial_s=3.0, warm_reps=5, full_build=True,
             play_steps=1000)
QUICK = Sizes(train=(("mnist", 3000), ("cifar10", 2500)), test=1000, copy_mb=64,
              gemm_n=512, reps=1, tutorial_s=0.2, warm_reps=1, full_build=False,
              play_steps=100)

TARGETS = {  # the targets
    "speedup": 10.0,  # our epoch vs the tutorial loop, at least
    "vs_floor": 3.0,  # our epoch vs the floor, at most
    "full_build_s": 60.0,  # estimated cold build at full scale, at most
    "warm_added_s": 0.3,  # what the hook adds to a warm build, at most
    "page_mb": 1.5,  # each built page, at most
    "figure_edit_s": 1.5,  # edit the cifar-samples module -> figures run done, at most
    "figures_phase_s": 3.0,  # "figures + facts" of a cold build, at most
    "two_builds_ratio": 2.3,  # each of two builds' training vs alone, at most (fair: 2)
}


class _Steps:
    """Progress lines, and for each step the share of the CPUs other processes took
    meanwhile: on a shared machine that says which numbers to distrust."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.other: dict[str, float] = {}
        # CPU seconds a step's own work used that rusage cannot see (set by the step).
        self.untracked: dict[str, float] = {}

    @contextmanager
    def step(self, name: str, what: str) -> Iterator[None]:
        log.info("bench [%3.0f s]: %s", time.perf_counter() - self.started, what)
        busy0, own0, t0 = _cpu_seconds(), _own_cpu_seconds(), time.perf_counter()
        yield
        wall = time.perf_counter() - t0
        if busy0 is not None:
            busy1 = _cpu_seconds() or busy0
            other = (busy1 - busy0) - (_own_cpu_seconds() - own0) - self.untracked.get(name, 0)
            self.other[name] = max(0.0, other / (wall * (os.cpu_count() or 1)))


def _cpu_seconds() -> float | None:
    """Busy CPU seconds of the whole machine so far (Linux), or None."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and every child it has waited for."""
    return sum(getattr(resource.getrusage(who), field)
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for field in ("ru_utime", "ru_stime"))


def run_bench(settings: Settings, out_dir: Path, quick: bool = False) -> dict[str, Any]:
    """Run every step, print the summary table, write ``out_dir/bench.json``."""
    from looking_inside.bench import site as bs
    from looking_inside.bench import train as bt

    if settings.device == "cuda":
        raise BuildError("the benchmark measures the CPU path (what contributors and CI run); "
                         "run it with --device cpu or auto")
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)  # a run takes minutes: always say what it is doing
    sizes = QUICK if quick else FULL
    steps = _Steps()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="looking-inside-bench-") as tmp:
        scratch = Path(tmp)
        with steps.step("limits", "memory bandwidth and GEMM rate"):
            limits = bt.measure_limits(sizes.copy_mb, sizes.gemm_n, sizes.reps)
        with steps.step("data", "tiling the data to " + ", ".join(
                f"{n:,} {d}" for d, n in sizes.train)):
            data, bundles = bt.make_full_data(settings, scratch, dict(sizes.train), sizes.test)
        epochs = []
        for exp in EXPERIMENTS:
            with steps.step(exp.name, f"one epoch of {exp.name}, ours and the tutorial's"):
                epochs.append(bt.time_experiment(exp, bundles[exp.dataset], limits,
                                                 sizes.reps, sizes.tutorial_s))
        del bundles  # over 1 GB at full size; the builds below should not share the RAM
        cache = scratch / "cache"
        # The builds run on the configured data; --quick (a smoke test of the bench
        # itself) on its small tiled copy, a third of the training and evaluation.
        root = data.root if quick else settings.data_root
        with steps.step("cold build", f"cold build on {root}"):
            cold = bs.cold_build(root, cache, scratch / "site-cold", "cpu")
        pages = bs.page_weights(scratch / "site-cold")
        with steps.step("playground", f"the playground: {sizes.play_steps} steps in the "
                        "browser and in numpy"):
            from looking_inside.bench import playground as bp

            play = bp.measure(scratch / "site-cold", sizes.play_steps, sizes.reps)
            steps.untracked["playground"] = play.untracked_cpu_s
        with steps.step("warm rebuild",
                        f"{sizes.warm_reps} warm builds with and without our plugins"):
            warm = bs.warm_rebuild(root, cache, scratch, "cpu", sizes.warm_reps)
        with steps.step("edit loops",
                        f"{sizes.warm_reps} figure edits and {sizes.warm_reps} chapter edits"):
            edits = bs.edit_loops(root, cache, scratch, "cpu", sizes.warm_reps)
        with steps.step("two builds", "training alone, then two builds' training at once"):
            from looking_inside.bench.concurrency import two_builds

            concurrency = two_builds(root, scratch)
        estimate = full_scale_estimate(cold, epochs, data)
        full_run = None
        if sizes.full_build:
            with steps.step("full-size build",
                            "cold build on the tiled full-size data, to check the estimate"):
                full_run = bs.cold_build(data.root, scratch / "cache-full-build",
                                         scratch / "site-full", "cpu")
    report = {
        "meta": _meta(quick, load_before, time.perf_counter() - steps.started),
        "background": steps.other,
        "limits": asdict(limits),
        "training": [e.to_json() for e in epochs],
        "data_load_s": {"subset": data.subset_load_s, "full": data.full_load_s},
        "cold_build": _build_json(cold) | {"data_root": str(root)},
        "full_scale": {"estimate_s": sum(s for _, s in estimate), "parts": dict(estimate),
                       "measured": _build_json(full_run) if full_run else None},
        "warm_rebuild": warm.to_json(),
        "edit_loops": edits.to_json(),
        "two_builds": concurrency.to_json(),
        "page_weight": [asdict(p) | {"total": p.total} for p in pages],
        "playground": play.to_json(),
    }
    report["targets"] = targets(report)
    print(format_report(report))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nJSON: {out_dir / 'bench.json'}")
    return report


def full_scale_estimate(cold: Any, epochs: list[Any], data: Any) -> list[tuple[str, float]]:
    """The cold build's phases, those that depend on the data's size swapped for
    full-size ones.

    Kept as measured: mkdocs, starting the child and importing torch, figures. Loading
    trades the subset's load time for the tiled full-size files'. Training: each
    experiment's full-size time is its ``train(epochs=1)`` plus ``epochs - 1`` more
    epochs at the per-epoch times of step 1; the build trains them in parallel, one
    single-threaded process per CPU, longest first, so the training phases together
    become that schedule's makespan (each scaled by the same factor).
    """
    from looking_inside.machine import available_cpus

    by_name = {e.experiment: e for e in epochs}
    loads = [0.0] * available_cpus()
    for t in sorted((e.build_s for e in epochs), reverse=True):
        loads[loads.index(min(loads))] += t
    trained = sum(s for phase, s in cold.phases
                  if phase.startswith("train ") and phase[6:] in by_name)
    scale = max(loads) / trained if trained else 1.0
    out = []
    for phase, s in cold.phases:
        kind, _, rest = phase.partition(" ")
        if kind == "train" and rest in by_name:
            s *= scale
        elif kind == "load":
            ds = rest.split()[0]
            s += data.full_load_s[ds] - data.subset_load_s[ds]
        out.append((phase, s))
    return out


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    worst_speed = min(r["training"], key=lambda e: e["speedup"])
    worst_floor = max(r["training"], key=lambda e: e["vs_floor"])
    heaviest = max(r["page_weight"], key=lambda p: p["total"])
    est = r["full_scale"]["estimate_s"]
    added = r["warm_rebuild"]["added_s"]
    n = len(r["training"])
    figures_phase = r["cold_build"]["phases"].get("figures + facts", 0.0)
    fast = sum(e["speedup"] >= TARGETS["speedup"] for e in r["training"])
    near = sum(e["vs_floor"] <= TARGETS["vs_floor"] for e in r["training"])
    return [
        {"target": f"training >= {TARGETS['speedup']:g}x faster than the tutorial loop",
         "met": fast == n,
         "value": f"{fast}/{n}; worst {worst_speed['speedup']:.1f}x "
                  f"({worst_speed['experiment']})"},
        {"target": f"training within {TARGETS['vs_floor']:g}x of the bandwidth/FLOP floor",
         "met": near == n,
         "value": f"{near}/{n}; worst {worst_floor['vs_floor']:.1f}x "
                  f"({worst_floor['experiment']})"},
        {"target": f"cold build at full scale <= {TARGETS['full_build_s']:g} s (estimate)",
         "met": est <= TARGETS["full_build_s"], "value": f"{est:.1f} s"},
        {"target": f"warm rebuild adds <= {TARGETS['warm_added_s']:g} s to plain mkdocs",
         "met": added <= TARGETS["warm_added_s"], "value": f"{added:+.2f} s"},
        {"target": f"figure edit loop <= {TARGETS['figure_edit_s']:g} s (median)",
         "met": r["edit_loops"]["figure_median_s"] <= TARGETS["figure_edit_s"],
         "value": f"{r['edit_loops']['figure_median_s']:.2f} s"},
        {"target": f"'figures + facts' in a cold build <= {TARGETS['figures_phase_s']:g} s",
         "met": figures_phase <= TARGETS["figures_phase_s"], "value": f"{figures_phase:.2f} s"},
        {"target": f"two builds at once: training <= {TARGETS['two_builds_ratio']:g}x alone",
         "met": r["two_builds"]["ratio"] <= TARGETS["two_builds_ratio"],
         "value": f"{r['two_builds']['ratio']:.2f}x ({r['two_builds']['alone_s']:.1f} s alone)"},
        {"target": f"each page <= {TARGETS['page_mb']:g} MB",
         "met": heaviest["total"] <= TARGETS["page_mb"] * MB,
         "value": f"heaviest {heaviest['total'] / MB:.2f} MB ({heaviest['page']})"},
    ]


def _build_json(run: Any) -> dict[str, Any]:
    return {"seconds": run.seconds, "phases": dict(run.phases), "peak_rss_bytes": run.peak_rss,
            "peak_tree_rss_bytes": run.peak_tree_rss}


def _meta(quick: bool, load_before: tuple[float, ...], seconds: float) -> dict[str, Any]:
    import torch

    from looking_inside.cache import versions

    return {
        "quick": quick, "seconds": seconds, "cpu": _cpu_name(), "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
        "versions": versions("torch", "torchvision", "numpy", "mkdocs", "mkdocs-material"),
        "load_before": load_before[0], "load_after": os.getloadavg()[0],
        "command": " ".join(["python -m looking_inside.bench", *sys.argv[1:]]),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --- the one summary ----------------------------------------------------------------

def format_report(r: dict[str, Any]) -> str:
    m, lim = r["meta"], r["limits"]
    lines = [
        f"looking_inside bench{' --quick' if m['quick'] else ''}: {m['cpus']} x {m['cpu']}, "
        f"torch {m['versions']['torch']} on {m['torch_threads']} threads, "
        f"{m['seconds']:.0f} s; load average {m['load_before']:.2f} before, "
        f"{m['load_after']:.2f} after",
        _background_line(r["background"]),
        f"machine: {lim['bandwidth'] / 1e9:.1f} GB/s memory bandwidth "
        f"({lim['copy_bytes'] // 2**20} MiB tensor copy, bytes read + written), "
        f"{lim['gemm_flops'] / 1e9:.0f} GFLOP/s float32 GEMM ({lim['gemm_n']}^2), "
        "one core each (the trainer's one thread)",
        "",
        "1-2. one training epoch (images tiled from the real subsets)",
    ]
    head = (f"{'experiment':<14}{'images':>7}{'ours s':>8}{'@64 s':>8}{'tutorial s':>11}"
            f"{'speedup':>9}{'floor s':>9}  {'bound':<8}{'vs floor':>8}")
    lines += [head, "-" * len(head)]
    for e in r["training"]:
        lines.append(f"{e['experiment']:<14}{e['images']:>7}{e['ours_s']:>8.3f}"
                     f"{e['ours_bs64_s']:>8.3f}{e['tutorial_s']:>11.2f}{e['speedup']:>8.1f}x"
                     f"{e['floor_s']:>9.3f}  {e['bound']:<8}{e['vs_floor']:>7.1f}x")
    batches = ", ".join(str(e["tutorial_batches"]) for e in r["training"])
    lines += [
        "ours: our trainer's epoch loop (batch 128, one thread), best of several; @64: the "
        "same at batch 64.",
        "tutorial: DataLoader(batch_size=64, shuffle=True) over a Dataset doing PIL image -> "
        f"ToTensor() per sample; {batches} batches timed, extrapolated to an epoch.",
        "floor: max(pixels + labels read once / bandwidth, forward + backward FLOPs / GEMM rate).",
        "",
    ]
    cold, full = r["cold_build"], r["full_scale"]
    measured = full["measured"] or {"phases": {}, "seconds": None}
    lines += [
        f"3. cold build, empty cache: on {cold['data_root']} (measured) and at full scale "
        "(60,000 MNIST + 50,000 CIFAR-10)",
        f"{'phase':<46}{'subset':>9}{'full, est.':>12}{'full, real':>12}",
    ]
    for name, s in cold["phases"].items():
        lines.append(f"  {name:<44}{s:>9.2f}{full['parts'][name]:>12.2f}"
                     f"{_num(measured['phases'].get(name)):>12}")
    lines.append(f"  {'total':<44}{cold['seconds']:>9.2f}{full['estimate_s']:>12.2f}"
                 f"{_num(measured['seconds']):>12}")
    lines.append("full, est.: step 1's per-epoch times x epochs, scheduled longest first on "
                 "one process per CPU, in place of the subset's training; full-size loading; "
                 "the rest as measured.")
    lines.append("full, real: the same build on the tiled full-size files"
                 + (" (skipped by --quick)." if not full["measured"] else "."))
    w = r["warm_rebuild"]
    lines += [
        "",
        f"4. warm rebuild, median of {len(w['full_s'])}: site {w['full_median_s']:.2f} s, "
        f"same build without gen-files/macros {w['plain_median_s']:.2f} s -> "
        f"{w['ratio']:.2f}x, adds {w['added_s']:+.2f} s",
        f"   (the hook's own work in-process, median: "
        f"{1000 * w['hook_in_process_median_s']:.0f} ms)",
        f"   figure-edit loop, median of {len(r['edit_loops']['figure_s'])}: "
        f"{r['edit_loops']['figure_median_s']:.2f} s (edit the function drawing cifar-samples -> "
        f"`figures` done; made {r['edit_loops']['made']}); one-line chapter edit -> "
        f"`mkdocs build` done: {r['edit_loops']['chapter_median_s']:.2f} s",
        f"   two builds at once: training the article's four networks takes "
        f"{r['two_builds']['alone_s']:.1f} s alone, "
        + " and ".join(f"{s:.1f} s" for s in r["two_builds"]["together_s"])
        + f" when two run together ({r['two_builds']['ratio']:.2f}x; fair share is 2x)",
        "",
        "5. peak memory of the cold build: largest single process (its high-water mark) / "
        "all processes at once (sampled every 0.1 s)",
        f"   subset: {_gb(cold['peak_rss_bytes'])} / {_gb(cold['peak_tree_rss_bytes'])}"
        + (f"; full size: {_gb(measured['peak_rss_bytes'])} / "
           f"{_gb(measured['peak_tree_rss_bytes'])}" if full["measured"] else ""),
        f"{'page':<34}{'HTML':>8}{'CSS+JS':>8}{'figures':>9}{'total MB':>10}",
    ]
    for p in r["page_weight"]:
        lines.append(f"{p['page']:<34}{p['html'] / MB:>8.3f}{p['assets'] / MB:>8.3f}"
                     f"{p['images'] / MB:>9.3f}{p['total'] / MB:>10.3f}")
    lines.append("figures: one palette's (the heavier); light and dark are lazy-loaded, a reader "
                 "fetches one.")
    from looking_inside.bench.playground import format_lines

    lines += ["", *format_lines(r["playground"])]
    lines += ["", "targets"]
    for t in r["targets"]:
        lines.append(f"  {'met   ' if t['met'] else 'MISSED'}  {t['target']:<52}{t['value']}")
    return "\n".join(lines)


def _background_line(other: dict[str, float]) -> str:
    if not other:
        return "background load: unknown (no /proc/stat)"
    worst = max(other, key=lambda k: other[k])
    line = (f"background load: other processes took {100 * other[worst]:.0f}% of the CPUs "
            f"in the busiest step ({worst})")
    if other[worst] > BUSY:
        line += "; the machine was shared, so distrust that step's numbers and rerun"
    return line


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n else "n/a"
