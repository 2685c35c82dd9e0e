"""Benchmark, training side: one epoch at full size, against a tutorial loop and
against what this machine's memory bandwidth and float32 GEMM rate allow.

Every number here is measured in the same process, minutes apart, so the ratios
survive a noisy machine better than the absolute seconds do.
"""

from __future__ import annotations

import math
import pickle
import struct
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from looking_inside.config import Experiment, Settings
from looking_inside.data.datasets import CIFAR10, MNIST, Dataset
from looking_inside.data.load import DataBundle, load
from looking_inside.data.readers import Split
from looking_inside.machine import available_cpus
from looking_inside.training.models import build_model, preprocess
from looking_inside.training.trainer import (
    deterministic,
    evaluate,
    make_optimizer,
    train,
    train_epoch,
)

TUTORIAL_BATCH = 64  # what the PyTorch tutorials use


def _best(fn: Callable[[], object], reps: int) -> float:
    """Fastest of ``reps`` runs: on a shared machine, the least disturbed one."""
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


# --- the machine's limits ---------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    bandwidth: float  # bytes/s, read + written, of one large tensor copy
    gemm_flops: float  # float32 FLOP/s of one large square matmul
    copy_bytes: int  # size of the copied tensor
    gemm_n: int
    threads: int  # torch intra-op threads, the same the trainer uses (one)


def measure_limits(copy_mb: int, gemm_n: int, reps: int) -> Limits:
    """One core's limits: the trainer runs one thread per process (``training.workers``
    trains one experiment per CPU), so that is what each experiment's floor is."""
    torch.set_num_threads(1)
    src = torch.ones(copy_mb * 2**20 // 4)  # float32
    dst = torch.empty_like(src)
    dst.copy_(src)  # the first copy pays for page faults, not for bandwidth
    copy_s = _best(lambda: dst.copy_(src), reps)
    a, b = torch.randn(gemm_n, gemm_n), torch.randn(gemm_n, gemm_n)
    c = torch.empty(gemm_n, gemm_n)
    torch.mm(a, b, out=c)  # warm-up: the BLAS picks its kernels on the first call
    gemm_s = _best(lambda: torch.mm(a, b, out=c), reps)
    nbytes = src.numel() * 4
    return Limits(bandwidth=2 * nbytes / copy_s, gemm_flops=2 * gemm_n**3 / gemm_s,
                  copy_bytes=nbytes, gemm_n=gemm_n, threads=torch.get_num_threads())


def epoch_work(exp: Experiment, n: int) -> tuple[int, int]:
    """Bytes one epoch must read from memory and FLOPs it must do, at the least.

    Bytes: the float32 pixels (as the trainer holds them) and int64 labels, read once;
    the weights and Adam's state fit in cache and are not counted. FLOPs: per linear
    layer a forward and a weight-gradient GEMM, plus an input-gradient GEMM for every
    layer but the first (pixels need no gradient).
    """
    if exp.conv:
        # Convolutions: forward plus two backward products per layer, ~3x forward.
        return n * exp.n_inputs * 4 + n * 8, 3 * exp.forward_flops * n
    widths = [exp.n_inputs, *exp.hidden, 10]
    flops = 0
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:], strict=False)):
        gemms = 2 if i == 0 else 3
        flops += gemms * 2 * n * fan_in * fan_out
    return n * exp.n_inputs * 4 + n * 8, flops


# --- full-size data ---------------------------------------------------------------

def tile(split: Split, n: int) -> Split:
    """``n`` images repeating the real ones: real pixel statistics at full size."""
    idx = np.arange(n) % len(split)
    return Split(np.ascontiguousarray(split.images[idx]), split.labels[idx])


