"""A whole data set into memory: downloaded where allowed, identified, read.

torchvision only downloads (its helpers, with the URLs and checksums its dataset classes
declare); its datasets are never constructed: they would read files we never checked
(``MNIST/processed``), unpickle CIFAR with plain pickle, and refuse CIFAR-10 subsets.
A download goes into a private temp folder moved into place only when complete, so an
interrupted or tampered one leaves nothing half-written; the folder of a download
whose process was killed is removed by the next one.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from looking_inside.config import Settings
from looking_inside.data.datasets import Dataset, spec
from looking_inside.data.files import fingerprint, missing_error
from looking_inside.data.readers import Split, read_splits
from looking_inside.errors import BuildError

log = logging.getLogger("mkdocs.plugins.looking_inside.data")


@dataclass(frozen=True)
class DataBundle:
    dataset: Dataset
    train: Split
    test: Split
    fingerprint: str  # sha256 over the source files' bytes


TMP_PREFIX = ".download-"
# Seconds a download may wait to connect, or for the next bytes: torchvision's
# downloader sets no timeout, and a mirror that accepts and never answers would hang
# the build with no output.
NETWORK_TIMEOUT = 30.0


def _clear_stale_downloads(root: Path) -> None:
    """Remove the temp folders of downloads whose process is gone (killed mid-file)."""
    for d in root.glob(TMP_PREFIX + "*"):
        try:
            pid = int(d.name[len(TMP_PREFIX):].split("-")[0])
            os.kill(pid, 0)  # raises ProcessLookupError when no such process runs
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (ValueError, OSError):
            continue  # not ours, or another user's live process: leave it


def _download(dataset: Dataset, into: Path) -> None:
    """The official archives into ``into``, checked against torchvision's md5s, every
    socket read bounded by ``NETWORK_TIMEOUT`` (torchvision's ``urlopen`` takes the
    default, set for this process while it downloads)."""
    import torchvision.datasets as tvd
    from torchvision.datasets.utils import download_and_extract_archive

    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT)
    try:
        if dataset == "mnist":
            for filename, md5 in tvd.MNIST.resources:
                errors = []
                for mirror in tvd.MNIST.mirrors:
                    try:
                        download_and_extract_archive(f"{mirror}{filename}", filename=filename,
                                                     download_root=into / "MNIST" / "raw",
                                                     md5=md5)
                        break
                    except Exception as exc:  # noqa: BLE001 - try the next mirror
                        errors.append(f"{mirror}: {str(exc)[:60]}")
                else:
                    raise RuntimeError(f"{filename}: " + "; ".join(errors))
        else:
            try:
                download_and_extract_archive(tvd.CIFAR10.url, download_root=into,
                                             filename=tvd.CIFAR10.filename,
                                             md5=tvd.CIFAR10.tgz_md5)
            except Exception as exc:  # noqa: BLE001 - name the mirror
                raise RuntimeError(f"{tvd.CIFAR10.url}: {str(exc)[:60]}") from None
    finally:
        socket.setdefaulttimeout(before)


def ensure_files(settings: Settings, dataset: Dataset) -> None:
    """Download with torchvision when files are missing and downloads are allowed."""
    root = settings.data_root
    files = spec(dataset).source_files(root)
    for p in files:
        if p.exists() and not p.is_file():  # a FIFO would block the first read for ever
            raise BuildError(f"{p}: not a regular file; fix: put the real file there, or "
                             "delete it to download it again")
    missing = [p for p in files if not p.is_file()]
    if not missing:
        return
    if not settings.download:
        raise missing_error(root, dataset, missing, "downloads are switched off")
    log.info("%s: downloading into %s with torchvision", dataset, root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        _clear_stale_downloads(root)
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=root))
    except OSError as exc:
        raise missing_error(root, dataset, missing, f"cannot write: {exc.strerror}") from exc
    try:
        try:
            _download(dataset, tmp)
        except Exception as exc:  # network and checksum errors come in many types
            why = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise missing_error(root, dataset, missing, f"download failed: {why}") from None
        fetched = spec(dataset).source_files(tmp)
        absent = [p for p in fetched if not p.is_file()]
        if absent:
            raise missing_error(root, dataset, absent, "download finished without them")
        for src, dst in zip(fetched, files, strict=True):
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

