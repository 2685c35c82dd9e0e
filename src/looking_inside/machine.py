"""How much of this machine the build may use: CPUs by affinity and cgroup quota.

``os.cpu_count()`` counts the host's CPUs; a container or CI runner often may use
fewer. Thread pools sized to the host oversubscribe the CPUs we really have, and two
builds at once then spend their time spinning against each other.
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def cgroup_cpus() -> float | None:
    """CPUs the cgroup (v2, else v1) quota allows, or None without a quota."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        q = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        p = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return q / p if q > 0 and p > 0 else None
    except (OSError, ValueError):
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
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
