"""Training: shapes, a falling loss, determinism, results that match a reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

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
