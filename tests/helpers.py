"""Small builders of synthetic inputs shared by the tests."""

from __future__ import annotations

import math
import pickle
import signal
import struct
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from looking_inside.config import Experiment
from looking_inside.data.datasets import CIFAR10
from looking_inside.data.load import DataBundle
from looking_inside.data.readers import Split
from looking_inside.products.inputs import ProductInputs
from looking_inside.training.results import Results, Snapshots


def write_idx_images(path: Path, images: np.ndarray, count: int | None = None) -> None:
    n = images.shape[0] if count is None else count
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.astype(np.uint8).tobytes())


def write_idx_labels(path: Path, labels: np.ndarray, count: int | None = None) -> None:
    n = labels.shape[0] if count is None else count
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack(">II", 2049, n) + labels.astype(np.uint8).tobytes())


def write_mnist(root: Path, n_train: int, n_test: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte",
                         rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))


def write_cifar(root: Path, per_batch: int, seed: int = 0) -> None:
    """Batches in the original python format (protocol 2, as the real files)."""
    rng = np.random.default_rng(seed)
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"batch_label": name,
                 "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "labels": [int(v) for v in rng.integers(0, 10, per_batch)]}
        (d / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"label_names": list(CIFAR10.classes_en), "num_cases_per_batch": per_batch,
            "num_vis": 3072}
    (d / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def fake_bundle(dataset: str, n: int = 200, seed: int = 0) -> DataBundle:
    rng = np.random.default_rng(seed)
    shape = (n, 28, 28) if dataset == "mnist" else (n, 3, 32, 32)

    def split() -> Split:
        return Split(rng.integers(0, 256, shape, dtype=np.uint8),
                     rng.integers(0, 10, n).astype(np.int64))

    return DataBundle(dataset, split(), split(), "f" * 64)  # type: ignore[arg-type]


def fake_results(exp: Experiment, labels: np.ndarray, seed: int = 0) -> Results:
    """Random but well-formed results (probabilities sum to 1, some errors)."""
    rng = np.random.default_rng(seed)
    weights = tuple(rng.normal(size=s).astype(np.float32) for s in exp.layer_shapes)
    biases = tuple(rng.normal(size=s[0]).astype(np.float32) for s in exp.layer_shapes)
    n = labels.shape[0]
    logits = rng.normal(size=(n, 10)) + 3 * np.eye(10)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    preds = probs.argmax(1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, preds), 1)
    hidden = rng.random((n, exp.hidden[0])).astype(np.float32) if exp.hidden else None
    snapshots = None
    if exp.snapshots:
        # From small noise towards the final weights, as training goes.
        t = np.linspace(0, 1, exp.snapshots)[:, None, None]
        snapshots = Snapshots(
            steps=np.rint(np.geomspace(1, 800, exp.snapshots)).astype(np.int64) - 1,
            test_accuracy=0.1 + 0.8 * t[:, 0, 0],
            weights=tuple((t * w + (1 - t) * 0.1 * rng.normal(size=w.shape)).astype(np.float32)
                          for w in weights))
    epochs = np.linspace(0, 1, exp.epochs)  # one value an epoch, as training records
    return Results(exp, weights, biases,
                   {"loss": 2.0 - epochs, "train_accuracy": 0.5 + 0.1 * epochs,
                    "test_accuracy": 0.5 + 0.1 * epochs},
                   labels, probs.astype(np.float32), hidden, confusion, snapshots,
                   float((preds == labels).mean()), 1.0, n, n, "f" * 64, "cpu", {},
                   train_accuracy=float(rng.uniform(0.5, 1.0)))


def fake_inputs() -> ProductInputs:
    """Synthetic results of every experiment, with test and training images of both
    data sets."""
    from looking_inside.config import EXPERIMENTS

    mnist, cifar = fake_bundle("mnist", 300, seed=1), fake_bundle("cifar10", 300, seed=2)
    test = {"mnist": mnist.test, "cifar10": cifar.test}
    results = {e.name: fake_results(e, test[e.dataset].labels, seed=i)
               for i, e in enumerate(EXPERIMENTS)}
    return ProductInputs(results=results, test=test,
                         train={"mnist": mnist.train, "cifar10": cifar.train})


def readable(inputs: ProductInputs) -> ProductInputs:
    """The same networks, with MNIST test labels that the single-layer network reads
    right (its own answers): random weights read random images right only by chance,
    and the shift test's flipped digit needs digits that two networks read right."""
    import dataclasses

    from looking_inside.products import shifts

    test = inputs.test["mnist"]
    scores = shifts.shifted_scores(inputs.results["mnist-1layer"], test.images, [(0, 0)])[0]
    labels = scores.argmax(1)
    return dataclasses.replace(inputs, test={**inputs.test, "mnist": Split(test.images, labels)})


