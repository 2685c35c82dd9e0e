"""Train one experiment; returns data, never plots or writes."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from looking_inside.cache import versions
from looking_inside.config import Device, Experiment
from looking_inside.data.load import DataBundle
from looking_inside.errors import BuildError
from looking_inside.training.models import build_model, preprocess, weighted_layers
from looking_inside.training.results import Results, Snapshots

log = logging.getLogger("mkdocs.plugins.looking_inside.training")



def resolve_device(requested: Device) -> torch.device:
    """``auto`` uses CUDA when present; ``cuda`` insists on it."""
    has_cuda = torch.cuda.is_available()
    if requested == "cuda" and not has_cuda:
        raise BuildError("LOOKING_INSIDE_DEVICE=cuda, but CUDA is not available (torch "
                         f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}). "
                         "Fix: set LOOKING_INSIDE_DEVICE=auto to fall back to the CPU, or =cpu")
    if requested == "cpu" or not has_cuda:
        return torch.device("cpu")
    # cuBLAS is only deterministic with a fixed workspace; must be set before first use.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return torch.device("cuda")


@torch.no_grad()
def evaluate(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, split: int | None = None
             ) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """Softmax probabilities, the activations after ``model[:split]`` (None without a
    split), accuracy.

    Chunks of 512 keep a convnet's activations in cache, which larger chunks do not
    (the test set runs through the model at every epoch); the perceptrons' GEMMs are
    as fast either way."""
    probs, hidden = [], []
    head, tail = (model[:split], model[split:]) if split is not None else (None, model)
    for xb in x.split(512):
        if head is not None:
            xb = head(xb)  # (B, H) after the activation
            hidden.append(xb)
        probs.append(torch.softmax(tail(xb), dim=1))
    p = torch.cat(probs)
    acc = (p.argmax(1) == y).float().mean().item()
    return p, (torch.cat(hidden) if hidden else None), acc


def make_optimizer(exp: Experiment, model: nn.Module) -> torch.optim.Optimizer:
    # fused=True: the whole update in one kernel per step instead of several passes
    # over every parameter.
    if exp.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=exp.lr, momentum=0.9,
                               weight_decay=exp.weight_decay, fused=True)
    return torch.optim.Adam(model.parameters(), lr=exp.lr, weight_decay=exp.weight_decay,
                            fused=True)


def snapshot_steps(total: int, count: int) -> np.ndarray:
    """``count`` log-spaced step numbers from 0 (initialisation) to ``total``; fewer
    when ``total`` is too small for that many distinct steps."""
    if count < 2:
        return np.zeros(0, dtype=np.int64)
    steps = np.rint(np.geomspace(1, max(total, 1), count - 1)).astype(np.int64)
    return np.unique(np.concatenate([[0], steps, [total]]))


def train_epoch(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor, batch_size: int, gen: torch.Generator,
                on_step: Callable[[], None] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over ``(x, y)`` in a random order; summed loss and correct count."""
    device = x.device
    n = x.shape[0]
    model.train()
    perm = torch.randperm(n, generator=gen).to(device)
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    for i in range(0, n, batch_size):
        idx = perm[i:i + batch_size]
        # index_select, not x[idx]: the same rows without advanced indexing's
        # general path, several times slower for a batch's rows.
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)  # (B, D), (B,)
        logits = model(xb)
        loss = nn.functional.cross_entropy(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if on_step is not None:
            on_step()
        # Accumulate on-device: a .item() per step would sync a GPU every batch.
        total_loss += loss.detach() * yb.shape[0]
        correct += (logits.detach().argmax(1) == yb).sum()
    return total_loss, correct


def train(exp: Experiment, data: DataBundle, device: torch.device | None = None) -> Results:
    """Train ``exp`` on ``data``; deterministic for the same inputs on the same device."""
    if data.dataset != exp.dataset:
        raise BuildError(f"experiment {exp.name!r} needs {exp.dataset}, got {data.dataset}")
    device = device or torch.device("cpu")
    # One thread, always: bit-identical results on every machine (a GEMM's sums are
    # split by thread count), and no pool spinning against another process's. The
    # build trains several experiments at once instead (see ``machine``).
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(exp.seed)
    gen = torch.Generator().manual_seed(exp.seed)

    x_train = preprocess(data.train.images, data.dataset).to(device)  # (N, D)
    y_train = torch.from_numpy(data.train.labels).to(device)  # (N,)
    x_test = preprocess(data.test.images, data.dataset).to(device)
    y_test = torch.from_numpy(data.test.labels).to(device)

    model = build_model(exp).to(device)
    opt = make_optimizer(exp, model)
    n = x_train.shape[0]
    history: list[dict[str, float]] = []  # per epoch

    layers = weighted_layers(model)
    steps_per_epoch = -(-n // exp.batch_size)
    wanted = snapshot_steps(exp.epochs * steps_per_epoch, exp.snapshots)
    snaps: list[tuple[int, float, list[np.ndarray]]] = []
    step = 0

    def on_step(steps: int = 1) -> None:
        nonlocal step
        step += steps
        if len(snaps) < len(wanted) and step == wanted[len(snaps)]:
            # Reads weights and runs the test set under no_grad: no gradient, optimiser
            # state or random number is touched, so the run is the same without it.
            _, _, acc = evaluate(model, x_test, y_test)
            snaps.append((step, acc, [m.weight.detach().cpu().numpy().copy() for m in layers]))

    model.eval()
    on_step(0)  # the initialisation's snapshot
    start = time.perf_counter()
    for epoch in range(exp.epochs):
        total_loss, correct = train_epoch(model, opt, x_train, y_train, exp.batch_size, gen,
                                          on_step if len(wanted) else None)
        model.eval()
        _, _, test_acc = evaluate(model, x_test, y_test)
        metrics = {"loss": total_loss.item() / n, "train_accuracy": correct.item() / n,
                   "test_accuracy": test_acc}
        history.append(metrics)
        log.info("%s: epoch %d/%d  loss %.4f  train %.3f  test %.3f", exp.name, epoch + 1,
                 exp.epochs, metrics["loss"], metrics["train_accuracy"], test_acc)
    seconds = time.perf_counter() - start

    # A perceptron's first hidden layer (the activations the chapters show) is the
    # model's first two modules: the linear layer and its activation.
    split = 2 if exp.hidden and not exp.conv else None
    probs, hidden, test_acc = evaluate(model, x_test, y_test, split)
    # The final model on the training images (the per-epoch figure is a running
    # average while the weights still move): train minus test is the overfitting.
    _, _, train_acc = evaluate(model, x_train, y_train)
    labels = data.test.labels.astype(np.int64)
    preds = probs.argmax(1).cpu().numpy()
    confusion = np.bincount(labels * 10 + preds, minlength=100).reshape(10, 10)
    return Results(
        experiment=exp,
        weights=tuple(layer.weight.detach().cpu().numpy().copy() for layer in layers),
        # build_model gives every layer a bias; Conv2d's type just allows None.
        biases=tuple(layer.bias.detach().cpu().numpy().copy()  # type: ignore[union-attr]
                     for layer in layers),
        history={k: np.array([m[k] for m in history], dtype=np.float64) for k in history[0]},
        test_labels=labels,
        test_probs=probs.cpu().numpy().astype(np.float32),
        hidden=None if hidden is None else hidden.cpu().numpy().astype(np.float32),
        confusion=confusion,
        snapshots=None if not snaps else Snapshots(
            steps=np.array([s[0] for s in snaps], dtype=np.int64),
            test_accuracy=np.array([s[1] for s in snaps], dtype=np.float64),
            weights=tuple(np.stack([s[2][i] for s in snaps]) for i in range(len(layers)))),
        test_accuracy=test_acc, train_accuracy=train_acc, train_seconds=seconds,
        n_train=len(data.train), n_test=len(data.test), data_fingerprint=data.fingerprint,
        device=device.type,
        versions=versions("torch", "torchvision", "numpy", "matplotlib", "mkdocs",
                          "mkdocs-material"),
    )
