"""Everything the project knows about each data set, in one place: the rest of the
code asks a :class:`DatasetSpec` (``spec("mnist")``) instead of branching on the name.
Display text (Chinese class names) belongs to the products stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Dataset = Literal["mnist", "cifar10"]


@dataclass(frozen=True)
class DatasetSpec:
    name: Dataset
    folder: str  # inside the data root, as torchvision lays it out
    train_files: tuple[str, ...]  # for MNIST: (images, labels); for CIFAR: the batches
    test_files: tuple[str, ...]
    meta_files: tuple[str, ...]  # read but not split (CIFAR's batches.meta)
    image_shape: tuple[int, ...]  # one image as stored: (28, 28) or (3, 32, 32)
    classes_en: tuple[str, ...]  # as the data set's own files name them
    full_train: int  # the full set's size, to tell a subset from the real thing
    # Network input = pixel / 255 - centre. MNIST stays in [0, 1] so z = b + sum(w x)
    # reads as "ink times weight" (the browser pages feed the same scale). CIFAR-10 is
    # centred to [-0.5, 0.5]: with all-positive colour inputs every weight would fight
    # a common offset, and the templates come out washed out.
    centre: float
    layout: str  # the expected layout, for error messages

    @property
    def n_inputs(self) -> int:
        return math.prod(self.image_shape)

    def source_files(self, root: Path) -> list[Path]:
        """The files the data set is read from, in a fixed order."""
        d = root / self.folder
        return [d / f for f in (*self.train_files, *self.test_files, *self.meta_files)]


MNIST = DatasetSpec(
    name="mnist", folder="MNIST/raw",
    train_files=("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    test_files=("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    meta_files=(), image_shape=(28, 28),
    classes_en=tuple(str(d) for d in range(10)),
    full_train=60000, centre=0.0,
    layout="MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
)

CIFAR10 = DatasetSpec(
    name="cifar10", folder="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",), meta_files=("batches.meta",), image_shape=(3, 32, 32),
    classes_en=("airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"),
    full_train=50000, centre=0.5,
    layout="cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}",
)

SPECS: dict[str, DatasetSpec] = {s.name: s for s in (MNIST, CIFAR10)}
NAMES: tuple[Dataset, ...] = ("mnist", "cifar10")


def spec(name: str) -> DatasetSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(SPECS)}") from None