# --- real data files, read and written without the package's readers ------------------
# An independent reading (the IDX header, the pickle itself) for tests that must hold on
# any real data root, and the tiling that turns the real subsets into full-size files
# (tests/ci_full.py).

MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


def idx_count(path: Path) -> int:
    """The item count an IDX file's header declares (big-endian, after the magic)."""
    with open(path, "rb") as f:
        return struct.unpack(">I", f.read(8)[4:8])[0]


def read_idx(path: Path) -> np.ndarray:
    """A whole IDX file of unsigned bytes, shaped as its header says."""
    raw = path.read_bytes()
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_cifar_pickle(path: Path) -> dict:
    """A CIFAR batch with the plain unpickler: only for files we trust (the real data,
    to compare with), never in the product."""
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def data_counts(root: Path) -> dict[str, tuple[int, int]]:
    """(train, test) image counts per data set, as the files themselves state them."""
    raw = root / "MNIST" / "raw"
    cifar = root / "cifar-10-batches-py"
    return {
        "mnist": (idx_count(raw / MNIST_FILES["train"][1]),
                  idx_count(raw / MNIST_FILES["test"][1])),
        "cifar10": (sum(len(read_cifar_pickle(cifar / b)["labels"]) for b in CIFAR_TRAIN),
                    len(read_cifar_pickle(cifar / "test_batch")["labels"])),
    }


def read_root(root: Path) -> dict[str, dict[str, Split]]:
    """Both data sets' splits as stored under a data root in torchvision's layout."""
    raw = root / "MNIST" / "raw"
    mnist = {split: Split(read_idx(raw / images), read_idx(raw / labels).astype(np.int64))
             for split, (images, labels) in MNIST_FILES.items()}
    cifar = {}
    for split, names in (("train", CIFAR_TRAIN), ("test", ("test_batch",))):
        batches = [read_cifar_pickle(root / "cifar-10-batches-py" / n) for n in names]
        images = np.concatenate([np.asarray(b["data"], np.uint8) for b in batches])
        cifar[split] = Split(images.reshape(-1, 3, 32, 32),
                             np.concatenate([np.asarray(b["labels"], np.int64) for b in batches]))
    return {"mnist": mnist, "cifar10": cifar}


def tile(split: Split, n: int) -> Split:
    """``n`` images repeating the real ones in order: real pixels at full size."""
    idx = np.arange(n) % len(split.labels)
    return Split(np.ascontiguousarray(split.images[idx]), split.labels[idx])


def write_root(root: Path, data: dict[str, dict[str, Split]]) -> None:
    """Write both data sets in torchvision's layout, as the original files are: MNIST as
    IDX, CIFAR-10 as five training batches and a test batch (pickle protocol 2)."""
    raw = root / "MNIST" / "raw"
    for split, (images, labels) in MNIST_FILES.items():
        write_idx_images(raw / images, data["mnist"][split].images)
        write_idx_labels(raw / labels, data["mnist"][split].labels)
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True, exist_ok=True)
    train, test = data["cifar10"]["train"], data["cifar10"]["test"]
    parts = np.array_split(np.arange(len(train.labels)), len(CIFAR_TRAIN))
    batches = [(name, train.images[p], train.labels[p])
               for name, p in zip(CIFAR_TRAIN, parts, strict=True)]
    batches.append(("test_batch", test.images, test.labels))
    for name, images, labels in batches:
        batch = {"batch_label": name, "data": images.reshape(len(images), 3072),
                 "labels": [int(v) for v in labels]}
        (d / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"label_names": list(CIFAR10.classes_en), "num_cases_per_batch": len(parts[0]),
            "num_vis": 3072}
    (d / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, read from /proc."""
    parents = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, frontier = [], [pid]
    while frontier:
        frontier = [p for p, pp in parents.items() if pp in frontier]
        out.extend(frontier)
    return out


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_and_check_no_orphans(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``; every process below it must end within 20 s."""
    children = descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(p) for p in children):
        time.sleep(0.1)
    assert not [p for p in children if alive(p)], "orphans left running"


def mcnemar_exact(b: int, c: int) -> Fraction:
    """Two-sided exact McNemar p straight from the definition, as a fraction: twice the
    binomial(b + c, 1/2) probability of a split at least as uneven, capped at 1. The
    tests' own reference for ``analysis.mcnemar_p``: every verdict re-derived exactly."""
    n = b + c
    if n == 0:
        return Fraction(1)
    tail = sum(Fraction(math.comb(n, i), 2**n) for i in range(min(b, c) + 1))
    return min(Fraction(1), 2 * tail)
