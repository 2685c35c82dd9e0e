"""The numbers the chapters quote, computed from results (never typed by hand).

Each fact has a raw ``value`` (for tests and the manifest) and the ``text`` a
chapter shows. Chapters read them with ``{{ fact("name") }}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from looking_inside.config import (
    SWEEP_DEPTH_WIDTH,
    SWEEP_PREFIX,
    SWEEP_SEED_WIDTH,
    SWEEP_SEEDS,
    SWEEP_WIDTHS,
    Dataset,
    convnet_name,
    sweep_name,
    width_hidden,
)
from looking_inside.products import analysis
from looking_inside.products.labels import CIFAR_CLASSES_ZH

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs
    from looking_inside.training.results import Results

Fact = dict[str, Any]


def pct(x: float, digits: int = 1) -> str:
    # Two decimals where the text compares near-equal probabilities (the
    # understandable mistakes' runner-up is often within 0.1 points).
    return f"{100 * x:.{digits}f}%"


def count(n: int) -> str:
    return f"{n:,}"


def points(x: float) -> str:
    """A difference of accuracies in percentage points."""
    return f"{100 * abs(x):.1f}"


# Two accuracies closer than this read as "about the same" in the text: half a
# point is a few dozen test images on the subsets, and the sweep's 10-unit point
# shows seeds alone move one network by at least that much (the chapter quotes
# the measured spread beside every such comparison).
SAME_WITHIN = 0.005


def verdict(a: float, b: float, same_within: float = SAME_WITHIN) -> str:
    """``a`` against ``b``: "higher", "lower" or "same"."""
    if abs(a - b) < same_within:
        return "same"
    return "higher" if a > b else "lower"


VERDICT_ZH = {"higher": "高", "lower": "低", "same": "差不多"}


def _fact(value: Any, text: str) -> Fact:
    return {"value": value, "text": text}


def compute_facts(results: Mapping[str, Results]) -> dict[str, Fact]:
    f: dict[str, Fact] = {"chance": _fact(0.1, pct(0.1, 0))}
    for name, r in results.items():
        f[f"{name}.accuracy"] = _fact(r.test_accuracy, pct(r.test_accuracy))
        f[f"{name}.epochs"] = _fact(r.experiment.epochs, str(r.experiment.epochs))
        errors = int(r.n_test - np.trace(r.confusion))
        f[f"{name}.errors"] = _fact(errors, count(errors))
        if r.experiment.hidden:
            f[f"{name}.hidden"] = _fact(r.experiment.hidden[0], str(r.experiment.hidden[0]))
        f[f"{name}.train_accuracy"] = _fact(r.train_accuracy, pct(r.train_accuracy))
        for i, c in enumerate(r.experiment.conv, start=1):
            f[f"{name}.channels" + (str(i) if i > 1 else "")] = _fact(c, str(c))
        n_par = r.experiment.n_parameters
        f[f"{name}.parameters"] = _fact(n_par, count(n_par))
        gflops = analysis.training_gflops(r.experiment.forward_flops, r.n_train)
        f[f"{name}.gflops_epoch"] = _fact(gflops, f"{gflops:.2g}")
        per_epoch = r.train_seconds / r.experiment.epochs
        f[f"{name}.seconds_epoch"] = _fact(per_epoch, f"{per_epoch:.2f}")
    for prefix, dataset in (("mnist", "mnist"), ("cifar", "cifar10")):
        first = next((r for r in results.values() if r.experiment.dataset == dataset), None)
        if first is not None:
            f[f"{prefix}.n_train"] = _fact(first.n_train, count(first.n_train))
            f[f"{prefix}.n_test"] = _fact(first.n_test, count(first.n_test))

    if "mnist-1layer" in results:
        _confusion_facts(f, "mnist", results["mnist-1layer"], [str(d) for d in range(10)])
    if "cifar-1layer" in results:
        _confusion_facts(f, "cifar", results["cifar-1layer"], list(CIFAR_CLASSES_ZH))
    if "mnist-1layer" in results and "mnist-2layer" in results:
        picks = analysis.select_mistakes(results["mnist-1layer"], results["mnist-2layer"])
        f["mistakes.easy_confidence"] = _fact(analysis.EASY_CONFIDENCE,
                                              pct(analysis.EASY_CONFIDENCE, 0))
        for k, m in enumerate(picks, start=1):
            f[f"mistakes.{k}.actual"] = _fact(m.actual, str(m.actual))
            f[f"mistakes.{k}.predicted"] = _fact(m.predicted, str(m.predicted))
            f[f"mistakes.{k}.confidence"] = _fact(m.confidence, pct(m.confidence, 2))
            f[f"mistakes.{k}.true_prob"] = _fact(m.true_prob, pct(m.true_prob, 2))
    snaps = results["mnist-1layer"].snapshots if "mnist-1layer" in results else None
    if snaps is not None:
        k = analysis.templates_formed_at(snaps.weights[0])
        step, total = int(snaps.steps[k]), int(snaps.steps[-1])
        f["snapshots.formed_step"] = _fact(step, count(step))
        f["snapshots.formed_accuracy"] = _fact(float(snaps.test_accuracy[k]),
                                               pct(float(snaps.test_accuracy[k])))
        f["snapshots.formed_fraction"] = _fact(step / total, pct(step / total))
        f["snapshots.formed_similarity"] = _fact(analysis.TEMPLATE_FORMED,
                                                 f"{analysis.TEMPLATE_FORMED:.1f}")
        f["snapshots.total_steps"] = _fact(total, count(total))
        f["snapshots.count"] = _fact(len(snaps.steps), str(len(snaps.steps)))
    f["cmp.same_within"] = _fact(SAME_WITHIN, points(SAME_WITHIN))
    for dataset in SWEEP_PREFIX:
        _sweep_facts(f, results, dataset)
    if "mnist-1layer" in results and "mnist-2layer" in results:
        _compare(f, "mnist.hidden10-vs-1layer", "mnist-2layer.accuracy",
                 "mnist-1layer.accuracy")
    for name in ("mnist-1layer", "cifar-1layer"):
        if name in results:
            r = results[name]
            s = analysis.mean_speckle(r.weights[0], r.experiment.image_shape)
            f[f"{name}.speckle"] = _fact(s, f"{s:.3f}")
    if "mnist-2layer" in results:
        top, bottom = analysis.hidden_preferences(results["mnist-2layer"].weights[1])
        for d in range(10):
            f[f"hidden.top.{d}"] = _fact(int(top[d]) + 1, str(int(top[d]) + 1))
            f[f"hidden.bottom.{d}"] = _fact(int(bottom[d]) + 1, str(int(bottom[d]) + 1))
        _example_facts(f, results["mnist-2layer"])
    return f


def _compare(f: dict[str, Fact], key: str, a: str, b: str,
             same_within: float = SAME_WITHIN) -> None:
    """``cmp.<key>``: how fact ``a`` stands against fact ``b`` (高/低/差不多), and
    ``cmp.<key>.points``: the gap in percentage points. The value names both facts,
    so a test can check every comparison the text makes against the manifest."""
    va, vb = float(f[a]["value"]), float(f[b]["value"])
    v = verdict(va, vb, same_within)
    f[f"cmp.{key}"] = _fact({"a": a, "b": b, "verdict": v, "same_within": same_within},
                            VERDICT_ZH[v])
    # The gap a reader computes from the two numbers as the page prints them (89.0%
    # and 88.7% are 0.3 points apart, whatever the unrounded values say).
    shown = _shown_percent(f[a]["text"]) - _shown_percent(f[b]["text"])
    f[f"cmp.{key}.points"] = _fact(va - vb, f"{abs(shown):.1f}")
    gap = f"{abs(shown):.1f}"
    phrase = {"higher": f"高出 {gap} 个百分点", "lower": f"低了 {gap} 个百分点",
              "same": f"只差 {gap} 个百分点，可以算持平"}[v]
    f[f"cmp.{key}.phrase"] = _fact(v, phrase)


def _shown_percent(text: str) -> float:
    """``"88.7%"`` -> 88.7: a percentage as a chapter prints it."""
    return float(text.rstrip("%"))


def describe_hidden(hidden: tuple[int, ...]) -> str:
    if not hidden:
        return "没有隐藏层"
    if len(set(hidden)) == 1 and len(hidden) > 1:
        return f"{len(hidden)} 个各含 {hidden[0]} 个神经元的隐藏层"
    return "、".join(str(h) for h in hidden) + " 个神经元的隐藏层"


def _example_facts(f: dict[str, Fact], r: Results) -> None:
    """What the hidden units' most exciting test digits are: per unit the commonest
    digit among its top examples and how many of them it is; then the two units whose
    top examples agree most (the ones worth reading in the text)."""
    if r.hidden is None:
        return
    top, _ = analysis.extreme_examples(r.hidden, analysis.EXAMPLES)
    picks = []
    for j in range(top.shape[0]):
        counts = np.bincount(r.test_labels[top[j]], minlength=10)
        digit = int(np.argmax(counts))
        picks.append((-int(counts[digit]), j, digit))
        f[f"hidden.examples.{j + 1}.digit"] = _fact(digit, str(digit))
        f[f"hidden.examples.{j + 1}.count"] = _fact(int(counts[digit]), str(counts[digit]))
    for rank, (neg, j, digit) in enumerate(sorted(picks)[:2], start=1):
        f[f"hidden.examples.clearest{rank}.unit"] = _fact(j + 1, str(j + 1))
        f[f"hidden.examples.clearest{rank}.digit"] = _fact(digit, str(digit))
        f[f"hidden.examples.clearest{rank}.count"] = _fact(-neg, str(-neg))
    f["hidden.examples.k"] = _fact(analysis.EXAMPLES, str(analysis.EXAMPLES))


def sweep_experiment_flops(results: Mapping[str, Results], dataset: Dataset,
                           width: int) -> int:
    return results[sweep_name(dataset, width_hidden(width))].experiment.forward_flops


def _sweep_facts(f: dict[str, Fact], results: Mapping[str, Results], dataset: Dataset) -> None:
    """The capacity sweep's summary: best point, seed spread, where width stops paying,
    depth against width, and the convnet against the best perceptron."""
    p = SWEEP_PREFIX[dataset]
    best = analysis.best_point(results, dataset)
    if best is None:
        return
    acc = {n: r.test_accuracy for n, r in results.items()}
    f[f"{p}.sweep.best"] = _fact(best, describe_hidden(results[best].experiment.hidden))
    f[f"{p}.sweep.best_accuracy"] = _fact(acc[best], pct(acc[best]))
    seeds = [sweep_name(dataset, (SWEEP_SEED_WIDTH,), s) for s in SWEEP_SEEDS]
    if all(s in results for s in seeds):
        vals = [results[s].test_accuracy for s in seeds]
        f[f"{p}.sweep.seed_min"] = _fact(min(vals), pct(min(vals)))
        f[f"{p}.sweep.seed_max"] = _fact(max(vals), pct(max(vals)))
        f[f"{p}.sweep.seed_spread"] = _fact(max(vals) - min(vals),
                                            points(max(vals) - min(vals)))
    widths = [w for w in SWEEP_WIDTHS if sweep_name(dataset, width_hidden(w)) in results]
    w_acc = {w: acc[sweep_name(dataset, width_hidden(w))] for w in widths}
    if widths:
        top = max(w_acc.values())
        # Where more units stop helping: the narrowest layer within SAME_WITHIN of
        # the widest layers' best.
        enough = min(w for w in widths if w and top - w_acc[w] < SAME_WITHIN) \
            if any(w and top - w_acc[w] < SAME_WITHIN for w in widths) else max(widths)
        f[f"{p}.sweep.enough"] = _fact(enough, str(enough))
        widest = max(widths)
        if enough < widest:
            story = (f"加到 {enough} 个神经元以后，再加宽，测试准确率的提高就不到 "
                     f"{points(SAME_WITHIN)} 个百分点了")
        else:
            prev = max(w for w in widths if w < widest)
            gain = w_acc[widest] - w_acc[prev]
            cost = (sweep_experiment_flops(results, dataset, widest)
                    / sweep_experiment_flops(results, dataset, prev))
            story = (f"一直加到 {widest} 个神经元，准确率都还在变化：从 {prev} 个到 {widest} "
                     f"个，{'提高' if gain > 0 else '变化'}了 {points(gain)} 个百分点，"
                     f"每轮的计算量却变成 {cost:.1f} 倍")
        f[f"{p}.sweep.width_story"] = _fact({"enough": enough, "widest": widest}, story)
        f[f"{p}.sweep.widths"] = _fact(list(widths), "、".join(map(str, widths)))
    one = sweep_name(dataset, ())
    ten = sweep_name(dataset, (SWEEP_SEED_WIDTH,))
    if one in results and ten in results:
        _compare(f, f"{p}.sweep.10-vs-0", f"{ten}.accuracy", f"{one}.accuracy")
        if f"{p}.sweep.enough" in f:
            wide = sweep_name(dataset, (int(f[f"{p}.sweep.enough"]["value"]),))
            _compare(f, f"{p}.sweep.enough-vs-0", f"{wide}.accuracy", f"{one}.accuracy")
    d1 = sweep_name(dataset, (SWEEP_DEPTH_WIDTH,))
    d3 = sweep_name(dataset, (SWEEP_DEPTH_WIDTH,) * 3)
    if d1 in results and d3 in results:
        _compare(f, f"{p}.sweep.depth3-vs-depth1", f"{d3}.accuracy", f"{d1}.accuracy")
        ratio = results[d3].experiment.forward_flops / results[d1].experiment.forward_flops
        f[f"{p}.sweep.depth3_cost_ratio"] = _fact(ratio, f"{ratio:.2f}")
    conv = convnet_name(dataset)
    if conv in results:
        _compare(f, f"{p}.conv-vs-best", f"{conv}.accuracy", f"{p}.sweep.best_accuracy")
        ratio = results[best].experiment.n_parameters / results[conv].experiment.n_parameters
        f[f"{p}.conv.parameter_ratio"] = _fact(ratio, f"{ratio:.0f}")


def _confusion_facts(f: dict[str, Fact], prefix: str, r: Results, names: list[str]) -> None:
    a, p, n = analysis.largest_confusion(r.confusion)
    p_key = f"{prefix}.confusion"
    f[f"{p_key}.actual"] = _fact(a, names[a])
    f[f"{p_key}.predicted"] = _fact(p, names[p])
    f[f"{p_key}.count"] = _fact(n, count(n))
    f[f"{p_key}.row_total"] = _fact(int(r.confusion[a].sum()), count(int(r.confusion[a].sum())))
    acc = analysis.per_class_accuracy(r.confusion)
    best, worst = int(np.argmax(acc)), int(np.argmin(acc))
    label = "digit" if prefix == "mnist" else "class"
    f[f"{p_key}.best_{label}"] = _fact(best, names[best])
    f[f"{p_key}.best_{label}_accuracy"] = _fact(float(acc[best]), pct(float(acc[best])))
    f[f"{p_key}.worst_{label}"] = _fact(worst, names[worst])
    f[f"{p_key}.worst_{label}_accuracy"] = _fact(float(acc[worst]), pct(float(acc[worst])))
    empty = int((r.confusion == 0).sum())
    f[f"{p_key}.empty_cells"] = _fact(empty, str(empty))


def make(inputs: ProductInputs) -> bytes:
    """Every fact, as one JSON file."""
    import json

    facts = compute_facts(inputs.results)
    return json.dumps(facts, ensure_ascii=False, indent=1, sort_keys=True).encode()
