"""Training: shapes, a falling loss, determinism, results that match a reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from looking_inside.config import EXPERIMENTS, Experiment, get_experiment
from looking_inside.data.load import DataBundle
from looking_inside.data.readers import Split
from looking_inside.errors import BuildError
from looking_inside.training.models import build_model, preprocess
from looking_inside.training.trainer import resolve_device, train

from helpers import fake_bundle


@pytest.fixture(scope="module")
def mnist_small(data_root) -> DataBundle:
    from looking_inside.config import load_settings
    from looking_inside.data.load import load

    full = load(load_settings(data_root=data_root, cache_dir="/tmp/unused"), "mnist")
    return DataBundle("mnist", Split(full.train.images[:1000], full.train.labels[:1000]),
                      Split(full.test.images[:500], full.test.labels[:500]), full.fingerprint)


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=lambda e: e.name)
def test_model_shapes(exp: Experiment) -> None:
    model = build_model(exp)
    x = preprocess(fake_bundle(exp.dataset, n=4).train.images, exp.dataset)
    assert x.shape == (4, exp.n_inputs)
    assert model(x).shape == (4, 10)


def test_loss_falls_and_accuracy_beats_chance(mnist_small: DataBundle) -> None:
    exp = dataclasses.replace(get_experiment("mnist-1layer"), epochs=5)
    res = train(exp, mnist_small)
    loss = res.history["loss"]
    assert loss[-1] < loss[0] * 0.7
    assert res.test_accuracy > 0.6
    assert res.history["test_accuracy"].shape == (5,)


def test_same_inputs_same_weights_bit_for_bit(mnist_small: DataBundle) -> None:
    exp = dataclasses.replace(get_experiment("mnist-2layer"), epochs=2)
    a, b = train(exp, mnist_small), train(exp, mnist_small)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases, strict=True):
        assert np.array_equal(wa, wb)
    assert np.array_equal(a.test_probs, b.test_probs)
    c = train(dataclasses.replace(exp, seed=1), mnist_small)
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_results_agree_with_a_numpy_reference(mnist_small: DataBundle) -> None:
    """Probabilities, confusion and accuracy recomputed from the returned weights."""
    exp = dataclasses.replace(get_experiment("mnist-2layer"), epochs=1)
    res = train(exp, mnist_small)
    x = mnist_small.test.images.reshape(-1, 784).astype(np.float64) / 255
    h = 1 / (1 + np.exp(-(x @ res.weights[0].T + res.biases[0])))
    logits = h @ res.weights[1].T + res.biases[1]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(res.test_probs, p, atol=1e-5)
    np.testing.assert_allclose(res.hidden, h, atol=1e-5)
    labels = mnist_small.test.labels
    expected = np.zeros((10, 10), dtype=np.int64)
    for t, q in zip(labels, p.argmax(1), strict=True):
        expected[t, q] += 1
    assert np.array_equal(res.confusion, expected)
    assert res.test_accuracy == pytest.approx(np.trace(expected) / len(labels))
    assert res.n_train == 1000 and res.n_test == 500


def test_dataset_mismatch_is_refused(mnist_small: DataBundle) -> None:
    with pytest.raises(BuildError, match="needs cifar10"):
        train(get_experiment("cifar-1layer"), mnist_small)


def test_cuda_requested_but_absent_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        assert resolve_device("cuda").type == "cuda"
        return
    with pytest.raises(BuildError, match=r"LOOKING_INSIDE_DEVICE=cuda, but CUDA is not "
                                          r"available.*LOOKING_INSIDE_DEVICE=auto"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_snapshot_steps_are_log_spaced_from_start_to_end() -> None:
    from looking_inside.training.trainer import snapshot_steps

    steps = snapshot_steps(800, 12)
    assert steps[0] == 0 and steps[-1] == 800 and len(steps) == 12
    assert np.all(np.diff(steps) > 0)
    ratios = steps[2:] / steps[1:-1]
    assert ratios.max() / ratios.min() < 1.5  # about evenly spaced on a log axis
    assert list(snapshot_steps(3, 12)) == [0, 1, 2, 3]
    assert len(snapshot_steps(100, 0)) == 0


@pytest.mark.parametrize("name", ["mnist-1layer", "mnist-2layer"])
def test_snapshots_do_not_change_training(mnist_small: DataBundle, name: str) -> None:
    """Recording is a read: the final weights are bit-identical without it."""
    exp = dataclasses.replace(get_experiment(name), epochs=2, snapshots=12)
    with_snaps = train(exp, mnist_small)
    without = train(dataclasses.replace(exp, snapshots=0), mnist_small)
    assert without.snapshots is None
    for a, b in zip(with_snaps.weights + with_snaps.biases, without.weights + without.biases,
                    strict=True):
        assert np.array_equal(a, b)
    snaps = with_snaps.snapshots
    assert snaps is not None
    steps_total = 2 * -(-1000 // exp.batch_size)
    assert snaps.steps[0] == 0 and snaps.steps[-1] == steps_total
    # The last snapshot is the trained network, and its accuracy is the result's.
    for w_snap, w in zip(snaps.weights, with_snaps.weights, strict=True):
        assert w_snap.shape == (len(snaps.steps), *w.shape)
        assert np.array_equal(w_snap[-1], w)
    assert snaps.test_accuracy[-1] == pytest.approx(with_snaps.test_accuracy)
    # The first is the initialisation: a fresh model from the same seed.
    torch.manual_seed(exp.seed)
    fresh = build_model(exp)
    assert np.array_equal(snaps.weights[0][0], fresh[0].weight.detach().numpy())
    assert snaps.test_accuracy[0] < 0.3 < snaps.test_accuracy[-1]


def test_snapshots_round_trip_and_are_validated(tmp_path) -> None:
    import io

    from looking_inside.training.results import ARRAYS, Results

    from helpers import fake_results

    exp = get_experiment("mnist-2layer")
    res = fake_results(exp, np.arange(50) % 10)
    for name, data in res.to_files().items():
        (tmp_path / name).write_bytes(data)
    back = Results.from_folder(tmp_path, exp)
    assert back.snapshots is not None and res.snapshots is not None
    assert np.array_equal(back.snapshots.steps, res.snapshots.steps)
    for a, b in zip(back.snapshots.weights, res.snapshots.weights, strict=True):
        assert np.array_equal(a, b)
    with np.load(tmp_path / ARRAYS) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["snapshot_weight1"] = arrays["snapshot_weight1"][:, :, :5]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (tmp_path / ARRAYS).write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="snapshot weights of layer 1"):
        Results.from_folder(tmp_path, exp)
    del arrays["snapshot_steps"]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (tmp_path / ARRAYS).write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="KeyError"):
        Results.from_folder(tmp_path, exp)


def test_training_turns_on_deterministic_algorithms() -> None:
    torch.use_deterministic_algorithms(False)
    train(get_experiment("mnist-2layer"), fake_bundle("mnist", 64, seed=0))
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()


D = 48  # inputs of the reference tests: small, so that the float64 reference is instant
BATCH = 16


def _perceptron(hidden: tuple[int, ...], activation: str) -> nn.Sequential:
    exp = dataclasses.replace(get_experiment("mnist-2layer"), hidden=hidden,
                              activation=activation)  # type: ignore[arg-type]
    torch.manual_seed(3)
    model = build_model(exp)
    # build_model sizes the input for MNIST; a narrower first layer keeps this quick.
    return nn.Sequential(nn.Linear(D, model[0].out_features), *list(model)[1:]).double()


class NumpyReference:
    """One training step of a perceptron, written from the maths in float64 numpy:
    softmax cross-entropy averaged over the batch, backpropagation, L2 weight decay
    added to the gradient, then Adam (bias-corrected) or SGD with momentum 0.9 (no
    dampening), as torch defines them."""

    def __init__(self, model: nn.Sequential, exp: Experiment) -> None:
        self.params = [p.detach().numpy().copy() for p in model.parameters()]
        self.sigmoid = exp.activation == "sigmoid"
        self.exp, self.t = exp, 0
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]

    def step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        ws, bs = self.params[::2], self.params[1::2]
        hs = [x]
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            z = hs[-1] @ w.T + b
            if i < len(ws) - 1:
                z = 1 / (1 + np.exp(-z)) if self.sigmoid else np.maximum(z, 0)
            hs.append(z)
        logits = hs.pop()
        e = np.exp(logits - logits.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        rows = np.arange(len(y))
        loss = float(-np.log(p[rows, y]).mean())
        d = p.copy()
        d[rows, y] -= 1
        d /= len(y)
        grads: list[np.ndarray] = []
        for i in range(len(ws) - 1, -1, -1):
            grads[:0] = [d.T @ hs[i], d.sum(0)]
            if i:
                d = d @ ws[i]
                d = d * hs[i] * (1 - hs[i]) if self.sigmoid else d * (hs[i] > 0)
        self.t += 1
        lr, wd = self.exp.lr, self.exp.weight_decay
        for k, g in enumerate(grads):
            g = g + wd * self.params[k]
            if self.exp.optimizer == "sgd":
                self.m[k] = g if self.t == 1 else 0.9 * self.m[k] + g
                self.params[k] = self.params[k] - lr * self.m[k]
            else:
                self.m[k] = 0.9 * self.m[k] + 0.1 * g
                self.v[k] = 0.999 * self.v[k] + 0.001 * g * g
                m_hat = self.m[k] / (1 - 0.9 ** self.t)
                v_hat = self.v[k] / (1 - 0.999 ** self.t)
                self.params[k] = self.params[k] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        return loss * len(y), int((logits.argmax(1) == y).sum())


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("hidden,activation", [((), "sigmoid"), ((10,), "sigmoid"),
                                               ((20, 10), "relu")])
def test_an_epoch_matches_a_numpy_reference(optimizer: str, hidden: tuple[int, ...],
                                            activation: str) -> None:
    """The trainer's epoch (autograd, torch's fused optimiser) against the maths, in
    float64 so that a difference is the step's and not rounding's: the parameters
    after every step, the summed loss and the correct count. Four full batches and
    a ragged last one."""
    from looking_inside.training.trainer import make_optimizer, train_epoch

    exp = dataclasses.replace(get_experiment("mnist-2layer"), optimizer=optimizer,
                              hidden=hidden, activation=activation,  # type: ignore[arg-type]
                              lr=1e-2, weight_decay=1e-3)
    model = _perceptron(hidden, activation)
    reference = NumpyReference(model, exp)
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(70, D, generator=gen, dtype=torch.float64) - 0.5
    y = torch.randint(0, 10, (70,), generator=gen)
    # The epoch's shuffle is the trainer's to make; the reference takes the same one.
    order = torch.randperm(70, generator=torch.Generator().manual_seed(5)).numpy()
    xs, ys = x.numpy(), y.numpy()
    ref_loss, ref_correct, steps = 0.0, 0, 0

    def check() -> None:
        nonlocal ref_loss, ref_correct, steps
        idx = order[steps * BATCH:(steps + 1) * BATCH]
        loss, correct = reference.step(xs[idx], ys[idx])
        ref_loss, ref_correct, steps = ref_loss + loss, ref_correct + correct, steps + 1
        for p, ref in zip(model.parameters(), reference.params, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-9, atol=1e-12)

    loss, correct = train_epoch(model, make_optimizer(exp, model), x, y, BATCH,
                                torch.Generator().manual_seed(5), check)
    assert steps == 5
    # The trainer sums the epoch's loss in float32, whatever the model's dtype.
    assert loss.item() == pytest.approx(ref_loss, rel=1e-6)
    assert correct.item() == ref_correct


def test_workers_claim_each_experiment_exactly_once(tmp_path) -> None:
    """Workers racing down the same list (real processes) train each network once."""
    import subprocess
    import sys

    names = [e.name for e in EXPERIMENTS]
    script = ("import sys; from pathlib import Path; "
              "from looking_inside.config import EXPERIMENTS; "
              "from looking_inside.machine import claim; "
              f"print(' '.join(e.name for e in EXPERIMENTS if claim(Path({str(tmp_path)!r}), e)))")
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    taken = [p.communicate()[0].split() for p in procs]
    assert sorted(n for t in taken for n in t) == sorted(names)


def test_workers_start_with_the_convolutional_networks() -> None:
    from looking_inside.machine import order

    ranked = order(list(EXPERIMENTS))
    n_conv = sum(bool(e.conv) for e in EXPERIMENTS)
    assert all(e.conv for e in ranked[:n_conv])
    mlp = [e.epochs * e.forward_flops for e in ranked[n_conv:]]
    assert mlp == sorted(mlp, reverse=True)
