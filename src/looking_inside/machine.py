"""How the build uses this machine: the CPUs it may use (affinity, cgroup quota), and
child processes that die with their parent, among them one single-threaded trainer per CPU.

``os.cpu_count()`` counts the host's CPUs; a container or CI runner often may use
fewer. Thread pools sized to the host oversubscribe the CPUs we really have, and two
builds at once then spend their time spinning against each other.

The networks are small: a step is mostly per-operation overhead that a second
thread cannot share, so two threads on one network buy little, while two networks
on one thread each buy nearly 2x. One thread per process also means no thread pool
spinning against another build's (two builds at once share the CPUs fairly), and
results that do not depend on the machine's thread count (see ``trainer``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from looking_inside.config import Experiment, Settings
from looking_inside.errors import Reported


def cgroup_cpus() -> float | None:
    """CPUs the cgroup (v2, else v1) quota allows, or None without a quota (v2 writes
    "max", v1 -1)."""
    for files in (["cpu.max"], ["cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us"]):
        try:
            text = " ".join(Path("/sys/fs/cgroup", f).read_text() for f in files)
            quota, period = (int(w) for w in text.split()[:2])
        except (OSError, ValueError):
            continue
        if quota > 0 and period > 0:
            return quota / period
    return None


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    quota = cgroup_cpus()
    return max(1, n if quota is None else min(n, math.floor(quota)))


def die_with_parent() -> None:
    """In a child, before exec: end it when its parent dies, so a killed build never
    leaves a trainer running as an orphan (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def order(experiments: list[Experiment]) -> list[Experiment]:
    """Longest first, so that what is left at the end is short: convolutional networks
    (on a CPU a convolution's FLOPs run several times slower than a matrix product's),
    then by epochs x one image's forward FLOPs."""
    return sorted(experiments, key=lambda e: (bool(e.conv), e.epochs * e.forward_flops),
                  reverse=True)


def claim(claims: Path, exp: Experiment) -> bool:
    """True for exactly one of the workers that ask (an exclusive create)."""
    try:
        os.close(os.open(claims / exp.name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def train_in_workers(settings: Settings, experiments: list[Experiment]) -> None:
    """Train ``experiments`` in child processes that store their results in the cache
    (checked writable first: ``Cache.check_writable``). Each worker goes down the same
    list and takes the next experiment no other worker has claimed: no worker waits on
    an estimate of what the others cost."""
    src = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, OMP_NUM_THREADS="1",  # no OpenMP pool to spin up at all
               PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="looking-inside-claims-") as claims:
        cmd = [sys.executable, "-m", "looking_inside", "train", "--data-root",
               str(settings.data_root), "--cache-dir", str(settings.cache_dir),
               "--device", settings.device, "--claims", claims]
        # Each network's progress, an epoch a line, when this build's log shows INFO.
        if logging.getLogger("mkdocs.plugins.looking_inside").isEnabledFor(logging.INFO):
            cmd.append("--verbose")
        for e in order(experiments):
            cmd += ["--only", e.name]
        # Errors and progress reach our stderr as they are; their tables are not news.
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                  preexec_fn=die_with_parent if sys.platform == "linux" else None)
                 for _ in range(min(available_cpus(), len(experiments)))]
        failed = [p for p in procs if p.wait() != 0]
    if failed:
        raise Reported("training failed (its error is printed above); fix it and run "
                       "the build again")
