"""Small builders of synthetic inputs shared by the tests."""

from __future__ import annotations

import pickle
import struct
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
    return Results(exp, weights, biases,
                   {"loss": np.array([2.0, 1.0]), "train_accuracy": np.array([0.5, 0.6]),
                    "test_accuracy": np.array([0.5, 0.6])},
                   labels, probs.astype(np.float32), hidden, confusion, snapshots,
                   float((preds == labels).mean()), 1.0, n, n, "f" * 64, "cpu", {},
                   train_accuracy=float(rng.uniform(0.5, 1.0)))


def fake_inputs() -> ProductInputs:
    """Synthetic results of every experiment, with test images of both data sets."""
    from looking_inside.config import EXPERIMENTS

    mnist, cifar = fake_bundle("mnist", 300, seed=1), fake_bundle("cifar10", 300, seed=2)
    test = {"mnist": mnist.test, "cifar10": cifar.test}
    results = {e.name: fake_results(e, test[e.dataset].labels, seed=i)
               for i, e in enumerate(EXPERIMENTS)}
    return ProductInputs(results=results, test=test)
