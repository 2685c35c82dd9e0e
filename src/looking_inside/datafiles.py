"""Which files make up a data set, and their identity, without importing numpy.

Kept apart from ``data`` so a warm build can compute cache keys cheaply.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from looking_inside.config import ENV_DATA, Dataset, Settings
from looking_inside.errors import BuildError

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = ("test_batch",)
CIFAR_META = "batches.meta"

LAYOUT_HELP = {
    "mnist": "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
    "cifar10": "cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}",
}


def source_files(root: Path, dataset: Dataset) -> list[Path]:
    """The files a data set is read from, in a fixed order."""
    if dataset == "mnist":
        raw = root / "MNIST" / "raw"
        return [raw / f for pair in MNIST_FILES.values() for f in pair]
    d = root / CIFAR_DIR
    return [d / f for f in (*CIFAR_TRAIN, *CIFAR_TEST, CIFAR_META)]


def missing_error(root: Path, dataset: Dataset, missing: list[Path], why: str) -> BuildError:
    listed = "\n".join(f"  - {p}" for p in missing)
    return BuildError(
        f"{dataset}: data files not found under {root} ({why}).\n"
        f"Looked for:\n{listed}\n"
        f"Expected layout inside the data root: {LAYOUT_HELP[dataset]}\n"
        f"Fix: set {ENV_DATA} to a folder in torchvision's layout (offline machines: "
        f"{ENV_DATA}=../shared/data), or run once with network access so torchvision "
        "can download the files."
    )


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(settings: Settings, dataset: Dataset) -> str:
    """A hash of the data set's source files, memoised by (size, mtime) in the cache.

    Hashing 200 MB on every build would cost more than the whole warm build, so a
    file whose size and mtime are unchanged reuses its recorded hash (as git does).
    """
    files = source_files(settings.data_root, dataset)
    memo_path = settings.cache_dir / "data-hashes.json"
    try:
        memo: dict[str, Any] = json.loads(memo_path.read_text())
        if not isinstance(memo, dict):
            memo = {}
    except (OSError, ValueError):
        memo = {}
    h = hashlib.sha256(dataset.encode())
    changed = False
    for p in files:
        try:
            st = p.stat()
        except OSError as exc:
            raise missing_error(settings.data_root, dataset, [p], str(exc)) from exc
        stamp = [st.st_size, st.st_mtime_ns]
        entry = memo.get(str(p))
        if isinstance(entry, dict) and entry.get("stat") == stamp and \
                isinstance(entry.get("sha256"), str):
            digest = entry["sha256"]
        else:
            digest = _file_sha256(p)
            memo[str(p)] = {"stat": stamp, "sha256": digest}
            changed = True
        h.update(p.name.encode() + b"\0" + digest.encode())
    if changed:
        from looking_inside.cache import atomic_write_text

        # The memo only saves time; an unwritable cache is reported elsewhere.
        with contextlib.suppress(OSError):
            atomic_write_text(memo_path, json.dumps(memo, indent=1, sort_keys=True))
    return h.hexdigest()
