"""The cache: keys that move exactly when inputs move; damage, crashes and races."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from looking_inside.cache import REPAIRED, Cache
from looking_inside.config import EXPERIMENTS, get_experiment, load_settings
from looking_inside.machine import order
from looking_inside.training.pipeline import Pipeline

from helpers import write_mnist

SRC = Path(__file__).resolve().parents[1] / "src"
TINY = dataclasses.replace(get_experiment("mnist-1layer"), epochs=2)


@pytest.fixture()
def tiny_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_mnist(root, 300, 100)
    return root


def pipeline(root: Path, cache: Path) -> Pipeline:
    return Pipeline(load_settings(data_root=root, cache_dir=cache))


def test_key_moves_with_config_and_data_only(tiny_root: Path, tmp_path: Path) -> None:
    p = pipeline(tiny_root, tmp_path / "c")
    key = p.result_key(TINY)
    assert pipeline(tiny_root, tmp_path / "c").result_key(TINY) == key
    for change in ({"epochs": 3}, {"lr": 2e-3}, {"seed": 1}, {"batch_size": 64}):
        assert p.result_key(dataclasses.replace(TINY, **change)) != key, change
    write_mnist(tiny_root, 300, 100, seed=9)
    assert pipeline(tiny_root, tmp_path / "c").result_key(TINY) != key


def test_figure_keys_move_with_the_font_and_nothing_else_does(tmp_path: Path,
                                                              data_root: Path) -> None:
    from looking_inside.build import Build
    from looking_inside.products.catalog import products

    font = tmp_path / "font.ttf"
    font.write_bytes(b"one font")

    def keys(env_font: str | None) -> dict[str, str]:
        old = os.environ.pop("LOOKING_INSIDE_FONT", None)
        if env_font:
            os.environ["LOOKING_INSIDE_FONT"] = env_font
        try:
            b = Build(load_settings(data_root=data_root, cache_dir=tmp_path / "c"))
            return {p.name: b.key(p) for p in b.products}
        finally:
            os.environ.pop("LOOKING_INSIDE_FONT", None)
            if old is not None:
                os.environ["LOOKING_INSIDE_FONT"] = old

    system, chosen = keys(None), keys(str(font))
    figures = {p.name for p in products() if p.kind == "figure"}
    assert {k for k in system if system[k] != chosen[k]} == figures
    font.write_bytes(b"another font, another size")
    again = keys(str(font))
    assert {k for k in again if again[k] != chosen[k]} == figures


def _train_and_store(root: Path, cache: Path):
    p = pipeline(root, cache)
    res = p.results(TINY)
    return p, res


@pytest.mark.parametrize("damage", ["truncate", "garbage-stamp", "foreign", "missing-file",
                                    "flipped-byte"])
def test_damaged_entry_is_a_warning_and_a_retrain(tiny_root: Path, tmp_path: Path,
                                                  caplog, damage: str) -> None:
    cache = tmp_path / "cache"
    p, first = _train_and_store(tiny_root, cache)
    entry = p.lookup(TINY)
    assert entry is not None
    npz = entry.path / "arrays.npz"
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:100])
    elif damage == "garbage-stamp":
        (entry.path / "STAMP").write_text("{not json")
    elif damage == "foreign":
        other = pipeline(tiny_root, cache)
        other_exp = dataclasses.replace(TINY, seed=5)
        other.results(other_exp)
        foreign = other.lookup(other_exp)
        assert foreign is not None
        (entry.path / "STAMP").write_bytes((foreign.path / "STAMP").read_bytes())
    elif damage == "missing-file":
        npz.unlink()
    else:
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0xFF
        npz.write_bytes(bytes(data))

    caplog.set_level(logging.INFO)
    again = pipeline(tiny_root, cache)
    res = again.results(TINY)
    assert "is damaged" in caplog.text and "rebuilding it" in caplog.text
    # Reported, but below WARNING: `mkdocs build --strict` must not fail on a repair.
    assert all(r.levelno == REPAIRED for r in caplog.records if "is damaged" in r.message)
    assert f"{TINY.name}: training on " in caplog.text, "a damaged entry must never be used"
    for a, b in zip(first.weights, res.weights, strict=True):
        assert np.array_equal(a, b)
    assert again.lookup(TINY) is not None, "the retrained entry is stored again"


def _cli(root: Path, cache: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    e = dict(os.environ, LOOKING_INSIDE_DATA=str(root), LOOKING_INSIDE_CACHE=str(cache),
             **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "looking_inside", "train", *args], env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _weights(cache: Path, name: str) -> np.ndarray:
    entries = [d for d in (cache / "results" / name).iterdir() if not d.name.startswith(".")]
    assert len(entries) == 1, entries
    with np.load(entries[0] / "arrays.npz") as z:
        return z["weight0"]


def _verify_all(cache: Path) -> int:
    """Every entry in the cache is whole; returns how many there are."""
    c = Cache(cache)
    n = 0
    for stamp in cache.glob("*/*/*/STAMP"):
        d = stamp.parent
        assert c.get(d.parent.parent.name, d.parent.name, d.name) is not None, d
        n += 1
    return n


def test_two_builds_at_once_on_one_cache(data_root: Path, tmp_path: Path) -> None:
    """Two builds, each with its two trainer processes, storing the same entries into
    one cache at once. The three cheapest networks of each data set: as many races
    as the whole list makes, at a fifth of its training."""
    cache = tmp_path / "cache"
    only = [a for d in ("mnist", "cifar10")
            for e in order([e for e in EXPERIMENTS if e.dataset == d])[-3:]
            for a in ("--only", e.name)]
    procs = [_cli(data_root, cache, *only, "--json") for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    rows = [{r["name"]: r["test_accuracy"] for r in json.loads(o[0])["experiments"]}
            for o in outs]
    assert rows[0] == rows[1] and len(rows[0]) == 6
    assert _verify_all(cache) == 6
    assert not list(cache.glob("results/*/.tmp-*")), "no temp folders left behind"
    third = _cli(data_root, cache, *only, "--json").communicate(timeout=600)[0]
    assert all(r["cache_hit"] for r in json.loads(third)["experiments"])


def _wait_for(pred, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_killed_during_training_then_clean_rebuild(data_root: Path, tmp_path: Path) -> None:
    cache, clean = tmp_path / "cache", tmp_path / "clean"
    proc = _cli(data_root, cache, "--only", "mnist-1layer", "--verbose")
    assert proc.stderr is not None
    for line in proc.stderr:
        if "epoch 3/" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (cache / "results" / "mnist-1layer").exists() or \
        not list((cache / "results" / "mnist-1layer").glob("*/STAMP"))
    # The recovery and a clean build, side by side.
    runs = [_cli(data_root, c, "--only", "mnist-1layer", "--json") for c in (cache, clean)]
    assert [p.wait(timeout=600) for p in runs] == [0, 0]
    assert np.array_equal(_weights(cache, "mnist-1layer"), _weights(clean, "mnist-1layer"))


def test_killed_while_writing_the_cache(data_root: Path, tmp_path: Path) -> None:
    cache, clean = tmp_path / "cache", tmp_path / "clean"
    proc = _cli(data_root, cache, "--only", "mnist-sweep-0",
                env={"LOOKING_INSIDE_FAULT": "pause-before-stamp"})
    folder = cache / "results" / "mnist-sweep-0"
    _wait_for(lambda: any((d / "arrays.npz").exists() for d in folder.glob(".tmp-*")))
    proc.kill()
    proc.wait()
    assert not list(folder.glob("*/STAMP")), "a half-written entry must not be visible"
    runs = [_cli(data_root, c, "--only", "mnist-sweep-0") for c in (cache, clean)]
    assert [p.wait(timeout=600) for p in runs] == [0, 0]
    assert np.array_equal(_weights(cache, "mnist-sweep-0"), _weights(clean, "mnist-sweep-0"))
    assert _verify_all(cache) == 1


@pytest.mark.parametrize("how", ["a file in its place", "read-only"])
def test_unwritable_cache_says_so_and_stops(data_root: Path, tmp_path: Path, how: str) -> None:
    """Before training anything: one error line naming the folder and the fix, exit
    2, no scratch folder left anywhere."""
    cache = tmp_path / "cache"
    if how == "read-only":
        cache.mkdir()
        cache.chmod(0o555)
    else:
        cache.write_text("a file where the cache folder should be")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    try:
        proc = _cli(data_root, cache, "--only", "mnist-sweep-0", "--only", "cifar-sweep-0",
                    env={"TMPDIR": str(scratch)})
        out, err = proc.communicate(timeout=600)
    finally:
        if how == "read-only":
            cache.chmod(0o755)
    if how == "read-only" and os.geteuid() == 0:
        # root writes anyway: nothing refused, so the two networks train.
        assert proc.returncode == 0, err
        return
    assert proc.returncode == 2, err
    assert err.splitlines() == [err.strip()] and err.startswith(f"error: {cache}: cannot write")
    assert "LOOKING_INSIDE_CACHE" in err
    assert not list(scratch.iterdir())


def test_prune_drops_old_versions_but_spares_recent_ones(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    for key in ("current", "old", "recent"):
        assert cache.put("figure", "x", key, {"a.png": key.encode()}) is not None
    two_hours_ago = time.time() - 7200
    os.utime(cache.entry_dir("figure", "x", "old"), (two_hours_ago, two_hours_ago))
    cache.prune("figure", "x", keep="current")
    assert cache.get("figure", "x", "current") is not None
    assert cache.get("figure", "x", "recent") is not None
    assert not cache.entry_dir("figure", "x", "old").exists()
