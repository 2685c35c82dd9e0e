"""The noise rule: McNemar's test against an independent computation, and the words of
every comparison against a verdict re-derived here, on synthetic runs with ties and
overlapping ranges (hypothesis)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from looking_inside.config import (
    SWEEP_WIDTHS,
    get_experiment,
    seeds_of,
    sweep_experiments,
    sweep_name,
    width_hidden,
)
from looking_inside.products import analysis, facts
from looking_inside.training.results import Results

from helpers import fake_results, mcnemar_exact

WORDS = {"higher": "高", "lower": "低", "noise": "持平"}
OPENING = {"higher": "高出", "lower": "低了", "noise": "相差"}


# --- McNemar's test, computed a second way ---------------------------------------------

def mcnemar_logspace(b: int, c: int) -> float:
    """The same in floating point through log-gamma (a third route, for large n)."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    i = np.arange(k + 1)
    logs = np.array([math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
                     for j in i]) - n * math.log(2)
    top = logs.max()
    return min(1.0, 2 * math.exp(top) * float(np.exp(logs - top).sum()))


@pytest.mark.parametrize("b,c,p", [(0, 0, 1.0), (5, 5, 1.0), (0, 5, 0.0625),
                                   (1, 9, 22 / 1024), (9, 1, 22 / 1024), (0, 1, 1.0)])
def test_mcnemar_small_cases_by_hand(b: int, c: int, p: float) -> None:
    assert analysis.mcnemar_p(b, c) == pytest.approx(p, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(b=st.integers(0, 400), c=st.integers(0, 400))
def test_mcnemar_equals_the_exact_binomial_test(b: int, c: int) -> None:
    exact = mcnemar_exact(b, c)
    assert analysis.mcnemar_p(b, c) == pytest.approx(float(exact), rel=1e-12, abs=1e-300)
    assert analysis.mcnemar_p(b, c) == analysis.mcnemar_p(c, b)


@pytest.mark.parametrize("b,c", [(4800, 5200), (300, 420), (2500, 2500), (0, 3000),
                                 (1017, 900)])
def test_mcnemar_at_test_set_sizes_of_the_full_data(b: int, c: int) -> None:
    ref = mcnemar_logspace(b, c)
    assert analysis.mcnemar_p(b, c) == pytest.approx(ref, rel=1e-9, abs=1e-300)


# --- Synthetic runs ---------------------------------------------------------------------

def run_with(name: str, correct: np.ndarray, seed: int) -> Results:
    """Results of experiment ``name`` whose answers are right exactly where ``correct``."""
    n = len(correct)
    labels = np.arange(n, dtype=np.int64) % 10
    base = fake_results(get_experiment(name), labels, seed)
    preds = np.where(correct, labels, (labels + 1) % 10)
    probs = np.full((n, 10), 0.02, dtype=np.float32)
    probs[np.arange(n), preds] = 0.82
    return dataclasses.replace(base, test_probs=probs, test_accuracy=float(correct.mean()),
                               n_test=n)


def runs_of(name: str, rng: np.random.Generator, n: int, level: float, jitter: float,
            copy: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Per seed of ``name``'s configuration, which of ``n`` test images it reads right;
    ``copy``: exactly another configuration's answers (a tie, image by image)."""
    if copy is not None:
        return [c.copy() for c in copy]
    return [rng.random(n) < np.clip(level + rng.uniform(-jitter, jitter), 0, 1)
            for _ in seeds_of(name)]


def expected_verdict(a: list[np.ndarray], b: list[np.ndarray]) -> str:
    """The rule re-derived from the answers: disjoint ranges and every seed pair's
    exact McNemar p below 5%, all in the same direction."""
    acc_a, acc_b = [x.mean() for x in a], [x.mean() for x in b]
    pairs = [(int((x & ~y).sum()), int((~x & y).sum())) for x, y in zip(a, b, strict=True)]
    sig = [mcnemar_exact(p, q) < Fraction(5, 100) for p, q in pairs]
    if min(acc_a) > max(acc_b) and all(s and p > q for s, (p, q) in zip(sig, pairs,
                                                                        strict=True)):
        return "higher"
    if max(acc_a) < min(acc_b) and all(s and p < q for s, (p, q) in zip(sig, pairs,
                                                                        strict=True)):
        return "lower"
    return "noise"


def shown_gap(f: dict, a: str, b: str) -> str:
    return f"{abs(float(f[a]['text'].rstrip('%')) - float(f[b]['text'].rstrip('%'))):.1f}"


LEVELS = st.sampled_from([0.35, 0.36, 0.4, 0.42, 0.85, 0.88, 0.9, 0.93])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.sampled_from([30, 200, 1017, 4000]), level_a=LEVELS, level_b=LEVELS,
       jitter=st.sampled_from([0.0, 0.005, 0.02, 0.06]), tie=st.booleans(),
       seed=st.integers(0, 2**16))
def test_comparison_words_follow_the_rule(n: int, level_a: float, level_b: float,
                                          jitter: float, tie: bool, seed: int) -> None:
    """Two configurations of three seeds each, on the same synthetic test images: the
    verdict, its word and its phrase are the rule's, whatever the sizes, ties (the
    same answers image by image) and overlaps."""
    rng = np.random.default_rng(seed)
    a_name, b_name = "mnist-sweep-100", "mnist-sweep-0"
    a = runs_of(a_name, rng, n, level_a, jitter)
    b = runs_of(b_name, rng, n, level_b, jitter, copy=a if tie else None)
    results = {name: run_with(name, c, k)
               for base, runs in ((a_name, a), (b_name, b))
               for k, (name, c) in enumerate(zip(seeds_of(base), runs, strict=True))}
    f: dict = {}
    for base in (a_name, b_name):
        facts._runs_facts(f, results, base)
    v = facts._compare(f, results, "x", a_name, b_name)
    want = expected_verdict(a, b)
    if tie:
        assert want == "noise"
    assert v == want == f["cmp.x"]["value"]["verdict"]
    assert f["cmp.x"]["text"] == WORDS[want]
    gap = shown_gap(f, f"{a_name}.mean", f"{b_name}.mean")
    phrase = f["cmp.x.phrase"]["text"]
    assert phrase.startswith(OPENING[want]) and f" {gap} 个百分点" in phrase
    assert ("在噪声之内" in phrase) == (want == "noise")
    assert f["cmp.x.points"]["text"] == gap
    # What the manifest keeps is enough to re-derive the verdict: the paired counts
    # agree with the accuracies (b - c = n x the difference of the two runs').
    for (p, q), x, y in zip(f["cmp.x"]["value"]["pairs"], a, b, strict=True):
        assert p - q == int(x.sum()) - int(y.sum())


# --- The width story follows the verdicts -----------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levels=st.lists(st.sampled_from([0.34, 0.36, 0.38, 0.42, 0.43]), min_size=5,
                       max_size=5),
       jitter=st.sampled_from([0.0, 0.01, 0.04]), seed=st.integers(0, 2**16))
