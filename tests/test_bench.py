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

from looking_inside.bench.train import epoch_work, tile
from looking_inside.config import EXPERIMENTS, get_experiment

from helpers import fake_bundle

ROOT = Path(__file__).resolve().parents[1]


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "looking_inside.bench", "--quick", "--out", str(out),
         "--data-root", str(data_root)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"bench --quick failed:\n{proc.stdout}\n{proc.stderr}"
    assert "targets" in proc.stdout  # the summary table was printed
    return json.loads((out / "bench.json").read_text())


def test_every_section_is_there(report: dict) -> None:
    assert set(report) >= {"meta", "limits", "training", "data_load_s", "cold_build",
                           "full_scale", "warm_rebuild", "edit_loops", "two_builds", "page_weight",
                           "targets"}
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
    # The figure edit re-rendered exactly the figures of the edited module.
    assert set(edits["made"].split(", ")) == {"cifar-samples", "cifar-weights-all",
                                              "cifar-confusion"}


def test_every_chapter_is_weighed(report: dict) -> None:
    pages = {p["page"]: p for p in report["page_weight"]}
    for chapter in ("weights/", "mistakes/", "confusion/", "cifar/", "hidden/", "features/"):
        assert chapter in pages
    for p in pages.values():
        assert _positive(p["html"]) and _positive(p["assets"]) and _positive(p["total"])
        assert p["images"] <= p["images_both"]
    assert pages["weights/"]["images"] > 0  # its figures are counted


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
