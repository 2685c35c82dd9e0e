"""The shift test: numpy's forward passes against torch's, the shortcuts against the
plain computation, the figures' data and the chapters' sentences against the
manifest, and (full tier) the real networks against their stored answers."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from looking_inside.config import get_experiment, load_settings, seeds_of
from looking_inside.products import analysis, shifts
from looking_inside.products.figures import style
from looking_inside.products.figures.registry import get_figure
from looking_inside.products.figures.shift_test import (
    shift_accuracy_data,
    shift_flip,
    shift_flip_data,
)
from looking_inside.products.inputs import ProductInputs
from looking_inside.training.models import build_model, preprocess, weighted_layers
from looking_inside.training.pipeline import Pipeline
from looking_inside.training.results import Results

from helpers import fake_inputs, mcnemar_exact, readable

# --- an independent reference: torch, on images shifted another way -------------------


def rolled(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``images`` moved by (dx, dy) with np.roll, the band that wrapped round zeroed."""
    out = np.roll(images, (dy, dx), axis=(-2, -1)).copy()
    if dy > 0:
        out[..., :dy, :] = 0
    elif dy < 0:
        out[..., dy:, :] = 0
    if dx > 0:
        out[..., :, :dx] = 0
    elif dx < 0:
        out[..., :, dx:] = 0
    return out


def torch_model(r: Results) -> torch.nn.Sequential:
    """The network as training built it, holding ``r``'s weights."""
    model = build_model(r.experiment)
    with torch.no_grad():
        for layer, w, b in zip(weighted_layers(model), r.weights, r.biases, strict=True):
            layer.weight.copy_(torch.from_numpy(np.asarray(w, dtype=np.float32)))
            layer.bias.copy_(torch.from_numpy(np.asarray(b, dtype=np.float32)))
    return model.eval()