def test_the_width_story_is_the_one_the_verdicts_tell(levels: list[float], jitter: float,
                                                      seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 1017
    answers: dict[str, list[np.ndarray]] = {}
    level = dict(zip(SWEEP_WIDTHS, levels, strict=True))
    for e in sweep_experiments("cifar10"):
        if e.seed == 0:
            w = e.hidden[0] if len(e.hidden) == 1 else (0 if not e.hidden else None)
            answers[e.name] = runs_of(e.name, rng, n, level.get(w, 0.4), jitter)
    results = {name: run_with(name, c, k) for base, runs in answers.items()
               for k, (name, c) in enumerate(zip(seeds_of(base), runs, strict=True))}
    f: dict = {}
    for base in answers:
        facts._runs_facts(f, results, base)
    facts._sweep_facts(f, results, "cifar10")

    def verdict(w2: int, w1: int) -> str:
        return expected_verdict(answers[sweep_name("cifar10", width_hidden(w2))],
                                answers[sweep_name("cifar10", width_hidden(w1))])

    widths = list(SWEEP_WIDTHS)
    for i, w1 in enumerate(widths):
        for w2 in widths[i + 1:]:
            assert f[f"cmp.cifar.sweep.{w2}-vs-{w1}"]["value"]["verdict"] == verdict(w2, w1)
    better = [w for w in widths[1:] if verdict(w, 0) == "higher"]
    first = better[0] if better else None
    assert f["cifar.sweep.first_better"]["value"] == first
    story = f["cifar.sweep.width_story"]["text"]
    widest = widths[-1]
    if first is None:
        assert story.startswith("加了隐藏层、再怎么加宽，都没有超出噪声地胜过单层网络")
        return
    enough = min(w for w in widths if w >= first and
                 all(verdict(w2, w) != "higher" for w2 in widths if w2 > w))
    assert f["cifar.sweep.enough"]["value"] == enough
    if first == widest:
        assert story.startswith(f"只有最宽的 {widest} 个神经元的网络超出噪声地胜过了单层网络")
    elif enough == widest:
        assert verdict(widest, widths[-2]) == "higher"
        assert story.startswith(f"一直加到 {widest} 个神经元，加宽都还有超出噪声的提高")
    else:
        assert story.startswith(f"加到 {enough} 个神经元以后，再加宽就没有超出噪声的提高了")
        assert f[f"cmp.cifar.sweep.{widest}-vs-{enough}.phrase"]["text"] in story
