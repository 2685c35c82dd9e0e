"""The hand-written perceptron pass against autograd, the independent reference."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from looking_inside.config import EXPERIMENTS, get_experiment
from looking_inside.training.manual import ManualPerceptron, is_perceptron
from looking_inside.training.models import build_model
from looking_inside.training.trainer import autograd_epoch, make_optimizer, train_epoch

D = 48  # inputs: small, so that the float64 reference is instant
BATCH = 16


def _model(hidden: tuple[int, ...], activation: str, seed: int = 0) -> nn.Sequential:
    exp = dataclasses.replace(get_experiment("mnist-2layer"), hidden=hidden,
                              activation=activation)  # type: ignore[arg-type]
    torch.manual_seed(seed)
    model = build_model(exp)
    # build_model sizes the input for MNIST; a narrower first layer keeps this quick.
    first = nn.Linear(D, model[0].out_features)
    return nn.Sequential(first, *list(model)[1:])


def _autograd(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor
              ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]  # type: ignore[union-attr]


@pytest.mark.parametrize("hidden", [(), (10,), (7, 5, 3)], ids=lambda h: f"hidden{len(h)}")
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_gradients_equal_autograds(hidden: tuple[int, ...], activation: str) -> None:
    """float64 copies, so that a difference is the pass's and not rounding's; a full
    batch, then the ragged last one (13 rows of the 16-row buffers), then full again."""
    model = _model(hidden, activation).double()
    reference = _model(hidden, activation).double()
    reference.load_state_dict(model.state_dict())
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(40, D, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 10, (40,), generator=gen)
    manual = ManualPerceptron(model, BATCH, D)
    for rows in (slice(0, 16), slice(16, 29), slice(24, 40)):
        idx = torch.arange(40)[rows].flip(0)  # not in order: the gather is tested too
        loss, logits = manual.step(x, idx, y[idx])
        ref_loss, ref_grads = _autograd(reference, x[idx], y[idx])
        assert logits.shape == (len(idx), 10)
        torch.testing.assert_close(logits, reference(x[idx]), rtol=0, atol=1e-12)
        assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12)
        grads = [p.grad for p in model.parameters()]
        for g, ref in zip(grads, ref_grads, strict=True):
            assert g is not None and g.shape == ref.shape
            torch.testing.assert_close(g, ref, rtol=0, atol=1e-6)
        # Rounding aside, exactly autograd's: far inside the 1e-6 asked for.
        assert max((g - r).abs().max().item()  # type: ignore[operator]
                   for g, r in zip(grads, ref_grads, strict=True)) < 1e-12


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("hidden,activation", [((), "sigmoid"), ((10,), "sigmoid"),
                                               ((20, 10), "relu")])
def test_an_epoch_matches_the_autograd_loop(optimizer: str, hidden: tuple[int, ...],
                                            activation: str) -> None:
    """float32 as trained: the same shuffle, loss, correct count and parameters after
    every step (the optimiser is torch's in both), up to summation order's rounding."""
    exp = dataclasses.replace(get_experiment("mnist-2layer"), optimizer=optimizer,
                              hidden=hidden, activation=activation,  # type: ignore[arg-type]
                              lr=1e-2, weight_decay=1e-3)
    models = [_model(hidden, activation, seed=3) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [make_optimizer(exp, m) for m in models]
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(70, D, generator=gen) - 0.5  # 4 full steps of 16 and one of 6
    y = torch.randint(0, 10, (70,), generator=gen)
    params: list[list[list[torch.Tensor]]] = [[], []]
    results = []
    for k, (fn, model, opt) in enumerate(zip((train_epoch, autograd_epoch), models, opts,
                                             strict=True)):
        def record(k: int = k, model: nn.Module = models[k]) -> None:
            params[k].append([p.detach().clone() for p in model.parameters()])

        results.append(fn(model, opt, x, y, BATCH, torch.Generator().manual_seed(5),
                          record))
    (loss, correct), (ref_loss, ref_correct) = results
    assert correct.item() == ref_correct.item()
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-6)
    assert len(params[0]) == len(params[1]) == 5
    for step, ref_step in zip(*params, strict=True):
        for p, ref in zip(step, ref_step, strict=True):
            torch.testing.assert_close(p, ref, rtol=1e-5, atol=1e-6)


def test_every_perceptron_takes_the_manual_pass_and_convnets_autograd() -> None:
    for exp in EXPERIMENTS:
        assert is_perceptron(build_model(exp)) == (not exp.conv), exp.name
    assert not is_perceptron(nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)))
    assert not is_perceptron(nn.Sequential(nn.Linear(4, 3), nn.ReLU()))
    assert not is_perceptron(nn.Sequential(nn.Linear(4, 3, bias=False)))


def _torch_optimizer(exp, model: nn.Module) -> torch.optim.Optimizer:  # noqa: ANN001
    if exp.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=exp.lr, momentum=0.9,
                               weight_decay=exp.weight_decay, fused=True)
    return torch.optim.Adam(model.parameters(), lr=exp.lr, weight_decay=exp.weight_decay,
                            fused=True)


def _state(opt, i: int) -> dict[str, torch.Tensor]:  # noqa: ANN001
    """Our optimiser's state for parameter ``i``, under torch's names."""
    if hasattr(opt, "buffers"):
        return {"momentum_buffer": opt.buffers[i]}
    return {"step": opt.steps[i], "exp_avg": opt.exp_avg[i], "exp_avg_sq": opt.exp_avg_sq[i]}


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("grads", ["in place", "replaced"])
def test_our_optimiser_is_torchs_update_bit_for_bit(optimizer: str, grads: str) -> None:
    """``training.optim`` calls torch's fused kernel itself; the reference is
    ``torch.optim``'s fused optimiser on a twin model, fed the same gradients, written
    in place (as the manual pass does) or as new tensors (as autograd does): the
    parameters and the optimiser state must be equal bit for bit after every step."""
    exp = dataclasses.replace(get_experiment("mnist-2layer"), optimizer=optimizer,
                              weight_decay=3e-3)  # type: ignore[arg-type]
    ours, theirs = _model((10,), "sigmoid"), _model((10,), "sigmoid")
    opt_ours, opt_theirs = make_optimizer(exp, ours), _torch_optimizer(exp, theirs)
    gen = torch.Generator().manual_seed(1)
    for p in (*ours.parameters(), *theirs.parameters()):
        p.grad = torch.zeros_like(p)
    for _ in range(25):
        for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
            g = torch.randn(a.shape, generator=gen)
            if grads == "in place":
                a.grad.copy_(g)  # type: ignore[union-attr]
                b.grad.copy_(g)  # type: ignore[union-attr]
            else:
                a.grad, b.grad = g.clone(), g.clone()
        opt_ours.step()
        opt_theirs.step()
        for i, (a, b) in enumerate(zip(ours.parameters(), theirs.parameters(), strict=True)):
            assert torch.equal(a, b)
            state = _state(opt_ours, i)
            assert set(state) == set(opt_theirs.state[b])
            for k, v in opt_theirs.state[b].items():
                assert torch.equal(state[k], v), k
                assert state[k].dtype == v.dtype, k
