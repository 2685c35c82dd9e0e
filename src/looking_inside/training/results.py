"""What training returns, and its safe on-disk form (``.npz`` without pickle + JSON)."""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from looking_inside.cache import open_regular
from looking_inside.config import Experiment

if TYPE_CHECKING:
    import numpy as np

# numpy is imported where arrays are read or written: a warm build reads only the
# checked summary (``read_info``) and must not pay for it.

ARRAYS = "arrays.npz"
META = "meta.json"
# What a results entry's meta.json must hold for the pages that quote it, with the
# test each value must pass.
INFO_FIELDS: dict[str, Callable[[Any], bool]] = {
    "n_train": lambda v: type(v) is int and 0 < v <= 10**7,
    "n_test": lambda v: type(v) is int and 0 < v <= 10**7,
    "test_accuracy": lambda v: type(v) is float and 0.0 <= v <= 1.0,
    "train_accuracy": lambda v: type(v) is float and 0.0 <= v <= 1.0,
    "train_seconds": lambda v: type(v) is float and 0.0 <= v < 10**6,
    "device": lambda v: isinstance(v, str) and bool(re.fullmatch(r"cpu|cuda(:\d{1,2})?|mps", v)),
}


def read_info(path: Path, exp: Experiment) -> dict[str, Any]:
    """The checked summary of a results entry, from its meta.json (at most 64 kB, any
    nesting refused as malformed); ValueError names what is wrong."""
    try:
        with open_regular(path, limit=1 << 16) as f:
            meta = json.loads(f.read())
    except (OSError, RecursionError) as exc:
        raise ValueError(f"{path.name}: {type(exc).__name__}") from None
    if not isinstance(meta, dict) or meta.get("experiment") != exp.as_dict():
        raise ValueError(f"{path.name} is not this experiment's")
    for name, ok in INFO_FIELDS.items():
        if not ok(meta.get(name)):
            raise ValueError(f"{path.name}: bad {name} {str(meta.get(name))[:40]!r}")
    return {name: meta[name] for name in INFO_FIELDS}


@dataclass(frozen=True)
class Snapshots:
    """Weights during training, at log-spaced steps (see ``Experiment.snapshots``)."""

    steps: np.ndarray  # (S,) int64, optimiser steps taken; 0 is the initialisation
    test_accuracy: np.ndarray  # (S,) float64, on the whole test split
    weights: tuple[np.ndarray, ...]  # per linear layer, (S, out, in) float32


