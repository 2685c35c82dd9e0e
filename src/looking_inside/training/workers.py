"""Train several experiments at once: one single-threaded process per available CPU.

The networks are small: a step is mostly per-operation overhead that a second
thread cannot share, so two threads on one network buy little, while two networks
on one thread each buy nearly 2x. One thread per process also means no thread pool
spinning against another build's (two builds at once share the CPUs fairly), and
results that do not depend on the machine's thread count (see ``trainer``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from looking_inside.config import Experiment, Settings
from looking_inside.errors import Reported
from looking_inside.machine import available_cpus, die_with_parent


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
    src = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, OMP_NUM_THREADS="1",  # no OpenMP pool to spin up at all
               PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="looking-inside-claims-") as claims:
        cmd = [sys.executable, "-m", "looking_inside", "train", "--serial", "--data-root",
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
