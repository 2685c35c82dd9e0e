"""A whole data set into memory: downloaded where allowed, identified, read.

Reading is ``readers``' numpy-only code, always: torchvision is used only to
download (it would also read files we never checked, such as ``MNIST/processed``,
and it refuses CIFAR-10 subsets). A download goes into a private temp folder that
is moved into place only when complete, so an interrupted or tampered download
leaves nothing half-written behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from looking_inside.config import Settings
from looking_inside.data.datasets import Dataset, spec
from looking_inside.data.files import fingerprint, missing_error, source_files
from looking_inside.data.readers import Split, read_splits

log = logging.getLogger("mkdocs.plugins.looking_inside.data")


@dataclass(frozen=True)
class DataBundle:
    dataset: Dataset
    train: Split
    test: Split
    fingerprint: str  # sha256 over the source files' bytes


def ensure_files(settings: Settings, dataset: Dataset) -> None:
    """Download with torchvision when files are missing and downloads are allowed."""
    root = settings.data_root
    missing = [p for p in source_files(root, dataset) if not p.is_file()]
    if not missing:
        return
    if not settings.download:
        raise missing_error(root, dataset, missing, "downloads are switched off")
    log.info("%s: downloading into %s with torchvision", dataset, root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    except OSError as exc:
        raise missing_error(root, dataset, missing, f"cannot write: {exc.strerror}") from exc
    try:
        import torchvision.datasets as tvd

        try:
            if dataset == "mnist":
                for train in (True, False):
                    tvd.MNIST(str(tmp), train=train, download=True)
            else:
                tvd.CIFAR10(str(tmp), train=True, download=True)
        except Exception as exc:  # network and checksum errors come in many types
            raise missing_error(root, dataset, missing,
                                f"download failed: {str(exc)[:120]}") from None
        fetched = source_files(tmp, dataset)
        absent = [p for p in fetched if not p.is_file()]
        if absent:
            raise missing_error(root, dataset, absent, "download finished without them")
        for src, dst in zip(fetched, source_files(root, dataset), strict=True):
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(settings: Settings, dataset: Dataset) -> DataBundle:
    """Load a whole data set into memory (downloading first where allowed)."""
    ensure_files(settings, dataset)
    root = settings.data_root
    # Identify before reading: a file replaced between the two would otherwise be
    # read as new and cached under the old identity.
    digest = fingerprint(settings, dataset)
    train, test = read_splits(root, spec(dataset))
    log.info("%s: %d train / %d test images from %s", dataset, len(train), len(test), root)
    return DataBundle(dataset=dataset, train=train, test=test, fingerprint=digest)
