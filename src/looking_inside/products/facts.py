"""The numbers the chapters quote, computed from results (never typed by hand).

Each fact has a raw ``value`` (for tests and the manifest) and the ``text`` a chapter
shows with ``{{ fact("name") }}``. A sentence that compares two accuracies quotes a
``cmp.*`` fact, whose verdict comes from ``verdict``: the noise rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from looking_inside.config import (
    ARTICLE_EXPERIMENTS,
    SWEEP_DEPTH_WIDTH,
    SWEEP_DEPTHS,
    SWEEP_PREFIX,
    SWEEP_WIDTHS,
    Dataset,
    Experiment,
    convnet_name,
    get_experiment,
    seeds_of,
    spec,
    sweep_name,
    width_hidden,
)
from looking_inside.products import analysis, shifts
from looking_inside.products import representations as reps
from looking_inside.products.labels import CIFAR_CLASSES_ZH, class_names

if TYPE_CHECKING:
    from looking_inside.data.readers import Split
    from looking_inside.products.inputs import ProductInputs
    from looking_inside.training.results import Results

Fact = dict[str, Any]


def pct(x: float, digits: int = 1) -> str:
    # Two decimals where the text compares near-equal probabilities (the
    # understandable mistakes' runner-up is often within 0.1 points).
    return f"{100 * x:.{digits}f}%"


count = "{:,}".format


def points(x: float) -> str:
    """A difference of accuracies in percentage points."""
    return f"{100 * abs(x):.1f}"


NUMBERS_ZH = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十")


def number_zh(n: int) -> str:
    """A small count as a Chinese numeral (2 -> "两"), a larger one in digits, spaced."""
    return NUMBERS_ZH[n] if 0 <= n < len(NUMBERS_ZH) else f" {n} "


def times_zh(n: int) -> str:
    """3 -> "三次"."""
    return number_zh(n).strip() + "次"


# --- The noise rule --------------------------------------------------------------------

# Significance level of the paired test: a difference is called only when a split of
# the disagreeing test images at least this uneven would come up less than one time
# in twenty between two equally good networks.
ALPHA = 0.05


def verdict(acc_a: Sequence[float], acc_b: Sequence[float],
            pairs: Sequence[tuple[int, int]]) -> str:
    """Configuration ``a`` against ``b``, each trained with several seeds: "higher" or
    "lower" only when their ranges of test accuracy do not overlap and McNemar's test
    says so at ``ALPHA`` for every pair of runs (``pairs``: images only ``a``'s run reads
    right, images only ``b``'s), in the same direction; else "noise"."""

    def significant(sign: int) -> bool:
        return all(sign * (b - c) > 0 and analysis.mcnemar_p(b, c) < ALPHA for b, c in pairs)

    if min(acc_a) > max(acc_b) and significant(+1):
        return "higher"
    if max(acc_a) < min(acc_b) and significant(-1):
        return "lower"
    return "noise"


VERDICT_ZH = {"higher": "高", "lower": "低", "noise": "持平"}
# How a chapter says a verdict, with the gap between the two printed means.
PHRASE_ZH = {"higher": "高出 {} 个百分点", "lower": "低了 {} 个百分点",
             "noise": "相差 {} 个百分点，在噪声之内"}


# Only for the features chapter's sentence on how the distance between training and
# test accuracy changes with width: changes smaller than this read as "几乎没变".
# Accuracies of two networks are never compared with it (see ``verdict``).
GAP_WITHIN = 0.005


def _fact(value: Any, text: str) -> Fact:
    return {"value": value, "text": text}


def _put(f: dict[str, Fact], name: str, value: Any, fmt: Callable[[Any], str] = str) -> None:
    f[name] = _fact(value, fmt(value))


def compute_facts(results: Mapping[str, Results], test: Mapping[str, Split],
                  train: Mapping[str, Split]) -> dict[str, Fact]:
    """Every fact from ``results`` (every experiment, by name) and, where a fact measures
    a picture against the data, the test and training images (by data set)."""
    f: dict[str, Fact] = {"chance": _fact(0.1, pct(0.1, 0))}
    for name, r in results.items():
        e = r.experiment
        _put(f, f"{name}.accuracy", r.test_accuracy, pct)
        _put(f, f"{name}.train_accuracy", r.train_accuracy, pct)
        _put(f, f"{name}.epochs", e.epochs)
        _put(f, f"{name}.lr", e.lr, "{:g}".format)
        _put(f, f"{name}.batch_size", e.batch_size)
        _put(f, f"{name}.errors", int(r.n_test - np.trace(r.confusion)), count)
        if e.hidden:
            _put(f, f"{name}.hidden", e.hidden[0])
        for i, c in enumerate(e.conv, start=1):
            _put(f, f"{name}.channels" + (str(i) if i > 1 else ""), c)
        _put(f, f"{name}.parameters", e.n_parameters, count)
        _put(f, f"{name}.gflops_epoch", analysis.training_gflops(e.forward_flops, r.n_train),
             "{:.2g}".format)
        _put(f, f"{name}.seconds_epoch", r.train_seconds / e.epochs, "{:.2f}".format)
        if len(seeds_of(name)) > 1:
            _runs_facts(f, results, name)
    for dataset, prefix in SWEEP_PREFIX.items():
        single = results[f"{prefix}-1layer"]
        _put(f, f"{prefix}.n_train", single.n_train, count)
        _put(f, f"{prefix}.n_test", single.n_test, count)
        _confusion_facts(f, prefix, single, class_names(dataset))
        _put(f, f"{single.experiment.name}.speckle",
             analysis.mean_speckle(single.weights[0], single.experiment.image_shape),
             "{:.3f}".format)
        _sweep_facts(f, results, dataset)
        _template_facts(f, prefix, single, train[dataset])
    f["cmp.alpha"] = _fact(ALPHA, pct(ALPHA, 0))
    _put(f, "cmp.same_within", GAP_WITHIN, points)

    _mistake_facts(f, results)
    snaps = results["mnist-1layer"].snapshots
    assert snaps is not None
    k = analysis.templates_formed_at(snaps.weights[0])
    step, total = int(snaps.steps[k]), int(snaps.steps[-1])
    when = step / total
    _put(f, "snapshots.formed_step", step, count)
    _put(f, "snapshots.formed_accuracy", float(snaps.test_accuracy[k]), pct)
    _put(f, "snapshots.formed_fraction", when, pct)
    _put(f, "snapshots.formed_similarity", analysis.TEMPLATE_FORMED, "{:.1f}".format)
    _put(f, "snapshots.total_steps", total, count)
    _put(f, "snapshots.count", len(snaps.steps))
    f["snapshots.formed_phrase"] = _fact(when, (
        "模板出现得很早" if when <= 0.25 else
        "模板在训练的前半程就出现了" if when <= 0.5 else "模板到训练的后半程才成形"))
    _compare(f, results, "mnist.hidden10-vs-1layer", "mnist-2layer", "mnist-1layer")
    f["recipe.mnist-2layer-vs-1layer"] = _fact(None, recipe_differences(
        get_experiment("mnist-2layer"), get_experiment("mnist-1layer"), "单层网络"))
    for article in ARTICLE_EXPERIMENTS:
        twin = sweep_name(article.dataset, article.hidden)
        f[f"recipe.{article.name}"] = _fact(twin, recipe_differences(
            article, get_experiment(twin), "容量实验"))
    r = results["cifar-1layer"]
    blue = [analysis.border_blueness(w.reshape(r.experiment.image_shape)) for w in r.weights[0]]
    bluest = [int(c) for c in np.argsort(blue)[::-1][:2]]
    f["cifar.templates.bluest"] = _fact(
        bluest, "和".join(f"“{CIFAR_CLASSES_ZH[c]}”" for c in bluest))
    _example_facts(f, results["mnist-2layer"])
    _picture_facts(f, results, test)
    _map_facts(f, results, test)
    _shift_facts(f, results, test["mnist"])
    return f


def _runs(results: Mapping[str, Results], name: str) -> list[Results]:
    return [results[n] for n in seeds_of(name)]


def _span(acc: Sequence[float]) -> str:
    """Several runs' accuracies as "84.4–87.4%"."""
    return f"{100 * min(acc):.1f}–{pct(max(acc))}"


def _runs_text(acc: Sequence[float]) -> str:
    """Several runs' accuracies as "三次训练 84.4–87.4%"."""
    return f"{times_zh(len(acc))}训练 {_span(acc)}"


def _runs_facts(f: dict[str, Fact], results: Mapping[str, Results], name: str) -> None:
    """``<name>.mean``, ``.min``, ``.max``, ``.range`` and ``.runs``: a configuration
    over its seeds, ``name`` its seed-0 run."""
    acc = [float(analysis.correct(r).mean()) for r in _runs(results, name)]  # exactly k / n
    for key, v in (("mean", float(np.mean(acc))), ("min", min(acc)), ("max", max(acc))):
        _put(f, f"{name}.{key}", v, pct)
    f[f"{name}.range"] = _fact([min(acc), max(acc)], _span(acc))
    f[f"{name}.runs"] = _fact(len(acc), _runs_text(acc))


def _judge(f: dict[str, Fact], name: str, a: str, b: str, acc_a: Sequence[float],
           acc_b: Sequence[float], pairs: Sequence[tuple[int, int]], /,
           with_points: bool = True, **value: Any) -> str:
    """Fact ``name``: what fact ``a`` quotes against fact ``b``, by ``verdict``. Its value
    holds every number the verdict came from, so a test can re-derive it from the manifest;
    ``.points``: the gap between the two printed numbers; ``.phrase``: the verdict."""
    v = verdict(acc_a, acc_b, pairs)
    f[name] = _fact({"a": a, "b": b, "verdict": v, "alpha": ALPHA,
                     "pairs": [list(p) for p in pairs],
                     "p": [analysis.mcnemar_p(*p) for p in pairs], **value}, VERDICT_ZH[v])
    # The gap a reader computes from the two numbers as the page prints them.
    shown = float(f[a]["text"].rstrip("%")) - float(f[b]["text"].rstrip("%"))
    gap = f"{abs(shown):.1f}"
    if with_points:
        f[f"{name}.points"] = _fact(float(np.mean(acc_a) - np.mean(acc_b)), gap)
    f[f"{name}.phrase"] = _fact(v, PHRASE_ZH[v].format(gap))
    return v


def _compare(f: dict[str, Fact], results: Mapping[str, Results], key: str, a: str,
             b: str) -> str:
    """``cmp.<key>``: configuration ``a`` against ``b`` (seed-0 names) by ``_judge``."""
    right_a, right_b = ([analysis.correct(r) for r in _runs(results, c)] for c in (a, b))
    pairs = [analysis.discordant(x, y) for x, y in zip(right_a, right_b, strict=True)]
    return _judge(f, f"cmp.{key}", f"{a}.mean", f"{b}.mean",
                  [float(x.mean()) for x in right_a], [float(y.mean()) for y in right_b],
                  pairs, n_test=results[a].n_test, runs_a=list(seeds_of(a)),
                  runs_b=list(seeds_of(b)))


RECIPE_FIELDS = {"activation": "激活函数", "optimizer": "优化器", "lr": "学习率",
                 "weight_decay": "权重衰减", "batch_size": "每批图像数", "init": "初始权重",
                 "epochs": "训练轮数"}
RECIPE_WORDS = {"relu": "ReLU", "adam": "Adam", "sgd": "SGD", "zero": "全零", "default": "随机"}


def _recipe_value(exp: Experiment, field: str) -> str:
    """A setting as the text says it, spaced from the Chinese before it where it starts
    with a Latin letter or a digit (not before 全零)."""
    v = getattr(exp, field)
    text = RECIPE_WORDS.get(v, v) if isinstance(v, str) else f"{v:g}"
    if field == "epochs":
        text += " 轮"
    return f" {text}" if text[:1].isascii() else text


def recipe_differences(exp: Experiment, other: Experiment, other_label: str) -> str:
    """How ``exp`` was trained differently from ``other``, in words: "激活函数是
    sigmoid（容量实验是 ReLU）、训练轮数是 22 轮（容量实验是 9 轮）"; the activation
    only where both have hidden layers. "训练方法完全相同" where nothing differs."""
    parts = []
    for field, label in RECIPE_FIELDS.items():
        if field == "activation" and not (exp.hidden and other.hidden):
            continue
        mine, theirs = _recipe_value(exp, field), _recipe_value(other, field)
        if mine != theirs:
            parts.append(f"{label}是{mine}（{other_label}是{theirs}）")
    return "、".join(parts) if parts else "训练方法完全相同"


def describe_hidden(hidden: tuple[int, ...]) -> str:
    if not hidden:
        return "没有隐藏层"
    if len(set(hidden)) == 1 and len(hidden) > 1:
        return f"{len(hidden)} 个各含 {hidden[0]} 个神经元的隐藏层"
    return "、".join(str(h) for h in hidden) + " 个神经元的隐藏层"


def _example_facts(f: dict[str, Fact], r: Results) -> None:
    """The two-layer network's hidden units: per digit, the unit with the largest and the
    most negative weight to it; per unit, how many of its most exciting test images are its
    commonest digit; the two clearest units, and every unit whose images are all one digit."""
    for d, row in enumerate(r.weights[1]):
        _put(f, f"hidden.top.{d}", int(row.argmax()) + 1)
        _put(f, f"hidden.bottom.{d}", int(row.argmin()) + 1)
    assert r.hidden is not None
    k = analysis.EXAMPLES
    top, _ = analysis.extreme_examples(r.hidden, k)
    picks = []  # (-count, unit, digit): once sorted, the most single-minded unit first
    for j, images in enumerate(top):
        counts = np.bincount(r.test_labels[images], minlength=10)
        digit = int(np.argmax(counts))
        picks.append((-int(counts[digit]), j, digit))
        _put(f, f"hidden.examples.{j + 1}.digit", digit)
        _put(f, f"hidden.examples.{j + 1}.count", int(counts[digit]))
    picks.sort()
    for rank, (neg, j, digit) in enumerate(picks[:2], start=1):
        _put(f, f"hidden.examples.clearest{rank}.unit", j + 1)
        _put(f, f"hidden.examples.clearest{rank}.digit", digit)
        _put(f, f"hidden.examples.clearest{rank}.count", -neg)
    _put(f, "hidden.examples.k", k)
    pure = [(j, digit) for neg, j, digit in picks if -neg == k]
    f["hidden.examples.pure"] = _fact([j + 1 for j, _ in pure], str(len(pure)))
    if pure:
        units = "、".join(f"第 {j + 1} 号（全是 {d}）" for j, d in pure)
        many = f"{len(pure)} 个" if len(pure) > 1 else "只有 1 个"
        story = f"{many}神经元最兴奋的 {k} 张图全是同一个数字：{units}"
    else:
        neg, j, digit = picks[0]
        story = (f"没有一个神经元最兴奋的 {k} 张图全是同一个数字；最专一的是第 {j + 1} 号，"
                 f"{k} 张里有 {-neg} 张是 {digit}")
    f["hidden.examples.story"] = _fact(len(pure), story)


def _sweep_facts(f: dict[str, Fact], results: Mapping[str, Results], dataset: Dataset) -> None:
    """The capacity sweep, by the noise rule: every width against every narrower one,
    the narrowest width that beats no hidden layer, where widening stops paying, depth
    against one layer, and the convnet against the best perceptron."""
    p = SWEEP_PREFIX[dataset]
    best = analysis.best_point(results, dataset)
    assert best is not None
    f[f"{p}.sweep.best"] = _fact(best, describe_hidden(results[best].experiment.hidden))
    f[f"{p}.sweep.best_accuracy"] = dict(f[f"{best}.mean"])

    def name(w: int) -> str:
        return sweep_name(dataset, width_hidden(w))

    widths = list(SWEEP_WIDTHS)
    f[f"{p}.sweep.widths"] = _fact(widths, "、".join(map(str, widths)))
    wider: dict[tuple[int, int], str] = {}  # (w2, w1) with w2 > w1 -> verdict
    for i, w1 in enumerate(widths):
        for w2 in widths[i + 1:]:
            wider[w2, w1] = _compare(f, results, f"{p}.sweep.{w2}-vs-{w1}", name(w2), name(w1))
    better = [w for w in widths[1:] if wider[w, widths[0]] == "higher"]
    first = better[0] if better else None
    f[f"{p}.sweep.first_better"] = _fact(first, str(first) if first is not None else "")
    # Where widening stops paying: from the first width that beats none at all (or
    # from none at all), the narrowest that no wider one beats.
    enough = next(w for w in widths if w >= (first or 0) and
                  all(wider[w2, w] != "higher" for w2 in widths if w2 > w))
    _put(f, f"{p}.sweep.enough", enough)
    widest = widths[-1]
    # What the widest is set against: no hidden layer where at most the widest beats it;
    # the width before it where widening pays all the way (the widest beats that one);
    # else the width where widening stops paying.
    base = widths[0] if first in (None, widest) else widths[-2] if enough == widest else enough
    said = f[f"cmp.{p}.sweep.{widest}-vs-{base}.phrase"]["text"]
    if first is None:
        story = (f"加了隐藏层、再怎么加宽，都没有超出噪声地胜过单层网络：{widest} 个神经元的"
                 f"网络和单层网络相比{said}")
    elif first == widest:
        story = f"只有最宽的 {widest} 个神经元的网络超出噪声地胜过了单层网络，{said}"
    elif enough == widest:
        story = (f"一直加到 {widest} 个神经元，加宽都还有超出噪声的提高：{widest} 个神经元的"
                 f"网络比 {base} 个的{said}")
    else:
        story = (f"加到 {enough} 个神经元以后，再加宽就没有超出噪声的提高了：{widest} 个神经元"
                 f"的网络和 {enough} 个的相比{said}")
    cost = (results[name(widest)].experiment.forward_flops
            / results[name(base)].experiment.forward_flops)
    story += f"，每张图的计算量却是它的 {cost:.1f} 倍"
    f[f"{p}.sweep.width_story"] = _fact({"enough": enough, "widest": widest, "base": base}, story)
    # A ReLU unit that outputs 0 for every test image plays no part in any answer.
    dead = [int((r.hidden.max(0) <= 0).sum()) for r in _runs(results, name(10))
            if r.hidden is not None]
    runs = f"{times_zh(len(dead))}训练里"
    f[f"{p}.sweep.10.dead"] = _fact(dead, "、".join(map(str, dead)) + " 个")
    f[f"{p}.sweep.10.dead_phrase"] = _fact(sum(dead), (
        f"{runs}，没有一个神经元对所有测试图像都输出 0，每个都派上了用场" if not any(dead)
        else f"{runs}，分别有 {'、'.join(map(str, dead))} 个神经元对所有测试图像都输出 0，"
             "从头到尾没有派上用场"))
    acc = f[f"{name(0)}.mean"]["value"]
    _put(f, f"{p}.test_se", float(np.sqrt(acc * (1 - acc) / results[name(0)].n_test)), points)
    d1 = sweep_name(dataset, (SWEEP_DEPTH_WIDTH,))
    for d in SWEEP_DEPTHS[1:]:
        deep = sweep_name(dataset, (SWEEP_DEPTH_WIDTH,) * d)
        _compare(f, results, f"{p}.sweep.depth{d}-vs-depth1", deep, d1)
        ratio = results[deep].experiment.forward_flops / results[d1].experiment.forward_flops
        _put(f, f"{p}.sweep.depth{d}_cost_ratio", ratio, "{:.2f}".format)
    conv = convnet_name(dataset)
    if conv in results:  # the sweep's own tests leave the convnet out
        _compare(f, results, f"{p}.conv-vs-best", conv, best)
        ratio = results[best].experiment.n_parameters / results[conv].experiment.n_parameters
        _put(f, f"{p}.conv.parameter_ratio", ratio, "{:.0f}".format)


def _mistake_facts(f: dict[str, Fact], results: Mapping[str, Results]) -> None:
    """The four mistakes of the single-layer network, and whether its retrained
    copies (the other seeds) read the same images right."""
    picks = analysis.select_mistakes(results["mnist-1layer"], results["mnist-2layer"])
    f["mistakes.easy_confidence"] = _fact(analysis.EASY_CONFIDENCE,
                                          pct(analysis.EASY_CONFIDENCE, 0))
    others = [analysis.correct(r) for r in _runs(results, "mnist-1layer")[1:]]
    n = len(others)
    for k, m in enumerate(picks, start=1):
        _put(f, f"mistakes.{k}.actual", m.actual)
        _put(f, f"mistakes.{k}.predicted", m.predicted)
        f[f"mistakes.{k}.confidence"] = _fact(m.confidence, pct(m.confidence, 2))
        f[f"mistakes.{k}.true_prob"] = _fact(m.true_prob, pct(m.true_prob, 2))
        right = sum(bool(c[m.index]) for c in others)
        whole = f"换随机种子重新训练的另外{number_zh(n)}个单层网络"
        f[f"mistakes.{k}.retrained_right"] = _fact(right, (
            f"{whole}也都认错了" if right == 0 else f"{whole}却都认对了" if right == n
            else f"{whole}里，有{number_zh(right)}个认对了"))


def _picture_facts(f: dict[str, Fact], results: Mapping[str, Results],
                   test: Mapping[str, Split]) -> None:
    """What the chapters say a picture shows, measured against the test images."""
    mnist, single, hidden = test["mnist"], results["mnist-1layer"], results["mnist-2layer"]
    means = analysis.class_means(mnist.images, mnist.labels)
    corr = np.abs(analysis.correlations(hidden.weights[0], means))
    like = [(j, int(corr[j].argmax())) for j in range(len(corr))
            if corr[j].max() >= analysis.LIKE_DIGIT]
    top = float(corr.max())
    _put(f, "hidden.filters.max_corr", top, "{:.2f}".format)
    f["hidden.filters.like_digit"] = _fact([j + 1 for j, _ in like], (
        f"和十个数字的平均图像比，没有一个过滤器像其中哪一个：相关系数最高只有 {top:.2f}"
        if not like else
        f"有 {len(like)} 个过滤器和某个数字的平均图像相当像（相关系数在 "
        f"{analysis.LIKE_DIGIT} 以上）：" + "、".join(f"第 {j + 1} 号像 {d}" for j, d in like)))
    x = mnist.images.astype(np.float64) / 255
    labels = single.test_labels

    def against_own_digit(size: np.ndarray) -> np.ndarray:
        """Each test digit's ``size`` over the average of its true digit's (1.2: 20% more)."""
        return size / np.array([size[labels == c].mean() for c in range(10)])[labels]

    inks = against_own_digit(x.reshape(len(x), -1).sum(1))
    widths = against_own_digit((x > 0.5).any(axis=1).sum(1).astype(np.float64))  # inked columns
    for digit in (0, 1):  # the test digits wrongly read as 0, as 1
        idx = np.flatnonzero((single.test_probs.argmax(1) == digit) & (labels != digit))
        ink, width = (float(r[idx].mean()) if idx.size else 1.0 for r in (inks, widths))
        _put(f, f"mnist.misread.{digit}.count", len(idx), count)
        f[f"mnist.misread.{digit}.phrase"] = _fact({"ink": ink, "width": width}, (
            f"墨迹平均比同一个真实数字的平均{'多' if ink >= 1 else '少'} "
            f"{100 * abs(ink - 1):.0f}%，字也{'宽' if width >= 1 else '窄'} "
            f"{100 * abs(width - 1):.0f}%"))
    _trace_facts(f, single, hidden, mnist)
    conv = convnet_name("mnist")
    kernels = results[conv].weights[0]  # (C, 1, k, k)
    edges = [j + 1 for j in range(len(kernels))
             if analysis.ramp_fit(kernels[j, 0]) >= analysis.EDGE_FIT]
    f[f"{conv}.edge_filters"] = _fact(edges, (
        f"{len(kernels)} 个里没有一个是简单的一侧亮、一侧暗" if not edges else
        f"{len(kernels)} 个里有 {len(edges)} 个（第 {'、'.join(map(str, edges))} 号）"
        "基本是从一侧亮过渡到另一侧暗：一个倾斜的平面就能解释它们大半的明暗变化，"
        "正好对应笔画的边缘"))


# An activation this close to 0 or 1 sits on a flat end of the sigmoid: the unit reads
# as "off" or "on".
SATURATED = 0.1


def signed(v: float) -> str:
    """A score as the figures print it: sign always, two decimals."""
    return f"{v:+.2f}"


def _trace_facts(f: dict[str, Fact], single: Results, hidden: Results, test: Split) -> None:
    """The test digit the weights and hidden chapters follow through both networks
    (figures ``mnist-trace-*``): its scores, and what makes them. Every ordering
    word in a story is decided here from the numbers it prints."""
    i = analysis.traced_digit(single, hidden)
    x = analysis.network_input(test.images[i], "mnist")
    label = int(test.labels[i])
    _put(f, "trace.index", i)
    _put(f, "trace.digit", label)
    one = analysis.linear_trace(single.weights[0], single.biases[0], x)
    a, b = (int(c) for c in one.ranked[:2])
    z = one.scores
    f["trace.single.scores"] = _fact([float(v) for v in z], "、".join(signed(v) for v in z))
    for k, c in (("first", a), ("second", b)):
        products = one.products[c]
        _put(f, f"trace.single.{k}", c)
        _put(f, f"trace.single.{k}.score", float(z[c]), signed)
        _put(f, f"trace.single.{k}.bias", float(one.bias[c]), signed)
        _put(f, f"trace.single.{k}.red", float(products[products > 0].sum()), signed)
        _put(f, f"trace.single.{k}.blue", float(products[products < 0].sum()), signed)
        _put(f, f"trace.single.{k}.prob", float(one.probs[c]), pct)
    # The gap a reader computes from the two scores as printed.
    shown = float(signed(float(z[a]))) - float(signed(float(z[b])))
    f["trace.single.margin"] = _fact(float(z[a] - z[b]), f"{shown:.2f}")
    right = "认对了" if a == label else f"认成了 {a}"
    f["trace.single.story"] = _fact({"first": a, "second": b}, (
        f"单层网络{right}：“{a}”的得分 {signed(float(z[a]))} 最高，第二名是“{b}”，"
        f"得分 {signed(float(z[b]))}，两者相差 {shown:.2f}"))

    two = analysis.hidden_trace(hidden, x)
    a2, b2 = (int(c) for c in two.ranked[:2])
    terms = two.contributions[a2]
    up, down = int(np.argmax(terms)), int(np.argmin(terms))
    for k, c in (("first", a2), ("second", b2)):
        _put(f, f"trace.hidden.{k}", c)
        _put(f, f"trace.hidden.{k}.score", float(two.scores[c]), signed)
    _put(f, "trace.hidden.first.prob", float(two.probs[a2]), pct)
    _put(f, "trace.hidden.first.bias", float(two.bias[a2]), signed)
    _put(f, "trace.hidden.saturated", int(((two.h < SATURATED) | (two.h > 1 - SATURATED)).sum()))
    _put(f, "trace.hidden.saturated_lo", SATURATED, "{:.1f}".format)
    _put(f, "trace.hidden.saturated_hi", 1 - SATURATED, "{:.1f}".format)
    for key, unit, sign, verb in (("up", up, 1, "推高"), ("down", down, -1, "拉低")):
        term, h = float(terms[unit]), float(two.h[unit])
        f[f"trace.hidden.{key}"] = _fact({"unit": unit + 1, "term": term, "h": h}, (
            f"{verb}得分最多的是第 {unit + 1} 号隐藏神经元，这一项是 {signed(term)}"
            f"（它的激活值 {h:.2f}）" if sign * term > 0 else
            f"没有一项{verb}得分"))
    right2 = (("也" if a == label else "") + "认对了") if a2 == label else f"认成了 {a2}"
    agree = f"和单层网络一样是“{b2}”" if b2 == b else f"是“{b2}”（单层网络的第二名是“{b}”）"
    f["trace.hidden.story"] = _fact({"first": a2, "second": b2, "single_second": b}, (
        f"双层网络{right2}：“{a2}”的得分 {signed(float(two.scores[a2]))} 最高，"
        f"第二名{agree}，得分 {signed(float(two.scores[b2]))}"))


def _map_facts(f: dict[str, Fact], results: Mapping[str, Results],
               test: Mapping[str, Split]) -> None:
    """The map of representations (features chapter): how well the classes separate
    on each 2-D map, by the vote of each point's nearest neighbours, over every run
    of each network; and the maps compared by the noise rule."""
    s = reps.Sample.of(test["mnist"].images, test["mnist"].labels)
    maps = {kind: [reps.make_map(kind, results, s, run) for run in
                   ([reps.RAW] if kind == reps.RAW else seeds_of(kind))]
            for kind in reps.KINDS}
    _put(f, "maps.n", len(s.index), count)
    _put(f, "maps.per_class", reps.PER_CLASS, count)
    _put(f, "maps.k", reps.K)
    for kind, runs in maps.items():
        acc = [m.separation for m in runs]
        _put(f, f"maps.{kind}.dims", runs[0].dims, count)
        # The figure's map (the seed-0 run's): the share its two axes keep.
        f[f"maps.{kind}.kept"] = _fact(runs[0].projection.kept, pct(runs[0].projection.kept, 0))
        _put(f, f"maps.{kind}.knn", float(np.mean(acc)), pct)
        if len(runs) > 1:
            f[f"maps.{kind}.knn_runs"] = _fact(acc, _runs_text(acc))
    per_class = [float(maps[reps.RAW][0].correct[s.labels == d].mean()) for d in range(10)]
    best = int(np.argmax(per_class))
    _put(f, "maps.pixels.best_class", best)
    _put(f, "maps.pixels.best_class_knn", per_class[best], pct)
    _put(f, "maps.pixels.rest_knn",
         float(np.mean([c for d, c in enumerate(per_class) if d != best])), pct)
    # ``maps.cmp.*``: on the neighbour vote, the runs' shares of points voted right (in
    # the value: they are not test accuracies of experiments), and McNemar's test on the
    # same points per pair of runs: seed with seed, the pixels' one map against every run.
    for a, b in ((reps.HIDDEN_NET, reps.RAW), (reps.CONV_NET, reps.RAW),
                 (reps.CONV_NET, reps.HIDDEN_NET)):
        runs_a, runs_b = maps[a], maps[b]
        paired = runs_b * len(runs_a) if len(runs_b) == 1 else runs_b
        acc_a, acc_b = [m.separation for m in runs_a], [m.separation for m in runs_b]
        pairs = [analysis.discordant(x.correct, y.correct)
                 for x, y in zip(runs_a, paired, strict=True)]
        _judge(f, f"maps.cmp.{a}-vs-{b}", f"maps.{a}.knn", f"maps.{b}.knn", acc_a, acc_b,
               pairs, runs_a=[m.run for m in runs_a], runs_b=[m.run for m in paired],
               acc_a=acc_a, acc_b=acc_b, n=len(runs_a[0].labels))
    # The two networks' accuracies, for what the chapter says next to their maps.
    _compare(f, results, "mnist.conv-vs-2layer", reps.CONV_NET, reps.HIDDEN_NET)


def _template_facts(f: dict[str, Fact], prefix: str, single: Results, train: Split) -> None:
    """The single-layer network's templates against each class's average training image,
    as the figure beside them (``analysis.match_templates``): how many are most like their
    own class's, how strongly, and what is left once the best multiple of it is taken away."""
    dataset = single.experiment.dataset
    names = [f"“{c}”" for c in class_names(dataset)]
    m = analysis.match_templates(single.weights[0], train.images, train.labels,
                                 spec(dataset).centre)
    own, best = m.own, m.corr.argmax(1)
    hits = int((best == np.arange(10)).sum())
    lo, hi = float(own.min()), float(own.max())
    _put(f, f"{prefix}.templates.own", hits)
    span = f"相关系数 {lo:.2f} 到 {hi:.2f}"
    if hits == 10:
        story = f"十个模板都和自己那一类训练图像的平均样子最像（{span}）"
    else:
        misses = "、".join(f"{names[c]}的模板更像{names[int(best[c])]}的平均图像"
                           for c in range(10) if best[c] != c)
        story = (f"十个模板里有 {hits} 个和自己那一类训练图像的平均样子最像（{span}），"
                 f"例外是：{misses}")
    f[f"{prefix}.templates.story"] = _fact({"own": hits, "min": lo, "max": hi}, story)
    f[f"{prefix}.templates.corr"] = _fact([float(v) for v in own], f"{lo:.2f} 到 {hi:.2f}")
    neg = m.negative_share
    f[f"{prefix}.templates.negative"] = _fact(
        [float(v) for v in neg], f"{pct(float(neg.min()), 0)} 到 {pct(float(neg.max()), 0)}")
    a = m.against_others
    f[f"{prefix}.templates.others"] = _fact(
        {"min": float(a.min()), "max": float(a.max()), "per_class": [float(v) for v in a]},
        f"{a.min():.2f} 到 {a.max():.2f}".replace("-", "−"))  # a true minus sign


def _shift_facts(f: dict[str, Fact], results: Mapping[str, Results], test: Split) -> None:
    """The shift test: per network, over its seeds, the accuracy on the subset unshifted
    and moved ``QUOTED_SHIFT`` and ``MAX_SHIFT`` pixels (the mean of the four directions);
    comparisons by the noise rule; and the digit that flips (``shifts.pick_flip``)."""
    quoted, far = shifts.QUOTED_SHIFT, shifts.MAX_SHIFT
    by_pixels = {0: [(0, 0)], quoted: shifts.quoted_shifts(), far: shifts.quoted_shifts(far)}
    moves = [m for group in by_pixels.values() for m in group]
    t = shifts.run_test(results, test.images, test.labels, moves)
    n = len(t.index)
    _put(f, "shift.n_images", n, count)
    _put(f, "shift.per_class", shifts.PER_CLASS)
    _put(f, "shift.pixels", quoted)
    _put(f, "shift.max", far)
    at = {px: [moves.index(m) for m in group] for px, group in by_pixels.items()}

    def accuracies(role: str, px: int) -> list[list[float]]:
        """Per run, the accuracy under each move of ``px`` pixels."""
        return [t.accuracy(r)[at[px]].tolist() for r in t.runs[role]]

    for role, label in shifts.ROLES:
        f[f"shift.{role}.network"] = _fact(t.runs[role][0], label)
        for px in at:
            acc = [float(np.mean(a)) for a in accuracies(role, px)]
            _put(f, f"shift.{role}.at{px}", float(np.mean(acc)), pct)
            f[f"shift.{role}.at{px}.runs"] = _fact([min(acc), max(acc)], _runs_text(acc))

    def compare(key: str, a: tuple[str, int], b: tuple[str, int]) -> None:
        """``shift.cmp.<key>``: network ``a[0]`` moved ``a[1]`` pixels against ``b``, the
        runs paired by seed and McNemar's test asked per pair of runs and direction, never
        over the four directions pooled (the same digit moved four ways is not four
        independent trials)."""
        (ra, pa), (rb, pb) = a, b
        runs_a, runs_b = t.runs[ra], t.runs[rb]
        ka = at[pa]
        kb = at[pb] if len(at[pb]) == len(ka) else at[pb] * len(ka)
        pairs = [analysis.discordant(t.correct[x][i], t.correct[y][j])
                 for x, y in zip(runs_a, runs_b, strict=True) for i, j in zip(ka, kb, strict=True)]
        acc_a, acc_b = accuracies(ra, pa), accuracies(rb, pb)
        _judge(f, f"shift.cmp.{key}", f"shift.{ra}.at{pa}", f"shift.{rb}.at{pb}",
               [float(np.mean(v)) for v in acc_a], [float(np.mean(v)) for v in acc_b], pairs,
               with_points=False, n=n, runs_a=runs_a, runs_b=runs_b,
               moves_a=[list(moves[i]) for i in ka], moves_b=[list(moves[j]) for j in kb],
               accuracy_a=acc_a, accuracy_b=acc_b)

    for role, _ in shifts.ROLES:
        compare(f"{role}.at{quoted}-vs-at0", (role, quoted), (role, 0))
        compare(f"{role}.at{far}-vs-at{quoted}", (role, far), (role, quoted))
    for other in ("single", "best"):
        for px in (quoted, far):
            compare(f"conv-vs-{other}.at{px}", ("conv", px), (other, px))
    flip = shifts.pick_flip(t)
    if flip is not None:
        _put(f, "shift.flip.index", flip.index)
        _put(f, "shift.flip.label", flip.label)
        _put(f, "shift.flip.single_wrong", flip.single_wrong, number_zh)
        _put(f, "shift.flip.conv_wrong", flip.conv_wrong, number_zh)
        wrong = sorted({a for a in flip.single[1:] if a != flip.label})
        f["shift.flip.single_answers"] = _fact(flip.single, "、".join(map(str, wrong)))


def _confusion_facts(f: dict[str, Fact], prefix: str, r: Results,
                     names: Sequence[str]) -> None:
    a, p, n = analysis.largest_confusion(r.confusion)
    key = f"{prefix}.confusion"
    f[f"{key}.actual"] = _fact(a, names[a])
    f[f"{key}.predicted"] = _fact(p, names[p])
    _put(f, f"{key}.count", n, count)
    _put(f, f"{key}.row_total", int(r.confusion[a].sum()), count)
    acc = analysis.per_class_accuracy(r.confusion)
    label = "digit" if prefix == "mnist" else "class"
    for end, c in (("best", int(np.argmax(acc))), ("worst", int(np.argmin(acc)))):
        f[f"{key}.{end}_{label}"] = _fact(c, names[c])
        _put(f, f"{key}.{end}_{label}_accuracy", float(acc[c]), pct)
    _put(f, f"{key}.empty_cells", int((r.confusion == 0).sum()))


def make(inputs: ProductInputs) -> bytes:
    """Every fact, as one JSON file."""
    facts = compute_facts(inputs.results, inputs.test, inputs.train)
    return json.dumps(facts, ensure_ascii=False, indent=1, sort_keys=True).encode()
