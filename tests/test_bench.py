"""The benchmark: `bench --quick` runs every step and writes sane numbers.

No timing assertions: these machines are shared and noisy. What is checked is that
every section is there and every measurement is a positive, finite number.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from looking_inside.bench import playground
from looking_inside.bench.train import epoch_work, tile
from looking_inside.config import EXPERIMENTS, get_experiment

from helpers import fake_bundle

ROOT = Path(__file__).resolve().parents[1]


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> tuple[dict, str]:
    """bench.json and the printed table of one `bench --quick`."""
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "looking_inside.bench", "--quick", "--out", str(out),
         "--data-root", str(data_root)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"bench --quick failed:\n{proc.stdout}\n{proc.stderr}"
    assert "targets" in proc.stdout  # the summary table was printed
    return json.loads((out / "bench.json").read_text()), proc.stdout


@pytest.fixture(scope="module")
def report(bench_run: tuple[dict, str]) -> dict:
    return bench_run[0]


def test_every_section_is_there(report: dict) -> None:
    assert set(report) >= {"meta", "limits", "training", "data_load_s", "cold_build",
                           "full_scale", "warm_rebuild", "edit_loops", "two_builds", "page_weight",
                           "playground", "targets"}
    assert report["meta"]["quick"] is True
    assert [e["experiment"] for e in report["training"]] == [e.name for e in EXPERIMENTS]
    assert len(report["targets"]) == 8
    assert all(isinstance(t["met"], bool) for t in report["targets"])


def test_limits_and_training_numbers_are_sane(report: dict) -> None:
    assert _positive(report["limits"]["bandwidth"]) and _positive(report["limits"]["gemm_flops"])
    for e in report["training"]:
        for key in ("ours_s", "ours_bs64_s", "tutorial_s", "eval_s", "train1_s", "floor_s",
                    "speedup", "vs_floor", "build_s", "bytes", "flops"):
            assert _positive(e[key]), (e["experiment"], key, e[key])
        assert e["tutorial_batches"] >= 1
        assert e["bound"] in ("memory", "compute")


def test_build_numbers_are_sane(report: dict) -> None:
    cold = report["cold_build"]
    assert _positive(cold["seconds"]) and _positive(cold["peak_rss_bytes"])
    phases = cold["phases"]
    for exp in (e.name for e in EXPERIMENTS):
        assert f"train {exp}" in phases
    assert "figures + facts" in phases
    assert all(s >= 0 and math.isfinite(s) for s in phases.values())
    assert sum(phases.values()) == pytest.approx(cold["seconds"], rel=1e-6)
    full = report["full_scale"]
    assert _positive(full["estimate_s"])
    assert sum(full["parts"].values()) == pytest.approx(full["estimate_s"])
    warm = report["warm_rebuild"]
    for key in ("full_median_s", "plain_median_s", "ratio", "hook_in_process_median_s"):
        assert _positive(warm[key]), key
    assert math.isfinite(warm["added_s"])
    pair = report["two_builds"]
    assert _positive(pair["alone_s"]) and len(pair["together_s"]) == 2
    assert all(_positive(x) for x in pair["together_s"])
    edits = report["edit_loops"]
    assert all(_positive(x) for x in edits["figure_s"] + edits["chapter_s"])
    # The figure edit re-rendered exactly the edited figure.
    assert edits["made"] == "cifar-samples"


def test_every_chapter_is_weighed(report: dict) -> None:
    pages = {p["page"]: p for p in report["page_weight"]}
    for chapter in ("weights/", "mistakes/", "confusion/", "cifar/", "hidden/", "features/"):
        assert chapter in pages
    for p in pages.values():
        assert _positive(p["html"]) and _positive(p["assets"]) and _positive(p["total"])
        assert p["images"] <= p["images_both"]
    assert pages["weights/"]["images"] > 0  # its figures are counted


def test_playground_row_is_measured_and_printed(bench_run: tuple[dict, str]) -> None:
    report, stdout = bench_run
    play = report["playground"]
    # A checkout with Chromium (what the tests need anyway): nothing may be skipped.
    assert play["skipped"] is None
    assert play["settings"] == playground.SETTINGS and play["blas_threads"] == 1
    rows = play["rows"]
    assert [r["hidden"] for r in rows] == list(playground.HIDDEN)
    for r in rows:
        for key in ("browser_s", "numpy_s", "browser_steps_per_s", "numpy_steps_per_s", "ratio"):
            assert _positive(r[key]), (r["hidden"], key, r[key])
        assert r["steps"] == 100  # QUICK.play_steps
        assert r["browser_steps_per_s"] == pytest.approx(r["steps"] / r["browser_s"])
        assert r["ratio"] == pytest.approx(r["numpy_s"] / r["browser_s"])
        # The two timed the same steps: they end with the same weights (the browser
        # test's tolerance).
        assert 0 <= r["max_rel_diff"] <= 1e-4
        # ... and the table shows this row's numbers.
        assert any(line.split()[:3] == [str(r["hidden"]), f"{r['browser_steps_per_s']:.1f}",
                                        f"{r['numpy_steps_per_s']:.1f}"]
                   for line in stdout.splitlines())
    assert "6. 训练场" in stdout


def test_playground_row_without_the_reference_is_skipped_saying_why(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(playground, "REFERENCE", tmp_path / "tests" / "train_reference.py")
    # No site either: a skipped row must not need one.
    result = playground.measure(tmp_path / "no-site", steps=10, reps=1)
    assert result.rows == () and result.skipped is not None
    assert str(tmp_path / "tests" / "train_reference.py") in result.skipped
    lines = playground.format_lines(result.to_json())
    assert lines[0].startswith("6. 训练场") and lines[1].strip().startswith("skipped: ")


def test_playground_row_without_chromium_is_skipped_saying_the_fix(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(playground, "CHROMIUM", tmp_path / "chromium")
    why = playground.missing()
    assert why is not None and "apt-get install chromium" in why


def test_floor_work_matches_a_hand_count() -> None:
    nbytes, flops = epoch_work(get_experiment("mnist-1layer"), 100)
    assert nbytes == 100 * 784 * 4 + 100 * 8
    assert flops == 2 * 2 * 100 * 784 * 10  # forward + weight gradient; pixels need none
    _, flops2 = epoch_work(get_experiment("cifar-2layer"), 100)
    assert flops2 == 2 * 2 * 100 * 3072 * 100 + 3 * 2 * 100 * 100 * 10


def test_tile_repeats_real_images() -> None:
    split = fake_bundle("cifar10", n=7).train
    big = tile(split, 20)
    assert big.images.shape == (20, 3, 32, 32) and big.labels.shape == (20,)
    assert (big.images[7] == split.images[0]).all() and big.labels[19] == split.labels[5]
