"""How much of this machine the build may use: CPUs by affinity and cgroup quota.

``os.cpu_count()`` counts the host's CPUs; a container or CI runner often may use
fewer. Thread pools sized to the host oversubscribe the CPUs we really have, and two
builds at once then spend their time spinning against each other.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
from pathlib import Path


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