def write_root(root: Path, mnist: DataBundle, cifar: DataBundle) -> None:
    """Write both bundles in torchvision's on-disk layout, as the real files are."""
    raw = root / MNIST.folder
    raw.mkdir(parents=True, exist_ok=True)
    for (img_name, lbl_name), split in ((MNIST.train_files, mnist.train),
                                        (MNIST.test_files, mnist.test)):
        n = len(split)
        (raw / img_name).write_bytes(struct.pack(">IIII", 2051, n, 28, 28)
                                     + split.images.astype(np.uint8).tobytes())
        (raw / lbl_name).write_bytes(struct.pack(">II", 2049, n)
                                     + split.labels.astype(np.uint8).tobytes())
    d = root / CIFAR10.folder
    d.mkdir(parents=True, exist_ok=True)
    parts = np.array_split(np.arange(len(cifar.train)), len(CIFAR10.train_files))
    batches = [(name, cifar.train.images[p], cifar.train.labels[p])
               for name, p in zip(CIFAR10.train_files, parts, strict=True)]
    batches.append((CIFAR10.test_files[0], cifar.test.images, cifar.test.labels))
    for name, images, labels in batches:
        batch = {"batch_label": name, "data": images.reshape(len(images), 3072),
                 "labels": [int(v) for v in labels]}
        (d / name).write_bytes(pickle.dumps(batch, protocol=2))  # as the originals
    meta = {"label_names": list(CIFAR10.classes_en), "num_cases_per_batch": len(parts[0]),
            "num_vis": 3072}
    (d / CIFAR10.meta_files[0]).write_bytes(pickle.dumps(meta, protocol=2))


@dataclass(frozen=True)
class FullData:
    root: Path  # a data root holding the tiled files
    subset_load_s: dict[Dataset, float]  # data.load on the real subset, empty hash memo
    full_load_s: dict[Dataset, float]  # data.load on the tiled files, empty hash memo


def make_full_data(settings: Settings, scratch: Path, n_train: dict[Dataset, int],
                   n_test: int) -> tuple[FullData, dict[Dataset, DataBundle]]:
    """Load the real subsets, tile them to full size on disk, and load that back.

    Both loads start with an empty hash memo, as in a cold build. The bundles are
    returned apart so the caller can drop them (over 1 GB) before building the site.
    """
    def timed_load(s: Settings, ds: Dataset) -> tuple[DataBundle, float]:
        t = time.perf_counter()
        b = load(s, ds)
        return b, time.perf_counter() - t

    datasets: tuple[Dataset, ...] = ("mnist", "cifar10")
    src = replace(settings, cache_dir=scratch / "cache-subset", download=False)
    subset: dict[Dataset, DataBundle] = {}
    subset_s: dict[Dataset, float] = {}
    for ds in datasets:
        subset[ds], subset_s[ds] = timed_load(src, ds)
    tiled = {ds: DataBundle(ds, tile(subset[ds].train, n_train[ds]),
                            tile(subset[ds].test, n_test), subset[ds].fingerprint)
             for ds in datasets}
    root = scratch / "data-full"
    write_root(root, tiled["mnist"], tiled["cifar10"])
    full = replace(src, data_root=root, cache_dir=scratch / "cache-full")
    bundles: dict[Dataset, DataBundle] = {}
    full_s: dict[Dataset, float] = {}
    for ds in datasets:
        bundles[ds], full_s[ds] = timed_load(full, ds)
    return FullData(root, subset_s, full_s), bundles


# --- the tutorial's loop ----------------------------------------------------------

class TutorialDataset(torch.utils.data.Dataset):
    """Per sample what ``torchvision.datasets.MNIST``/``CIFAR10`` do: array -> PIL image
    -> ``ToTensor()``. Kept as torchvision keeps them: (N, 28, 28) and (N, 32, 32, 3)."""

    def __init__(self, split: Split) -> None:
        from torchvision.transforms import ToTensor

        imgs = split.images
        self.images = imgs.transpose(0, 2, 3, 1) if imgs.ndim == 4 else imgs
        self.labels = split.labels
        self.to_tensor = ToTensor()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        return self.to_tensor(Image.fromarray(self.images[i])), int(self.labels[i])


def _tutorial_optimizer(exp: Experiment, model: nn.Module) -> torch.optim.Optimizer:
    """``torch.optim``, as a tutorial writes it (with the trainer's settings, fused as
    the trainer's kernel is: the baseline's update costs what ours does)."""
    if exp.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=exp.lr, momentum=0.9,
                               weight_decay=exp.weight_decay, fused=True)
    return torch.optim.Adam(model.parameters(), lr=exp.lr, weight_decay=exp.weight_decay,
                            fused=True)


