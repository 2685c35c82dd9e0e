"""Train several experiments at once: one single-threaded process per available CPU.

The networks are small: a step is mostly per-operation overhead that a second
thread cannot share, so two threads on one network buy little, while two networks
on one thread each buy nearly 2x. One thread per process also means no thread pool
spinning against another build's (two builds at once share the CPUs fairly), and
results that do not depend on the machine's thread count (see ``trainer``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from looking_inside.config import Experiment, Settings
from looking_inside.errors import Reported
from looking_inside.machine import available_cpus, die_with_parent


def cost(exp: Experiment) -> int:
    """Relative training cost: epochs x one image's forward FLOPs (not seconds)."""
    return exp.epochs * exp.forward_flops


def groups(experiments: list[Experiment], n: int) -> list[list[Experiment]]:
    """Longest first onto the least loaded of ``n`` workers (LPT scheduling)."""
    bins: list[tuple[int, list[Experiment]]] = [(0, []) for _ in range(max(1, n))]
    for exp in sorted(experiments, key=cost, reverse=True):
        i = min(range(len(bins)), key=lambda k: bins[k][0])
        bins[i] = (bins[i][0] + cost(exp), [*bins[i][1], exp])
    return [b for _, b in bins if b]


def train_in_workers(settings: Settings, experiments: list[Experiment], cache_dir: Path,
                     verbose: bool = False) -> None:
    """Train ``experiments`` in child processes that store their results in the cache
    folder ``cache_dir`` (checked writable first: ``Cache.check_writable``)."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OMP_NUM_THREADS"] = "1"  # no OpenMP pool to spin up at all
    procs = []
    for group in groups(experiments, available_cpus()):
        cmd = [sys.executable, "-m", "looking_inside", "train", "--serial", "--data-root",
               str(settings.data_root), "--cache-dir", str(cache_dir),
               "--device", settings.device]
        if verbose:
            cmd.append("--verbose")
        for e in group:
            cmd += ["--only", e.name]
        # Errors and progress reach our stderr as they are; their tables are not news.
        procs.append(subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL,
            preexec_fn=die_with_parent if sys.platform == "linux" else None))
    failed = [p for p in procs if p.wait() != 0]
    if failed:
        raise Reported("training failed (its error is printed above); fix it and run "
                       "the build again")
