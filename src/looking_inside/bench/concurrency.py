"""Two builds at once: each one's training time against the same training alone.

On two cores, fair sharing makes each of two concurrent builds take about 2x its
time alone; thread pools spinning against each other made it ~5.5x before trainers
became single-threaded processes, one per CPU (see ``training.workers``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from looking_inside.config import PROJECT_ROOT

# The article's four networks: a fixed, bounded amount of training to compare.
EXPERIMENTS = ("mnist-1layer", "mnist-2layer", "cifar-1layer", "cifar-2layer")


@dataclass(frozen=True)
class Concurrency:
    alone_s: float  # `train` of the four with an empty cache, nothing else running
    together_s: tuple[float, ...]  # each of two such runs started at the same moment

    @property
    def ratio(self) -> float:
        return max(self.together_s) / self.alone_s

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio, "experiments": list(EXPERIMENTS)}


def _start(data_root: Path, cache: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "looking_inside", "train", "--data-root", str(data_root),
           "--cache-dir", str(cache)]
    for name in EXPERIMENTS:
        cmd += ["--only", name]
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT / "src"), LOOKING_INSIDE_DOWNLOAD="0")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def _wait(proc: subprocess.Popen) -> None:
    _, err = proc.communicate()
    if proc.returncode != 0:
        from looking_inside.errors import BuildError

        raise BuildError(f"benchmark training failed:\n{err[-2000:]}")


def two_builds(data_root: Path, scratch: Path) -> Concurrency:
    """Train the four alone, then twice at once (each with its own empty cache)."""
    t = time.perf_counter()
    _wait(_start(data_root, scratch / "alone"))
    alone = time.perf_counter() - t
    t = time.perf_counter()
    procs = [_start(data_root, scratch / f"together-{i}") for i in range(2)]
    ends = []
    for p in procs:
        _wait(p)
        ends.append(time.perf_counter() - t)
    return Concurrency(alone, tuple(ends))
