"""Bad settings fail at start and name the setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from looking_inside.config import EXPERIMENTS, Experiment, load_settings
from looking_inside.errors import BuildError


def test_the_four_experiments_of_the_article() -> None:
    assert [e.name for e in EXPERIMENTS] == ["mnist-1layer", "mnist-2layer", "cifar-1layer",
                                            "cifar-2layer"]
    assert EXPERIMENTS[1].hidden == (10,)


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