@dataclass(frozen=True)
class Results:
    """Everything later steps need from one trained experiment."""

    experiment: Experiment
    # per layer, first first: (out, in, 5, 5) per convolution, (out, in) per linear
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]  # per layer, (out,)
    history: dict[str, np.ndarray]  # per-epoch "loss", "train_accuracy", "test_accuracy"
    test_labels: np.ndarray  # (N,) int64
    test_probs: np.ndarray  # (N, 10) float32 softmax
    hidden: np.ndarray | None  # (N, H) first hidden layer's activations on the test set
    confusion: np.ndarray  # (10, 10) int64, rows actual, columns predicted
    snapshots: Snapshots | None  # only for experiments that ask for them
    test_accuracy: float
    train_seconds: float
    n_train: int
    n_test: int
    data_fingerprint: str
    device: str
    versions: dict[str, str]
    train_accuracy: float  # the final model's, on its training images

    @property
    def predictions(self) -> np.ndarray:
        return self.test_probs.argmax(1)

    def info(self) -> dict[str, Any]:
        """The summary kept in the cache stamp: enough for a warm build's reports."""
        return {name: getattr(self, name) for name in INFO_FIELDS}

    def to_files(self) -> dict[str, bytes]:
        import numpy as np

        arrays: dict[str, np.ndarray] = {"test_labels": self.test_labels,
                                         "test_probs": self.test_probs, "confusion": self.confusion}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"weight{i}"], arrays[f"bias{i}"] = w, b
        for k, v in self.history.items():
            arrays[f"history_{k}"] = v
        if self.hidden is not None:
            arrays["hidden"] = self.hidden
        if self.snapshots is not None:
            arrays["snapshot_steps"] = self.snapshots.steps
            arrays["snapshot_accuracy"] = self.snapshots.test_accuracy
            for i, w in enumerate(self.snapshots.weights):
                arrays[f"snapshot_weight{i}"] = w
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        meta = {"experiment": self.experiment.as_dict(), **self.info(),
                "data_fingerprint": self.data_fingerprint, "versions": self.versions}
        return {ARRAYS: buf.getvalue(), META: json.dumps(meta, indent=1).encode()}

    @classmethod
    def from_folder(cls, folder: Path, experiment: Experiment) -> Results:
        """Read an entry back; anything missing or malformed is a ValueError."""
        try:
            info = read_info(folder / META, experiment)  # the fields quoted, checked
            with open_regular(folder / META, limit=1 << 16) as f:
                meta: dict[str, Any] = json.loads(f.read())
            a = _arrays(folder / ARRAYS)
            shapes = experiment.layer_shapes
            weights = tuple(a[f"weight{i}"] for i in range(len(shapes)))
            biases = tuple(a[f"bias{i}"] for i in range(len(shapes)))
            for i, (w, b, shape) in enumerate(zip(weights, biases, shapes, strict=True)):
                if w.shape != shape or b.shape != shape[:1]:
                    raise ValueError(f"layer {i} has shape {w.shape}")
            labels, probs, hidden = a["test_labels"], a["test_probs"], a.get("hidden")
            n_test = info["n_test"]
            if labels.shape != (n_test,) or probs.shape != (n_test, 10) or \
                    a["confusion"].shape != (10, 10) or labels.min() < 0 or labels.max() > 9:
                raise ValueError("test arrays have the wrong shapes")
            units = experiment.hidden[0] if experiment.hidden and not experiment.conv else None
            if (hidden is None) != (units is None) or \
                    (hidden is not None and hidden.shape != (n_test, units)):
                raise ValueError("hidden activations have the wrong shape")
            history = {k[len("history_"):]: v for k, v in a.items() if k.startswith("history_")}
            if any(v.shape != (experiment.epochs,) for v in history.values()):
                raise ValueError("history arrays have the wrong shape")
            return cls(
                experiment=experiment, weights=weights, biases=biases, history=history,
                snapshots=_read_snapshots(a, experiment),
                test_labels=labels, test_probs=probs, hidden=hidden, confusion=a["confusion"],
                data_fingerprint=str(meta["data_fingerprint"]), versions=dict(meta["versions"]),
                **info,
            )

        except (OSError, KeyError, TypeError, IndexError, AttributeError, EOFError,
                zipfile.BadZipFile) as exc:
            raise ValueError(f"{type(exc).__name__}: {str(exc)[:80]}") from None

def _arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz, each member's header checked before anything is read:
    stored (not compressed) as np.savez writes them, no object arrays (no pickle), and
    no more bytes declared than the member holds, so memory stays bounded by the file."""
    import numpy as np

    fmt = np.lib.format
    with open_regular(path) as f, zipfile.ZipFile(f) as z:
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                raise ValueError(f"{info.filename[:40]!r} is not a stored array")
            with z.open(info) as m:
                version = fmt.read_magic(m)
                read = fmt.read_array_header_1_0 if version == (1, 0) else \
                    fmt.read_array_header_2_0
                shape, _, dtype = read(m)
            if dtype.hasobject or math.prod(shape) * dtype.itemsize > info.file_size:
                raise ValueError(f"{info.filename[:40]!r} declares more than it holds")
        f.seek(0)
        with np.load(f, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}


def _read_snapshots(a: dict[str, np.ndarray], experiment: Experiment) -> Snapshots | None:
    import numpy as np

    if experiment.snapshots == 0:
        return None
    steps, acc = a["snapshot_steps"], a["snapshot_accuracy"]
    s = steps.shape[0] if steps.ndim == 1 else -1
    if s < 2 or acc.shape != (s,) or steps[0] != 0 or np.any(np.diff(steps) <= 0) \
            or np.any((acc < 0) | (acc > 1)):
        raise ValueError("snapshot steps or accuracies are malformed")
    shapes = experiment.layer_shapes
    weights = tuple(a[f"snapshot_weight{i}"] for i in range(len(shapes)))
    for i, (w, shape) in enumerate(zip(weights, shapes, strict=True)):
        if w.shape != (s, *shape):
            raise ValueError(f"snapshot weights of layer {i} have shape {w.shape}")
    return Snapshots(steps=steps, test_accuracy=acc, weights=weights)