def torch_scores(r: Results, images: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch_model(r)(preprocess(images, r.experiment.dataset)).numpy()


def assert_close(got: np.ndarray, expected: np.ndarray, what: str = "") -> None:
    """Equal up to float32 rounding, at the scale of the scores (made-up weights of
    unit size give scores in the thousands)."""
    np.testing.assert_allclose(got, expected, rtol=1e-4,
                               atol=1e-5 * float(np.abs(expected).max()), err_msg=what)


@pytest.fixture(scope="module")
def inputs() -> ProductInputs:
    return fake_inputs()


@settings(max_examples=60, deadline=None)
@given(dx=st.integers(-6, 6), dy=st.integers(-6, 6), colour=st.booleans())
def test_shift_images_is_a_roll_with_the_wrapped_band_zeroed(dx: int, dy: int,
                                                             colour: bool) -> None:
    rng = np.random.default_rng((dx + 6) * 13 + dy + 6)
    shape = (3, 3, 9, 7) if colour else (3, 9, 7)
    images = rng.integers(1, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(shifts.shift_images(images, dx, dy), rolled(images, dx, dy))


KINDS = ("mnist-1layer", "mnist-2layer", "mnist-sweep-100x100", "mnist-conv",
         "cifar-1layer", "cifar-conv")


@pytest.mark.parametrize("name", KINDS)
def test_numpy_forward_equals_torch(name: str, inputs: ProductInputs) -> None:
    """Every kind of network (one layer, sigmoid and ReLU hidden layers, convnets,
    grey and colour inputs) scores like torch's model of it."""
    r = inputs.results[name]
    images = inputs.test[r.experiment.dataset].images[:64]
    assert_close(shifts.shifted_scores(r, images, [(0, 0)])[0], torch_scores(r, images))


@pytest.mark.parametrize("name", ["mnist-1layer", "mnist-sweep-300", "mnist-conv",
                                  "cifar-conv", "cifar-1layer"])
def test_shifted_scores_equal_torch_on_each_shifted_image(name: str,
                                                          inputs: ProductInputs) -> None:
    """The shortcuts (weights moved instead of images; one convolution per parity of
    offset) give the scores of the network run on every shifted image."""
    r = inputs.results[name]
    images = inputs.test[r.experiment.dataset].images[:40]
    moves = shifts.shifts()
    got = shifts.shifted_scores(r, images, moves)
    for k, (dx, dy) in enumerate(moves):
        assert_close(got[k], torch_scores(r, rolled(images, dx, dy)), str((dx, dy)))


def test_subset_is_a_fixed_draw_of_each_class() -> None:
    labels = np.repeat(np.arange(10), [50, 40, 35, 30, 31, 60, 5, 30, 30, 45])
    np.random.default_rng(3).shuffle(labels)
    idx = shifts.subset(labels)
    assert np.array_equal(idx, shifts.subset(labels))
    assert np.all(np.diff(idx) > 0)
    counts = np.bincount(labels[idx], minlength=10)
    assert counts.tolist() == [min(shifts.PER_CLASS, int((labels == c).sum()))
                               for c in range(10)]


def brute_flip(correct: dict[str, np.ndarray], index: np.ndarray) -> int | None:
    """The rule, one digit at a time: read right unshifted by both; fewest convnet
    errors over the four shifts, then most single-layer errors, then lowest index."""
    best: tuple[int, int, int] | None = None
    for j in range(len(index)):
        if not (correct["s"][0, j] and correct["c"][0, j]):
            continue
        key = (int((~correct["c"][1:, j]).sum()), -int((~correct["s"][1:, j]).sum()),
               int(index[j]))
        best = key if best is None or key < best else best
    return None if best is None else best[2]


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_pick_flip_follows_the_rule(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 12))
    bits = st.lists(st.booleans(), min_size=5 * n, max_size=5 * n)
    correct = {k: np.array(data.draw(bits)).reshape(5, n) for k in ("s", "c")}
    index = np.array(sorted(data.draw(st.sets(st.integers(0, 999), min_size=n,
                                              max_size=n))))
    labels = np.zeros(n, dtype=np.int64)
    t = shifts.ShiftTest(
        [(0, 0), *shifts.quoted_shifts()], index, labels, {"single": ["s"], "conv": ["c"]},
        correct, {k: np.where(v, 0, 1) for k, v in correct.items()})
    flip = shifts.pick_flip(t)
    expected = brute_flip(correct, index)
    assert (flip.index if flip else None) == expected
    if flip is not None:
        j = int(np.flatnonzero(index == flip.index)[0])
        assert flip.single_wrong == int((~correct["s"][1:, j]).sum())
        assert flip.conv_wrong == int((~correct["c"][1:, j]).sum())
        assert flip.single == [0 if c else 1 for c in correct["s"][:, j]]


def test_shift_accuracy_data_against_torch(inputs: ProductInputs) -> None:
    """The figure's table: every run of the three networks, every move, how many of
    the subset it reads right, counted here from torch on np.roll-shifted images."""
    test = inputs.test["mnist"]
    idx = shifts.subset(test.labels)
    rows = shift_accuracy_data(inputs)
    assert rows[0] == ["network", "run", "dx", "dy", "correct", "images", "accuracy"]
    best = analysis.best_point(inputs.results, "mnist")
    runs = {"single": seeds_of("mnist-1layer"), "best": seeds_of(str(best)),
            "conv": seeds_of("mnist-conv")}
    expected = []
    for role, _ in shifts.ROLES:
        for run in runs[role]:
            for dx, dy in shifts.shifts():
                pred = torch_scores(inputs.results[run], rolled(test.images[idx], dx, dy))
                right = int((pred.argmax(1) == test.labels[idx]).sum())
                expected.append([role, run, dx, dy, right, len(idx)])
    assert [r[:6] for r in rows[1:]] == expected
    assert all(r[6] == r[4] / r[5] for r in rows[1:])


@pytest.mark.parametrize("theme", style.THEMES, ids=lambda t: t.name)
def test_the_flipped_digit_and_its_answers(inputs: ProductInputs, theme: style.Theme) -> None:
    """The figure shows the digit the rule picks, each tile the digit shifted, with
    both networks' answers as torch gives them; a wrong answer marked and coloured."""
    inp = readable(inputs)
    test = inp.test["mnist"]
    idx = shifts.subset(test.labels)
    moves = [(0, 0), *shifts.quoted_shifts()]
    answers = {role: np.stack([torch_scores(inp.results[name], rolled(test.images[idx], dx, dy))
                               .argmax(1) for dx, dy in moves])
               for role, name in (("s", "mnist-1layer"), ("c", "mnist-conv"))}
    correct = {k: v == test.labels[idx][None] for k, v in answers.items()}
    pick = brute_flip(correct, idx)
    assert pick is not None, "the single-layer network reads every digit right"
    j = int(np.flatnonzero(idx == pick)[0])
    style.setup(theme)
    fig = shift_flip(inp, theme)
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert texts[0::3] == ["原图", "左移 2", "右移 2", "上移 2", "下移 2"]
    for k in range(len(moves)):
        for line, (role, short) in enumerate((("s", "单层"), ("c", "卷积"))):
            a = int(answers[role][k, j])
            wrong = a != test.labels[pick]
            text = ax.texts[3 * k + 1 + line]
            assert text.get_text() == f"{short}：{a}" + ("（错）" if wrong else "")
            assert text.get_color() == (theme.error if wrong else theme.fg)
    mosaic = np.asarray(ax.images[0].get_array())
    for k, (dx, dy) in enumerate(moves):
        x = k * (28 + 12)
        np.testing.assert_array_equal(mosaic[:28, x:x + 28, 0],
                                      rolled(test.images[pick], dx, dy))
    rows = shift_flip_data(inp)
    assert {r[0] for r in rows[1:]} == {pick}
    assert [r[6] for r in rows[1:]] == [int(answers[role][k, j]) for k in range(len(moves))
                                        for role in ("s", "c")]
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_captions_name_the_subset_and_the_shift() -> None:
    """The captions' numbers are the test's constants (a caption is plain text)."""
    accuracy = get_figure("mnist-shift-accuracy").caption
    assert f"{10 * shifts.PER_CLASS} 张测试数字" in accuracy
    assert f"每个数字随机取 {shifts.PER_CLASS} 张" in accuracy
    assert f"0 到 {shifts.MAX_SHIFT} 个像素" in accuracy
    assert f"各平移 {shifts.QUOTED_SHIFT} 个像素" in get_figure("mnist-shift-flip").caption


def test_the_shift_figures_read_what_the_test_needs() -> None:
    assert set(get_figure("mnist-shift-accuracy").experiments) == set(shifts.experiments())
    assert set(get_figure("mnist-shift-flip").experiments) == {"mnist-1layer", "mnist-conv"}


# --- the manifest: every verdict re-derived, every sentence as the facts say -----------

def manifest(site: Path) -> dict:
    return json.loads((site / "assets" / "data" / "manifest.json").read_text())


def chapter_text(site: Path, name: str) -> str:
    """The chapter's article text with tags dropped (fact spans keep their text)."""
    html = (site / name / "index.html").read_text(encoding="utf-8")
    body = html[html.index("<article"):html.index("</article>")]
    return re.sub(r"<[^>]+>", "", body)


def test_every_shift_verdict_holds_for_the_manifest(built_site: Path) -> None:
    """Each comparison re-derived from its own numbers: the accuracies per run and
    direction agree with the paired counts on the subset's size, the means are the
    quoted facts, the verdict follows the noise rule (every pair significant in one
    direction, ranges apart), and the phrase gives the gap of the printed numbers."""
    facts = manifest(built_site)["facts"]
    cmps = {k: v["value"] for k, v in facts.items()
            if k.startswith("shift.cmp.") and not k.endswith(".phrase")}
    assert len(cmps) == 3 * 2 + 2 * 2
    n = facts["shift.n_images"]["value"]
    for key, c in cmps.items():
        assert c["n"] == n
        acc = {}
        for side in ("a", "b"):
            per_run = c[f"accuracy_{side}"]
            acc[side] = [sum(v) / len(v) for v in per_run]
            mean = sum(acc[side]) / len(acc[side])
            assert facts[c[side]]["value"] == pytest.approx(mean, abs=1e-12), key
            assert facts[c[side]]["text"] == f"{100 * mean:.1f}%"
        a_moves = [v for run in c["accuracy_a"] for v in run]
        b_moves = [v for run in c["accuracy_b"] for v in (run * len(c["accuracy_a"][0])
                                                          if len(run) == 1 else run)]
        for (only_a, only_b), x, y in zip(c["pairs"], a_moves, b_moves, strict=True):
            assert abs((only_a - only_b) - n * (x - y)) < 1e-6, key
        sig = [(mcnemar_exact(*p) < Fraction(5, 100), p[0] - p[1]) for p in c["pairs"]]
        if min(acc["a"]) > max(acc["b"]) and all(s and d > 0 for s, d in sig):
            verdict = "higher"
        elif max(acc["a"]) < min(acc["b"]) and all(s and d < 0 for s, d in sig):
            verdict = "lower"
        else:
            verdict = "noise"
        assert c["verdict"] == verdict, key
        gap = f"{abs(float(facts[c['a']]['text'][:-1]) - float(facts[c['b']]['text'][:-1])):.1f}"
        phrase = facts[f"{key}.phrase"]["text"]
        assert phrase == {"higher": f"高出 {gap} 个百分点", "lower": f"低了 {gap} 个百分点",
                          "noise": f"相差 {gap} 个百分点，在噪声之内"}[verdict]


def test_the_shift_sentences_follow_the_facts(built_site: Path) -> None:
    facts = manifest(built_site)["facts"]
    text = chapter_text(built_site, "features")

    def said(name: str) -> str:
        return facts[name]["text"]

    for role in ("single", "best", "conv"):
        assert f"{said(f'shift.{role}.at2')}（{said(f'shift.{role}.at2.runs')}），" \
               f"{said(f'shift.cmp.{role}.at2-vs-at0.phrase')}" in text
    assert f"卷积网络比单层网络{said('shift.cmp.conv-vs-single.at2.phrase')}" in text
    far = facts["shift.cmp.conv.at4-vs-at2"]["value"]["verdict"]
    assert ("卷积网络也不是对位置毫不在乎" in text) == (far == "lower")
    wins = [facts[f"shift.cmp.conv-vs-{o}.at4"]["value"]["verdict"] for o in ("single", "best")]
    assert ("即便如此" in text) == (wins == ["higher", "higher"])
    flip = chapter_text(built_site, "mistakes")
    sw, cw = (facts[f"shift.flip.{k}"]["value"] for k in ("single_wrong", "conv_wrong"))
    assert ("四个方向上全都认错了" in flip) == (sw == 4 and cw == 0)
    assert ("卷积网络四个方向都认对了" in flip) == (sw > 0 and cw == 0)
    assert ("两个网络也都还认得" in flip) == (sw == 0)


# --- the real networks ------------------------------------------------------------------

@pytest.fixture(scope="module")
def pipeline(built_site: Path, data_root: Path, session_cache: Path) -> Pipeline:
    return Pipeline(load_settings(data_root, session_cache))


def test_shift_zero_is_what_the_networks_answered_in_training(built_site: Path,
                                                              pipeline: Pipeline) -> None:
    """Unshifted, numpy's forward pass on the stored weights gives the answers the
    trained network gave (its stored test probabilities, from torch) on the subset,
    for every run the figure draws."""
    test = pipeline.data("mnist").test
    idx = shifts.subset(test.labels)
    rows = (built_site / "figures" / "mnist-shift-accuracy.csv").read_text().splitlines()[1:]
    zero = {r.split(",")[1]: int(r.split(",")[4]) for r in rows if ",0,0," in r}
    assert len(zero) == 9
    for run, right in zero.items():
        r = pipeline.results(get_experiment(run))
        assert right == int((r.test_probs[idx].argmax(1) == test.labels[idx]).sum()), run


def test_real_convnet_shifted_by_torch(built_site: Path, pipeline: Pipeline) -> None:
    """The real convnet and single-layer network, moved two pixels each way: torch on
    np.roll-shifted digits counts what the figure's table says."""
    test = pipeline.data("mnist").test
    idx = shifts.subset(test.labels)
    rows = [r.split(",") for r in
            (built_site / "figures" / "mnist-shift-accuracy.csv").read_text().splitlines()[1:]]
    table = {(r[1], int(r[2]), int(r[3])): int(r[4]) for r in rows}
    for run in ("mnist-conv", "mnist-1layer"):
        r = pipeline.results(get_experiment(run))
        for dx, dy in shifts.quoted_shifts():
            pred = torch_scores(r, rolled(test.images[idx], dx, dy)).argmax(1)
            assert table[run, dx, dy] == int((pred == test.labels[idx]).sum()), (run, dx, dy)
