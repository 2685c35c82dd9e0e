"""``python -m looking_inside bench``: build speed against a tutorial loop and against
the machine's limits, measured side by side in one run; one table, one JSON file.

The steps (numbers as in the README's Performance section):
1. one training epoch per experiment at full size, ours against a tutorial loop;
2. the same epoch against the floor set by memory bandwidth and GEMM rate;
3. a cold build of the site on the configured data, per phase, and an estimate of
   it at full size (checked by a real build on tiled full-size files);
4. a warm rebuild against the same build without our plugins;
5. peak memory of the cold build and the weight of every built page.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from looking_inside.config import EXPERIMENTS, Dataset, Settings
from looking_inside.errors import BuildError

log = logging.getLogger("mkdocs.plugins.looking_inside.bench")

MB = 1_000_000  # page weights and targets in decimal megabytes, as browsers report them


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


FULL = Sizes(train=(("mnist", 60000), ("cifar10", 50000)), test=10000, copy_mb=512,
             gemm_n=2048, reps=3, tutorial_s=3.0, warm_reps=5, full_build=True)
QUICK = Sizes(train=(("mnist", 3000), ("cifar10", 2500)), test=1000, copy_mb=64,
              gemm_n=512, reps=2, tutorial_s=0.2, warm_reps=1, full_build=False)

TARGETS = {  # the targets
    "speedup": 10.0,  # our epoch vs the tutorial loop, at least
    "vs_floor": 3.0,  # our epoch vs the floor, at most
    "full_build_s": 60.0,  # estimated cold build at full scale, at most
    "warm_added_s": 0.3,  # what the hook adds to a warm build, at most
    "page_mb": 1.5,  # each built page, at most
}


def run_bench(settings: Settings, out_dir: Path, quick: bool = False) -> dict[str, Any]:
    """Run every step, print the summary table, write ``out_dir/bench.json``."""
    from looking_inside import bench_site as bs
    from looking_inside import bench_train as bt

    if settings.device == "cuda":
        raise BuildError("the benchmark measures the CPU path (what contributors and CI run); "
                         "run it with --device cpu or auto")
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)  # a run takes minutes: always say what it is doing
    sizes = QUICK if quick else FULL
    started, load_before = time.perf_counter(), os.getloadavg()

    def progress(msg: str, *args: object) -> None:
        log.info("bench [%3.0f s]: " + msg, time.perf_counter() - started, *args)

    with tempfile.TemporaryDirectory(prefix="looking-inside-bench-") as tmp:
        scratch = Path(tmp)
        progress("memory bandwidth and GEMM rate")
        limits = bt.measure_limits(sizes.copy_mb, sizes.gemm_n, sizes.reps)
        progress("tiling the data to %s", ", ".join(f"{n:,} {d}" for d, n in sizes.train))
        data = bt.make_full_data(settings, scratch, dict(sizes.train), sizes.test)
        epochs = []
        for exp in EXPERIMENTS:
            progress("one epoch of %s, ours and the tutorial's", exp.name)
            epochs.append(bt.time_experiment(exp, data.bundles[exp.dataset], limits,
                                             sizes.reps, sizes.tutorial_s))
        progress("cold build on %s", settings.data_root)
        cache = scratch / "cache"
        cold = bs.cold_build(settings.data_root, cache, scratch / "site-cold", "cpu")
        pages = bs.page_weights(scratch / "site-cold")
        progress("%d warm builds with and without our plugins", sizes.warm_reps)
        warm = bs.warm_rebuild(settings.data_root, cache, scratch, "cpu", sizes.warm_reps)
        estimate = full_scale_estimate(cold, epochs, data)
        full_run = None
        if sizes.full_build:
            progress("cold build on the tiled full-size data, to check the estimate")
            full_run = bs.cold_build(data.root, scratch / "cache-full-build",
                                     scratch / "site-full", "cpu")
    report = {
        "meta": _meta(settings, quick, load_before, time.perf_counter() - started),
        "limits": asdict(limits),
        "training": [e.to_json() for e in epochs],
        "data_load_s": {"subset": data.subset_load_s, "full": data.full_load_s},
        "cold_build": _build_json(cold) | {"data_root": str(settings.data_root)},
        "full_scale": {"estimate_s": sum(s for _, s in estimate), "parts": dict(estimate),
                       "measured": _build_json(full_run) if full_run else None},
        "warm_rebuild": warm.to_json(),
        "page_weight": [asdict(p) | {"total": p.total} for p in pages],
    }
    report["targets"] = targets(report)
    print(format_report(report))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nJSON: {out_dir / 'bench.json'}")
    return report


def full_scale_estimate(cold: Any, epochs: list[Any], data: Any) -> list[tuple[str, float]]:
    """The cold build with its size-dependent phases swapped for full-size ones.

    Kept from the measured build: everything but loading and training (mkdocs, child
    start-up, importing torch, figures). Swapped in: loading the tiled full-size
    files, and each experiment's ``train(epochs=1)`` plus ``epochs - 1`` more epochs
    (training and the per-epoch evaluation) at the per-epoch times of step 1.
    """
    trained = sum(s for name, s in cold.phases if name.startswith("train "))
    rest = cold.seconds - trained - sum(data.subset_load_s.values())
    parts = [("rest of the cold build", rest)]
    parts += [(f"load {ds}", s) for ds, s in data.full_load_s.items()]
    parts += [(f"train {e.experiment}", e.build_s) for e in epochs]
    return parts


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    worst_speed = min(r["training"], key=lambda e: e["speedup"])
    worst_floor = max(r["training"], key=lambda e: e["vs_floor"])
    heaviest = max(r["page_weight"], key=lambda p: p["total"])
    est = r["full_scale"]["estimate_s"]
    added = r["warm_rebuild"]["added_s"]
    return [
        {"target": f"training >= {TARGETS['speedup']:g}x faster than the tutorial loop",
         "met": worst_speed["speedup"] >= TARGETS["speedup"],
         "value": f"worst {worst_speed['speedup']:.1f}x ({worst_speed['experiment']})"},
        {"target": f"training within {TARGETS['vs_floor']:g}x of the bandwidth/FLOP floor",
         "met": worst_floor["vs_floor"] <= TARGETS["vs_floor"],
         "value": f"worst {worst_floor['vs_floor']:.1f}x ({worst_floor['experiment']})"},
        {"target": f"cold build at full scale <= {TARGETS['full_build_s']:g} s (estimate)",
         "met": est <= TARGETS["full_build_s"], "value": f"{est:.1f} s"},
        {"target": f"warm rebuild adds <= {TARGETS['warm_added_s']:g} s to plain mkdocs",
         "met": added <= TARGETS["warm_added_s"], "value": f"{added:+.2f} s"},
        {"target": f"each page <= {TARGETS['page_mb']:g} MB",
         "met": heaviest["total"] <= TARGETS["page_mb"] * MB,
         "value": f"heaviest {heaviest['total'] / MB:.2f} MB ({heaviest['page']})"},
    ]


def _build_json(run: Any) -> dict[str, Any]:
    return {"seconds": run.seconds, "phases": dict(run.phases), "peak_rss_bytes": run.peak_rss,
            "peak_tree_rss_bytes": run.peak_tree_rss}


def _meta(settings: Settings, quick: bool, load_before: tuple[float, ...],
          seconds: float) -> dict[str, Any]:
    import torch

    from looking_inside.cache import versions

    return {
        "quick": quick, "seconds": seconds, "cpu": _cpu_name(), "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
        "versions": versions("torch", "torchvision", "numpy", "mkdocs", "mkdocs-material"),
        "load_before": load_before[0], "load_after": os.getloadavg()[0],
        "command": " ".join(["python -m looking_inside", *sys.argv[1:]]),
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
        f"machine: {lim['bandwidth'] / 1e9:.1f} GB/s memory bandwidth "
        f"({lim['copy_bytes'] // 2**20} MiB tensor copy, bytes read + written), "
        f"{lim['gemm_flops'] / 1e9:.0f} GFLOP/s float32 GEMM ({lim['gemm_n']}^2)",
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
        "ours: our trainer's epoch loop (batch 128), best of several; @64: the same at "
        "batch 64.",
        "tutorial: DataLoader(batch_size=64, shuffle=True) over a Dataset doing PIL image -> "
        f"ToTensor() per sample; {batches} batches timed, extrapolated to an epoch.",
        "floor: max(pixels + labels read once / bandwidth, forward + backward FLOPs / GEMM rate).",
        "",
    ]
    cold, full = r["cold_build"], r["full_scale"]
    lines.append(f"3. cold build, empty cache, data {cold['data_root']}")
    lines.append(f"{'phase':<46}{'s':>7}")
    for name, s in cold["phases"].items():
        lines.append(f"  {name:<44}{s:>7.2f}")
    lines.append(f"  {'total':<44}{cold['seconds']:>7.2f}")
    lines.append("full scale (60,000 MNIST + 50,000 CIFAR-10), estimated from step 1:")
    for name, s in full["parts"].items():
        lines.append(f"  {name:<44}{s:>7.2f}")
    lines.append(f"  {'estimate':<44}{full['estimate_s']:>7.2f}")
    if full["measured"]:
        mf = full["measured"]
        lines.append(f"  {'check: real build on tiled full-size files':<44}{mf['seconds']:>7.2f}"
                     f"   (peak RSS {_gb(mf['peak_rss_bytes'])} largest process, "
                     f"{_gb(mf['peak_tree_rss_bytes'])} whole tree)")
    w = r["warm_rebuild"]
    lines += [
        "",
        f"4. warm rebuild, median of {len(w['full_s'])}: site {w['full_median_s']:.2f} s, "
        f"same build without gen-files/macros {w['plain_median_s']:.2f} s -> "
        f"{w['ratio']:.2f}x, adds {w['added_s']:+.2f} s",
        f"   (the hook's own work in-process, median: "
        f"{1000 * w['hook_in_process_median_s']:.0f} ms)",
        "",
        f"5. peak memory of the cold build: {_gb(cold['peak_rss_bytes'])} in the largest "
        f"process (kernel high-water mark); {_gb(cold['peak_tree_rss_bytes'])} for all its "
        "processes at once (sampled every 0.1 s)",
        f"{'page':<30}{'HTML':>8}{'CSS+JS':>8}{'figures':>9}{'total MB':>10}",
    ]
    for p in r["page_weight"]:
        lines.append(f"{p['page']:<30}{p['html'] / MB:>8.3f}{p['assets'] / MB:>8.3f}"
                     f"{p['images'] / MB:>9.3f}{p['total'] / MB:>10.3f}")
    lines.append("figures: one palette's (the heavier); light and dark are lazy-loaded, a reader "
                 "fetches one.")
    lines += ["", "targets"]
    for t in r["targets"]:
        lines.append(f"  {'met   ' if t['met'] else 'MISSED'}  {t['target']:<52}{t['value']}")
    return "\n".join(lines)


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n else "n/a"
