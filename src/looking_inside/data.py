"""MNIST and CIFAR-10 into memory, from torchvision's on-disk layout.

MNIST goes through ``torchvision.datasets.MNIST`` after our own header check (so a
truncated or foreign file gets an error naming it, not a reshape failure deep in
torchvision). CIFAR-10 is downloaded by ``torchvision.datasets.CIFAR10`` when
missing, but always *read* here: torchvision refuses subsets (md5 check) and
unpickles with the unrestricted ``pickle``; we admit only what a batch contains.
"""

from __future__ import annotations

import io
import logging
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from looking_inside.config import Dataset, Settings
from looking_inside.datafiles import (
    CIFAR_DIR,
    CIFAR_META,
    CIFAR_TEST,
    CIFAR_TRAIN,
    MNIST_FILES,
    fingerprint,
    missing_error,
    source_files,
)
from looking_inside.errors import BuildError

log = logging.getLogger("mkdocs.plugins.looking_inside.data")

MNIST_CLASSES = tuple(str(i) for i in range(10))
CIFAR_CLASSES_EN = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
CIFAR_CLASSES_ZH = ("飞机", "汽车", "鸟", "猫", "鹿", "狗", "青蛙", "马", "船", "卡车")

@dataclass(frozen=True)
class Split:
    """One split held in memory as it came from disk."""

    images: np.ndarray  # uint8, (N, 28, 28) for MNIST, (N, 3, 32, 32) for CIFAR-10
    labels: np.ndarray  # int64, (N,)

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class DataBundle:
    dataset: Dataset
    train: Split
    test: Split
    fingerprint: str  # sha256 over the source files' bytes

    @property
    def classes_zh(self) -> tuple[str, ...]:
        return MNIST_CLASSES if self.dataset == "mnist" else CIFAR_CLASSES_ZH


def ensure_files(settings: Settings, dataset: Dataset) -> None:
    """Download with torchvision when files are missing and downloads are allowed."""
    root = settings.data_root
    missing = [p for p in source_files(root, dataset) if not p.is_file()]
    if not missing:
        return
    if not settings.download:
        raise missing_error(root, dataset, missing, "downloads are switched off")
    log.info("%s: downloading into %s with torchvision", dataset, root)
    import torchvision.datasets as tvd

    try:
        root.mkdir(parents=True, exist_ok=True)
        if dataset == "mnist":
            for train in (True, False):
                tvd.MNIST(str(root), train=train, download=True)
        else:
            tvd.CIFAR10(str(root), train=True, download=True)
    except Exception as exc:  # network errors come in many types; all mean "not here"
        raise missing_error(root, dataset, missing, f"download failed: {exc}") from exc
    still = [p for p in source_files(root, dataset) if not p.is_file()]
    if still:
        raise missing_error(root, dataset, still, "download finished without them")


# --- MNIST ----------------------------------------------------------------

