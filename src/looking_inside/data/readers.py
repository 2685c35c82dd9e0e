"""Parse MNIST's IDX files and CIFAR-10's python batches with numpy alone.

No torch and no torchvision here: the figures read test images through this module,
and rendering must never pay for importing torch. Every count, shape and label is
checked against the file's size before anything is allocated, so a small hostile
file cannot make a large allocation, and every problem is one ``BuildError`` line
naming the file and the fix (never a traceback).
"""

from __future__ import annotations

import io
import math
import os
import pickle
import pickletools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from looking_inside.cache import open_regular
from looking_inside.data.datasets import CIFAR10, MNIST, DatasetSpec
from looking_inside.data.files import unreadable
from looking_inside.errors import BuildError

REPLACE = "replace it with the original from the data set's download"
AGAIN = "delete it and download again"
# Opcodes a CIFAR-10 batch may hold. Each opcode makes at most one object, and a
# 1-byte opcode can make an object of ~70 bytes (an empty list), so this bounds what
# unpickling a file can allocate beyond its own bytes (~15 MB). A real batch holds
# about three per image (a label, a file name and its memo entry): ~31,000.
MAX_PICKLE_OPS = 200_000


@dataclass(frozen=True)
class Split:
    """One split held in memory as it came from disk."""

    images: np.ndarray  # uint8, (N, 28, 28) for MNIST, (N, 3, 32, 32) for CIFAR-10
    labels: np.ndarray  # int64, (N,)

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def short(value: Any, limit: int = 60) -> str:
    """A bounded description of a value for an error message (never a huge repr)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        # repr() of a huge int is slow, and refused past 4300 digits (a ValueError).
        return f"an int of {value.bit_length()} bits"
    plain = isinstance(value, str | bytes | int | float | type(None))
    text = repr(value) if plain else f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bad_file(path: Path, why: str, fix: str = REPLACE) -> BuildError:
    return BuildError(f"{path}: {why}; {fix}")


# --- MNIST ----------------------------------------------------------------

def read_idx(path: Path, kind: str) -> np.ndarray:
    """An IDX file as uint8, ``(N, 28, 28)`` for ``kind="images"`` or ``(N,)`` labels."""
    want_magic, header = (2051, 16) if kind == "images" else (2049, 8)
    try:
        with open_regular(path, follow=True) as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(header)
            if len(head) < header:
                raise bad_file(path, f"file is {size} bytes, shorter than an IDX header", AGAIN)
            magic, count = struct.unpack(">II", head[:8])
            if magic != want_magic:
                raise bad_file(path, f"wrong magic number {magic} (IDX {kind} files start with "
                               f"{want_magic}); not an MNIST file, or still gzip-compressed", AGAIN)
            shape = struct.unpack(">II", head[8:16]) if kind == "images" else ()
            if kind == "images" and shape != MNIST.image_shape:
                raise bad_file(path, f"images are {shape[0]}x{shape[1]}, MNIST's are 28x28", AGAIN)
            if count == 0:
                raise bad_file(path, f"header says the file holds no {kind}", AGAIN)
            n = count * math.prod(shape)
            if size != header + n:
                raise bad_file(path, f"header says {count} {kind} ({header + n} bytes) but the "
                               f"file has {size} bytes; it is truncated or corrupt", AGAIN)
            buf = bytearray(n)
            got = f.readinto(buf)
    except (OSError, ValueError) as exc:
        raise unreadable(path, exc) from exc
    if got != n:  # the file changed under us
        raise BuildError(f"{path}: changed while it was read; run the build again")
    return np.frombuffer(buf, dtype=np.uint8).reshape(count, *shape)


def read_mnist_split(root: Path, split: str) -> Split:
    files = MNIST.train_files if split == "train" else MNIST.test_files
    img_path, lbl_path = (root / MNIST.folder / f for f in files)
    images = read_idx(img_path, "images")
    labels = read_idx(lbl_path, "labels")
    if len(images) != len(labels):
        raise BuildError(f"MNIST {split}: {img_path} holds {len(images)} images but {lbl_path} "
                         f"holds {len(labels)} labels; the two files must come from the same "
                         "download")
    if labels.max() > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise bad_file(lbl_path, f"label {labels[bad]} at position {bad} is outside 0-9")
    return Split(images=images, labels=labels.astype(np.int64))


# --- CIFAR-10 -------------------------------------------------------------

def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # Protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1'); nothing else.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {short(encoding)}")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    # Protocol 2 spells an empty bytes object (an empty array's data) as
    # __builtin__.bytes(); with an argument, bytes(n) would allocate n bytes.
    if args:
        raise pickle.UnpicklingError("refused bytes() with arguments")
    return b""


def _safe_dtype(spec: Any, *args: Any) -> np.dtype:
    if not isinstance(spec, str | bytes) or len(spec) > 8:
        raise pickle.UnpicklingError(f"refused dtype {short(spec)}")
    dt = np.dtype(spec.decode("latin1") if isinstance(spec, bytes) else spec)
    if dt.hasobject or dt.itemsize == 0:
        raise pickle.UnpicklingError("refused an object or empty dtype")
    return dt


class CifarUnpickler(pickle.Unpickler):
    """CIFAR-10 batches are pickles, and unpickling is code execution: this admits
    dicts, lists, strings, bytes, ints and plain numpy arrays, nothing else.

    Any other global (``os.system``, ``builtins.eval``, ...) raises before it can be
    called, so a hostile batch cannot run code. All the arrays together may declare
    no more bytes than the whole file holds: numpy's reconstruction path would
    otherwise allocate whatever a few bytes of header ask for, once per array.
    """

    def __init__(self, file: io.BytesIO, budget: int) -> None:
        super().__init__(file, encoding="latin1")
        self.budget = budget  # bytes all arrays together may still take: the file's size

    def _reconstruct(self, cls: Any, shape: Any, dtype_code: Any) -> np.ndarray:
        if cls is not np.ndarray:
            raise pickle.UnpicklingError("refused to reconstruct a non-ndarray")
        if not isinstance(shape, tuple) or len(shape) > 4 or \
                not all(isinstance(d, int) and d >= 0 for d in shape):
            raise pickle.UnpicklingError(f"refused array shape {short(shape)}")
        dt = _safe_dtype(dtype_code)
        nbytes = math.prod(shape) * dt.itemsize
        if nbytes > self.budget:
            raise pickle.UnpicklingError("arrays declare more bytes than the file holds")
        self.budget -= nbytes
        return np.ndarray.__new__(np.ndarray, shape, dt)

    def find_class(self, module: str, name: str) -> Any:
        found = {
            ("numpy.core.multiarray", "_reconstruct"): self._reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): self._reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): _safe_dtype,
            ("_codecs", "encode"): _latin1_encode,
            ("__builtin__", "bytes"): _empty_bytes,
            ("builtins", "bytes"): _empty_bytes,
        }.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refused global {module[:40]}.{name[:40]}: a CIFAR-10 batch never contains it")
        return found


def read_cifar_batch(path: Path) -> dict[str, Any]:
    """Unpickle one CIFAR-10 python batch with the restricted unpickler."""
    try:
        with open_regular(path, follow=True) as f:
            raw = f.read()
    except (OSError, ValueError) as exc:
        raise unreadable(path, exc) from exc
    try:
        # Count first: unpickling cannot be stopped midway by a budget of objects.
        for n, _ in enumerate(pickletools.genops(raw)):
            if n >= MAX_PICKLE_OPS:
                raise pickle.UnpicklingError(f"more than {MAX_PICKLE_OPS} pickle opcodes")
        obj = CifarUnpickler(io.BytesIO(raw), budget=len(raw)).load()
    except Exception as exc:  # any malformed pickle; the message is bounded below
        why = " ".join(str(exc).split())[:70] or type(exc).__name__
        raise bad_file(path, f"not a valid CIFAR-10 batch ({why}); nothing in it ran") from None
    if not isinstance(obj, dict):
        raise bad_file(path, f"expected a dict, found {short(obj)}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _cifar_split(root: Path, split: str) -> Split:
    images, labels = [], []
    for f in CIFAR10.train_files if split == "train" else CIFAR10.test_files:
        p = root / CIFAR10.folder / f
        batch = read_cifar_batch(p)
        data, lab = batch.get("data"), batch.get("labels")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
                or data.shape[1] != CIFAR10.n_inputs:
            raise bad_file(p, "'data' must be a uint8 array of shape (N, 3072)")
        if data.shape[0] == 0:
            raise bad_file(p, "the batch holds no images")
        if not isinstance(lab, list):
            raise bad_file(p, f"'labels' must be a list of ints, found {short(lab)}")
        if len(lab) != len(data):
            raise bad_file(p, f"{len(data)} images but {len(lab)} labels")
        for i, v in enumerate(lab):
            if type(v) is not int or not 0 <= v <= 9:
                raise bad_file(p, f"label {short(v)} at position {i} is not an int in 0-9")
        labels.append(np.asarray(lab, dtype=np.int64))
        images.append(data.reshape(-1, *CIFAR10.image_shape))
    return Split(images=np.concatenate(images), labels=np.concatenate(labels))


def read_splits(root: Path, dataset: DatasetSpec, splits: tuple[str, ...] = ("train", "test")
                ) -> tuple[Split, ...]:
    """The named splits of a data set (by default train, test) from its files."""
    if dataset.name == "mnist":
        return tuple(read_mnist_split(root, s) for s in splits)
    meta_path = root / CIFAR10.folder / CIFAR10.meta_files[0]
    names = read_cifar_batch(meta_path).get("label_names")
    # Only strings compared: an array among them would compare element by element.
    if not isinstance(names, list) or not all(type(n) is str for n in names) \
            or tuple(names) != CIFAR10.classes_en:
        raise bad_file(meta_path, f"label_names are not CIFAR-10's ten classes ({short(names)})")
    return tuple(_cifar_split(root, s) for s in splits)
