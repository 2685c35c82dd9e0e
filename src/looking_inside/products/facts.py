"""The numbers the chapters quote, computed from results (never typed by hand).

Each fact has a raw ``value`` (for tests and the manifest) and the ``text`` a
chapter shows. Chapters read them with ``{{ fact("name") }}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from looking_inside.products import analysis
from looking_inside.products.labels import CIFAR_CLASSES_ZH

if TYPE_CHECKING:
    from looking_inside.products.inputs import ProductInputs
    from looking_inside.training.results import Results

FACTS_FILE = "facts.json"


Fact = dict[str, Any]


def pct(x: float, digits: int = 1) -> str:
    # Two decimals where the text compares near-equal probabilities (the
    # understandable mistakes' runner-up is often within 0.1 points).
    return f"{100 * x:.{digits}f}%"


def count(n: int) -> str:
    return f"{n:,}"


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
    if "mnist-2layer" in results:
        top, bottom = analysis.hidden_preferences(results["mnist-2layer"].weights[1])
        for d in range(10):
            f[f"hidden.top.{d}"] = _fact(int(top[d]) + 1, str(int(top[d]) + 1))
            f[f"hidden.bottom.{d}"] = _fact(int(bottom[d]) + 1, str(int(bottom[d]) + 1))
    return f


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


def make(inputs: ProductInputs) -> dict[str, bytes]:
    """The facts product: every fact as one JSON file."""
    import json

    facts = compute_facts(inputs.results)
    return {FACTS_FILE: json.dumps(facts, ensure_ascii=False, indent=1,
                                   sort_keys=True).encode()}
