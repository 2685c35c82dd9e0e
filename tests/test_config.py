"""Bad settings fail at start and name the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from looking_inside.config import (
    ARTICLE_EXPERIMENTS,
    COMPARED_ARTICLE,
    CONVNETS,
    EXPERIMENTS,
    SEEDS,
    Experiment,
    get_experiment,
    load_settings,
    seeds_of,
    sweep_experiments,
)
from looking_inside.errors import BuildError


def test_the_experiments_of_the_article() -> None:
    """The article's three networks come first; the CIFAR-10 two-layer network is the
    capacity sweep's 100-unit point, not a recipe of its own."""
    assert [e.name for e in ARTICLE_EXPERIMENTS] == ["mnist-1layer", "mnist-2layer",
                                                    "cifar-1layer"]
    assert ARTICLE_EXPERIMENTS[1].hidden == (10,)
    assert EXPERIMENTS[:3] == ARTICLE_EXPERIMENTS
    assert get_experiment("cifar-sweep-100").hidden == (100,)


def test_every_compared_configuration_has_three_seeds_of_one_recipe() -> None:
    """Each compared configuration is its seed-0 run and copies that differ only in
    name, seed and (never affecting the weights) snapshots."""
    names = {e.name for e in EXPERIMENTS}
    compared = [*COMPARED_ARTICLE, *(e.name for e in CONVNETS),
                *(e.name for d in ("mnist", "cifar10") for e in sweep_experiments(d)
                  if e.seed == 0)]
    for name in compared:
        runs = seeds_of(name)
        assert len(runs) == len(SEEDS) >= 3 and set(runs) <= names, name
        base = get_experiment(name)
        for run, seed in zip(runs, SEEDS, strict=True):
            e = get_experiment(run)
            assert e.seed == seed
            assert replace(e, name=name, seed=base.seed, snapshots=base.snapshots) == base
    assert seeds_of("cifar-1layer") == ("cifar-1layer",)  # compared with nothing


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_the_capacity_sweep_shares_one_recipe(dataset: str) -> None:
    sweep = sweep_experiments(dataset)  # type: ignore[arg-type]
    assert len({e.name for e in sweep}) == len(sweep)
    assert {e.hidden for e in sweep} == {(), (10,), (30,), (100,), (300,), (100, 100),
                                         (100, 100, 100)}
    for hidden in {e.hidden for e in sweep}:
        assert sorted(e.seed for e in sweep if e.hidden == hidden) == list(SEEDS)
    recipe = {(e.dataset, e.activation, e.epochs, e.batch_size, e.optimizer, e.lr,
               e.weight_decay, e.init, e.conv) for e in sweep}
    assert len(recipe) == 1
    names = {e.name for e in EXPERIMENTS}
    assert {e.name for e in sweep} <= names


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=lambda e: e.name)
def test_sizes_and_costs_match_torch(exp: Experiment) -> None:
    """Parameter count and weight shapes against the torch model; FLOPs against
    a count of the multiply-adds torch's modules perform (an independent route)."""
    from torch import nn

    from looking_inside.training.models import build_model, weighted_layers

    model = build_model(exp)
    assert exp.n_parameters == sum(p.numel() for p in model.parameters())
    assert [tuple(m.weight.shape) for m in weighted_layers(model)] == list(exp.layer_shapes)
    import torch

    macs = 0
    x = torch.zeros(1, exp.n_inputs)
    for m in model:
        y = m(x)
        if isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features
        elif isinstance(m, nn.Conv2d):
            macs += y[0].numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1]
        x = y
    assert exp.forward_flops == 2 * macs


def test_zero_init_only_for_single_layer_networks() -> None:
    with pytest.raises(BuildError, match="single-layer"):
        Experiment(name="x", dataset="mnist", hidden=(10,), init="zero")
    from looking_inside.training.models import build_model

    model = build_model(Experiment(name="x", dataset="mnist", init="zero"))
    assert all(float(p.detach().abs().sum()) == 0 for p in model.parameters())


@pytest.mark.parametrize("field,value,message", [
    ("epochs", -1, "epochs must be >= 1, got -1"),
    ("lr", 0.0, "lr must be > 0"),
    ("hidden", (0,), "hidden sizes must be >= 1"),
    ("dataset", "svhn", "dataset must be 'mnist' or 'cifar10'"),
])
def test_bad_experiment_fields(field: str, value: object, message: str) -> None:
    with pytest.raises(BuildError, match=f"experiment 'x': .*{message}"):
        Experiment(**{"name": "x", "dataset": "mnist", field: value})  # type: ignore[arg-type]


def test_unknown_experiment_name() -> None:
    with pytest.raises(BuildError, match="unknown experiment 'mnist-3layer'; known"):
        load_settings(only=["mnist-3layer"])


@pytest.mark.parametrize("var,value,message", [
    ("LOOKING_INSIDE_DEVICE", "tpu", "LOOKING_INSIDE_DEVICE='tpu' is not a device"),
    ("LOOKING_INSIDE_DOWNLOAD", "maybe", "LOOKING_INSIDE_DOWNLOAD='maybe' is not a boolean"),
])
def test_bad_environment_values(monkeypatch, var: str, value: str, message: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(BuildError, match=message):
        load_settings()


def test_cli_reports_bad_settings_without_a_traceback(tmp_path) -> None:
    env = dict(os.environ, LOOKING_INSIDE_DEVICE="gpu0")
    proc = subprocess.run([sys.executable, "-m", "looking_inside", "train", "--only", "x"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "LOOKING_INSIDE_DEVICE='gpu0' is not a device" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "looking_inside", "train", "--only", "x"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown experiment 'x'" in proc.stderr


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LOOKING_INSIDE_CACHE", raising=False)
    monkeypatch.setenv("LOOKING_INSIDE_DATA", "../data")
    s = load_settings(base_dir=tmp_path / "site")
    assert s.data_root == (tmp_path / "data").resolve()