def time_tutorial(exp: Experiment, split: Split, budget_s: float, warmup: int = 3
                  ) -> tuple[float, int]:
    """Seconds for one epoch of the textbook loop, from the batches that fit in
    ``budget_s`` after ``warmup`` untimed ones (all of them, if the epoch is shorter),
    scaled to the epoch's batch count; and how many batches were timed."""
    torch.manual_seed(exp.seed)
    loader = torch.utils.data.DataLoader(TutorialDataset(split), batch_size=TUTORIAL_BATCH,
                                         shuffle=True, num_workers=0)
    model = build_model(exp)
    opt = _tutorial_optimizer(exp, model)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    batches = iter(loader)
    running_loss = 0.0

    def step() -> None:
        nonlocal running_loss
        images, labels = next(batches)
        opt.zero_grad()
        loss = loss_fn(model(images.view(images.size(0), -1)), labels)
        loss.backward()
        opt.step()
        running_loss += loss.item()  # every tutorial prints a running loss

    total = len(loader)
    warm = min(warmup, total - 1)
    for _ in range(warm):
        step()
    done = 0
    start = time.perf_counter()
    while done < total - warm:
        step()
        done += 1
        if done >= 5 and time.perf_counter() - start >= budget_s:
            break
    per_batch = (time.perf_counter() - start) / done
    return per_batch * total, done


# --- our trainer --------------------------------------------------------------------

@dataclass(frozen=True)
class EpochTiming:
    """One epoch of one experiment at full size, ours against the tutorial and the floor."""

    experiment: str
    images: int
    epochs: int  # what the build trains
    batch_size: int
    ours_s: float  # one training epoch with our trainer, best of several
    ours_bs64_s: float  # the same loop at the tutorial's batch size
    tutorial_s: float  # one epoch of the tutorial loop, extrapolated from...
    tutorial_batches: int  # ...this many timed batches
    eval_s: float  # the test-set evaluation the build runs after every epoch
    train1_s: float  # train() for one epoch: preprocessing, epoch, evaluations, results
    bytes: int
    flops: int
    floor_s: float  # max(bytes / bandwidth, flops / GEMM rate)
    bound: str  # which of the two sets the floor

    @property
    def speedup(self) -> float:
        return self.tutorial_s / self.ours_s

    @property
    def vs_floor(self) -> float:
        return self.ours_s / self.floor_s

    @property
    def build_s(self) -> float:
        """What training this experiment costs a build at this size."""
        return self.train1_s + (self.epochs - 1) * (self.ours_s + self.eval_s)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "speedup": self.speedup, "vs_floor": self.vs_floor,
                "build_s": self.build_s}


def _time_epochs(exp: Experiment, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                 reps: int) -> float:
    torch.manual_seed(exp.seed)
    model = build_model(exp)
    opt = make_optimizer(exp, model)
    gen = torch.Generator().manual_seed(exp.seed)
    return _best(lambda: train_epoch(model, opt, x, y, batch_size, gen), reps)


def time_experiment(exp: Experiment, bundle: DataBundle, limits: Limits, reps: int,
                    tutorial_budget_s: float) -> EpochTiming:
    deterministic()  # as train() runs
    torch.set_num_threads(1)  # as train() runs
    x, y = preprocess(bundle.train.images, exp.dataset), torch.from_numpy(bundle.train.labels)
    x_test = preprocess(bundle.test.images, exp.dataset)
    y_test = torch.from_numpy(bundle.test.labels)
    ours = _time_epochs(exp, x, y, exp.batch_size, reps)
    ours64 = _time_epochs(exp, x, y, TUTORIAL_BATCH, max(1, reps - 1))
    model = build_model(exp).eval()
    # The test pass train() runs after every epoch (private there): part of the estimate.
    eval_s = _best(lambda: evaluate(model, x_test, y_test), reps)
    # The tutorial's loop with torch's default threads, as a tutorial runs it.
    torch.set_num_threads(available_cpus())
    tutorial, batches = time_tutorial(exp, bundle.train, tutorial_budget_s)
    torch.set_num_threads(1)
    t = time.perf_counter()
    train(replace(exp, epochs=1), bundle)
    train1 = time.perf_counter() - t
    nbytes, flops = epoch_work(exp, len(bundle.train))
    mem_s, gemm_s = nbytes / limits.bandwidth, flops / limits.gemm_flops
    return EpochTiming(
        experiment=exp.name, images=len(bundle.train), epochs=exp.epochs,
        batch_size=exp.batch_size, ours_s=ours, ours_bs64_s=ours64, tutorial_s=tutorial,
        tutorial_batches=batches, eval_s=eval_s, train1_s=train1, bytes=nbytes, flops=flops,
        floor_s=max(mem_s, gemm_s), bound="memory" if mem_s > gemm_s else "compute",
    )