def check_idx(path: Path, kind: str) -> int:
    """Validate an IDX header against the file size; return the item count.

    ``kind`` is ``"images"`` (magic 2051, N x 28 x 28) or ``"labels"`` (2049, N).
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise BuildError(f"{path}: cannot read ({exc})") from exc
    want_magic, header = (2051, 16) if kind == "images" else (2049, 8)
    if len(head) < header:
        raise BuildError(f"{path}: file is {size} bytes, shorter than an IDX header; "
                         "delete it and download again")
    magic, count = struct.unpack(">II", head[:8])
    if magic != want_magic:
        raise BuildError(
            f"{path}: wrong magic number {magic} (IDX {kind} files start with {want_magic}); "
            "this is not an MNIST file, or it is still gzip-compressed"
        )
    item = 1
    if kind == "images":
        rows, cols = struct.unpack(">II", head[8:16])
        if (rows, cols) != (28, 28):
            raise BuildError(f"{path}: images are {rows}x{cols}, MNIST's are 28x28")
        item = 28 * 28
    expected = header + count * item
    if size != expected:
        raise BuildError(
            f"{path}: header says {count} {kind} ({expected} bytes) but the file has {size} "
            "bytes; it is truncated or corrupt. Delete it and download again"
        )
    return count


def load_mnist_split(root: Path, split: str) -> Split:
    img_name, lbl_name = MNIST_FILES[split]
    raw = root / "MNIST" / "raw"
    n_img = check_idx(raw / img_name, "images")
    n_lbl = check_idx(raw / lbl_name, "labels")
    if n_img != n_lbl:
        raise BuildError(
            f"MNIST {split}: {raw / img_name} holds {n_img} images but {raw / lbl_name} "
            f"holds {n_lbl} labels; the two files must come from the same download"
        )
    import torchvision.datasets as tvd

    ds = tvd.MNIST(str(root), train=(split == "train"), download=False)
    images = ds.data.numpy().astype(np.uint8, copy=False)
    labels = ds.targets.numpy().astype(np.int64, copy=False)
    if labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise BuildError(f"{raw / lbl_name}: labels outside 0-9")
    return Split(images=images, labels=labels)


# --- CIFAR-10 -------------------------------------------------------------

def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # Protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1'); nothing else.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _safe_dtype(spec: Any, *args: Any) -> np.dtype:
    dt = np.dtype(spec)
    if dt.hasobject:
        raise pickle.UnpicklingError("refused an object dtype")
    return dt


def _reconstruct(cls: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise pickle.UnpicklingError("refused to reconstruct a non-ndarray")
    return np.ndarray.__new__(np.ndarray, shape, _safe_dtype(dtype_code))


class CifarUnpickler(pickle.Unpickler):
    """Admits dicts, lists, strings, bytes, ints and plain numpy arrays, nothing else.

    Any other global (``os.system``, ``builtins.eval``, ...) raises before it can be
    called, so a hostile batch cannot run code.
    """

    ALLOWED: dict[tuple[str, str], Any] = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _safe_dtype,
        ("_codecs", "encode"): _latin1_encode,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: a CIFAR-10 batch never contains it"
            ) from None


def read_cifar_batch(path: Path) -> dict[str, Any]:
    """Unpickle one CIFAR-10 python batch with the restricted unpickler."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BuildError(f"{path}: cannot read ({exc})") from exc
    try:
        obj = CifarUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as exc:
        raise BuildError(
            f"{path}: not a valid CIFAR-10 batch ({exc}). The file was refused, nothing in "
            "it was executed; replace it with the original from the CIFAR-10 python archive"
        ) from exc
    if not isinstance(obj, dict):
        raise BuildError(f"{path}: expected a dict, found {type(obj).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _cifar_split(paths: list[Path]) -> Split:
    images, labels = [], []
    for p in paths:
        batch = read_cifar_batch(p)
        data, lab = batch.get("data"), batch.get("labels")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
                or data.shape[1] != 3072:
            raise BuildError(f"{p}: 'data' must be a uint8 array of shape (N, 3072)")
        if not isinstance(lab, list) or not all(isinstance(v, int) for v in lab):
            raise BuildError(f"{p}: 'labels' must be a list of ints")
        if len(lab) != data.shape[0]:
            raise BuildError(f"{p}: {data.shape[0]} images but {len(lab)} labels")
        lab_arr = np.asarray(lab, dtype=np.int64)
        if lab_arr.size and (lab_arr.min() < 0 or lab_arr.max() > 9):
            raise BuildError(f"{p}: labels outside 0-9")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(lab_arr)
    return Split(images=np.concatenate(images), labels=np.concatenate(labels))


def load_cifar(root: Path) -> tuple[Split, Split]:
    d = root / CIFAR_DIR
    meta = read_cifar_batch(d / CIFAR_META)
    names = tuple(meta.get("label_names", ()))
    if names != CIFAR_CLASSES_EN:
        raise BuildError(f"{d / CIFAR_META}: label_names {names} are not CIFAR-10's")
    return _cifar_split([d / f for f in CIFAR_TRAIN]), _cifar_split([d / f for f in CIFAR_TEST])


def load(settings: Settings, dataset: Dataset) -> DataBundle:
    """Load a whole data set into memory (downloading first where allowed)."""
    ensure_files(settings, dataset)
    root = settings.data_root
    if dataset == "mnist":
        train, test = load_mnist_split(root, "train"), load_mnist_split(root, "test")
    else:
        train, test = load_cifar(root)
    log.info("%s: %d train / %d test images from %s", dataset, len(train), len(test), root)
    return DataBundle(dataset=dataset, train=train, test=test,
                      fingerprint=fingerprint(settings, dataset))
