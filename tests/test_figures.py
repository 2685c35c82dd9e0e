"""Every registered figure renders from small synthetic results, deterministically."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from looking_inside.config import EXPERIMENTS
from looking_inside.products.figures import style
from looking_inside.products.figures.registry import FIGURES, get_figure
from looking_inside.products.inputs import ProductInputs
from looking_inside.products.labels import CIFAR_CLASSES_ZH

from helpers import fake_inputs

DIGIT_TITLES = [f"“{d}”" for d in range(10)]

# name -> (number of axes, titles that must appear, in order)
EXPECTED: dict[str, tuple[int, list[str]]] = {
    "single-layer-network": (2, ["28×28 图像"]),
    "weights-as-grid": (4, ["输入 x（一张 0）", "权重 w（28×28 排列）", "逐像素相乘 w·x"]),
    "mnist-weights-0": (1, ["输出神经元“0”的 784 个权重"]),
    # image grids: one axes, each tile titled by an annotation (common.draw_tiles)
    "mnist-weights-all": (1, DIGIT_TITLES),
    # two blocks of five classes: average, template, difference
    "mnist-templates-vs-averages": (2, []),
    "mnist-weights-training": (6, ["初始化\n准确率 10%"]),
    # input, the two product maps, their colour bar, scores, probabilities
    "mnist-trace-single": (6, []),
    # the input, the activation curves, the activations, the class scores
    "mnist-trace-hidden": (4, []),
    "mnist-mistakes": (4, []),
    # the digit unshifted and moved each way, in one mosaic (tests/test_shifts.py
    # checks it on networks that read digits; these random ones read none right)
    "mnist-shift-flip": (1, []),
    "mnist-confusion": (1, []),
    "mnist-confusion-samples": (1, []),
    "cifar-samples": (1, []),
    "cifar-weights-all": (1, list(CIFAR_CLASSES_ZH)),
    "cifar-templates-vs-averages": (2, []),
    "cifar-confusion": (1, []),
    "two-layer-network": (2, ["28×28 图像"]),
    "activations": (2, ["sigmoid", "ReLU"]),
    "mnist-hidden-filters": (2, [str(i) for i in range(1, 11)]),
    "mnist-hidden-top-images": (1, ["过滤器", "最兴奋的 8 张", "最不兴奋的 8 张"]),
    # four panels, each with its cost axis
    "capacity-sweep": (8, ["MNIST：一个隐藏层，宽度不同", "CIFAR-10：一个隐藏层，宽度不同"]),
    "convnet-vs-mlp": (2, ["MNIST 测试集准确率", "CIFAR-10 测试集准确率"]),
    "convnet-filters": (1, [str(i) for i in range(1, 9)]),
    # the pixels, the two networks' hidden layers (tests/test_maps.py checks the rest)
    "representation-maps": (3, ["像素\n（每张图 784 个数）", "双层网络的隐藏层\n（每张图 10 个数）",
                                "卷积网络的最后一个隐藏层\n（每张图 256 个数）"]),
    "mnist-shift-accuracy": (2, ["左右平移", "上下平移"]),
    # every panel in one axes (curves.py); its titles are checked below
    "training-curves": (1, []),
}
# The phone layouts (``narrow=True``) whose axes or titles differ from the wide ones'.
NARROW_EXPECTED: dict[str, tuple[int, list[str]]] = {
    "mnist-hidden-top-images": (2, ["过滤器", "最兴奋的 8 张", "过滤器", "最不兴奋的 8 张"]),
}
# Every layout drawn: (spec, narrow).
LAYOUTS = [(s, n) for s in FIGURES for n in s.layouts()]
NARROW = [s for s in FIGURES if s.narrow]


def _id(layout: tuple[object, bool]) -> str:
    spec, narrow = layout
    return f"{spec.name}{'-narrow' if narrow else ''}"  # type: ignore[attr-defined]


def _flat(text: str) -> str:
    """Text without its white space: a layout may break a title over two lines."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def inputs() -> ProductInputs:
    return fake_inputs()


def render(name: str, inputs: ProductInputs, theme: style.Theme = style.LIGHT,
           narrow: bool = False) -> Figure:
    style.setup(theme)
    draw = get_figure(name).render_function()
    return draw(inputs, theme, narrow=True) if narrow else draw(inputs, theme)


def test_every_figure_has_an_expectation() -> None:
    assert {f.name for f in FIGURES} == set(EXPECTED)
    for f in FIGURES:
        assert f.caption and f.alt and f.caption != f.alt


def test_a_phone_layout_is_the_same_function_with_narrow() -> None:
    """One drawing function per figure: its phone layout is a keyword, never a copy."""
    import inspect

    for spec in FIGURES:
        params = inspect.signature(spec.render_function()).parameters
        if spec.narrow:
            assert "narrow" in params and params["narrow"].default is False, spec.name
            assert params["narrow"].kind is not inspect.Parameter.POSITIONAL_ONLY
        assert spec.images()[:2] == [spec.filename("light"), spec.filename("dark")]
        assert len(spec.images()) == 2 * len(spec.layouts())


@pytest.mark.parametrize("layout", LAYOUTS, ids=_id)
def test_figure_panels(layout: tuple, inputs: ProductInputs) -> None:
    spec, narrow = layout
    fig = render(spec.name, inputs, narrow=narrow)
    try:
        n_axes, titles = EXPECTED[spec.name]
        if narrow:
            n_axes, titles = NARROW_EXPECTED.get(spec.name, (n_axes, titles))
        assert len(fig.axes) == n_axes
        shown = [_flat(t) for ax in fig.axes
                 for t in [ax.get_title()] + [a.get_text() for a in ax.texts
                                              if isinstance(a, Annotation) and a.get_text()]
                 if t]
        assert shown[: len(titles)] == [_flat(t) for t in titles]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


# Phone layouts whose drawn coordinates are layout (the curves are placed in inches),
# and those whose tiles are rearranged in their mosaic (each checked tile by tile
# below, in both layouts).
IN_INCHES = {"training-curves"}
REARRANGED = {"cifar-samples", "mnist-hidden-top-images"}


@pytest.mark.parametrize("spec", NARROW, ids=lambda s: s.name)
def test_the_phone_layout_shows_what_the_wide_one_does(spec, inputs: ProductInputs) -> None:
    """Only the layout changes: the same texts, bars, lines and images, read back from
    the drawn figures (``numbers.drawn_json``: the data file of a figure without a
    table)."""
    from looking_inside.products.figures import numbers

    def content(narrow: bool) -> dict[str, object]:
        fig = render(spec.name, inputs, narrow=narrow)
        try:
            drawn = json.loads(numbers.drawn_json(fig))
        finally:
            style.plt.close(fig)
        panels = drawn["panels"]
        texts = {_flat(t) for p in panels for t in [p.get("title", ""), *p.get("text", [])]}
        out: dict[str, object] = {
            "texts": (texts | {_flat(t) for t in drawn.get("text", [])}) - {""},
            "bars": [b for p in panels for b in p.get("bars", [])],
            "lines": [ln for p in panels for ln in p.get("lines", [])],
            "images": [i for p in panels for i in p.get("images", [])]}
        if spec.name in IN_INCHES:
            out["lines"] = len(out["lines"])  # type: ignore[arg-type]
        if spec.name in REARRANGED:
            del out["images"]
        return out

    wide, narrow = content(False), content(True)
    for part in wide:  # as JSON: NaN (an image's transparent gap) equals itself there
        a, b = (json.dumps(sorted(x) if isinstance(x, set) else x) for x in
                (wide[part], narrow[part]))
        assert a == b, f"{spec.name}: the phone layout's {part} differ"


@pytest.mark.parametrize("narrow", [False, True])
def test_cifar_samples_tiles_are_the_sampled_images_under_their_classes(
        inputs: ProductInputs, narrow: bool) -> None:
    from looking_inside.products.figures.cifar import SAMPLE_COLS, samples_data

    rows = samples_data(inputs)[1:]
    fig = render("cifar-samples", inputs, narrow=narrow)
    cols = SAMPLE_COLS // 2 if narrow else SAMPLE_COLS
    (ax,) = fig.axes
    assert [a.get_text() for a in ax.texts] == [r[3] for r in rows]
    mosaic = np.asarray(ax.images[0].get_array())  # (H, W, 4) uint8
    images = inputs.test["cifar10"].images
    # Tile k's pixels are image k, wherever the layout put the tile: find it by the
    # gaps, which are transparent.
    opaque = mosaic[..., 3] == 255
    ys = np.flatnonzero(opaque.any(1))
    xs = np.flatnonzero(opaque.any(0))
    row_starts = ys[np.r_[True, np.diff(ys) > 1]]
    col_starts = xs[np.r_[True, np.diff(xs) > 1]]
    assert len(col_starts) == cols
    for k, r in enumerate(rows):
        y, x = row_starts[k // cols], col_starts[k % cols]
        tile = mosaic[y:y + 32, x:x + 32, :3]
        np.testing.assert_array_equal(tile, images[int(r[1])].transpose(1, 2, 0))
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("narrow", [False, True])
def test_training_curves_draw_every_history_under_its_name(inputs: ProductInputs,
                                                           narrow: bool) -> None:
    """One panel pair per configuration, titled by its seed-0 run (with "×3" where it
    has three seeds), every run's curves in it."""
    import re

    fig = render("training-curves", inputs, narrow=narrow)
    (ax,) = fig.axes
    groups: dict[str, list[str]] = {}
    for name in inputs.results:
        groups.setdefault(re.sub(r"-seed\d+$", "", name), []).append(name)
    titles = [f"{n} ×{len(r)}" if len(r) > 1 else n for n, r in groups.items()]
    texts = [_flat(t.get_text()) for t in ax.texts]
    titles = [_flat(t) for t in titles]
    assert [t for t in texts if t in titles] == titles
    # Per configuration, every run's loss line, then every run's accuracy line: their
    # heights follow the history (an affine map of it, so correlation 1), and every
    # point is drawn.
    lines = iter(ax.get_lines())
    assert len(ax.get_lines()) == 2 * len(inputs.results)
    for runs in groups.values():
        for key in ("loss", "test_accuracy"):
            for name in runs:
                line = next(lines)
                y = np.asarray(inputs.results[name].history[key], dtype=float)
                drawn = np.asarray(line.get_ydata(), dtype=float)
                assert len(drawn) == len(y)
                if np.ptp(y) > 0:
                    assert np.corrcoef(drawn, y)[0, 1] > 1 - 1e-9
    import matplotlib.pyplot as plt

    plt.close(fig)


@settings(max_examples=200, deadline=None)
@given(lo=st.floats(-5, 5), span=st.floats(1e-4, 50), percent=st.booleans())
def test_curve_tick_labels_print_their_ticks_exactly(lo: float, span: float,
                                                     percent: bool) -> None:
    from looking_inside.products.figures.curves import _labels, _Scale

    ticks = _Scale(np.array([lo, lo + span]), 0.0, 1.0).ticks()
    labels = _labels(ticks, percent)
    assert len(set(labels)) == len(labels)
    for t, text in zip(ticks, labels, strict=True):
        value = float(text.rstrip("%")) / (100 if percent else 1)
        assert abs(value - t) <= 1e-9 + 1e-6 * abs(t), (ticks, labels)


def test_confusion_figure_shows_the_counts(inputs: ProductInputs) -> None:
    fig = render("mnist-confusion", inputs)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    cm = inputs.results["mnist-1layer"].confusion
    assert texts == [str(v) for v in cm.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(d) for d in range(10)]
    assert ax.get_xlabel() == "预测的类别" and ax.get_ylabel() == "实际的类别"
    # One shaded cell under each count, in reading order: the diagonal green, the
    # errors orange (the worst share of its row the strongest), empty errors grey.
    (cells,) = ax.collections
    faces = cells.get_facecolors().reshape(10, 10, 4)
    centres = np.array([p.vertices[:4].mean(0) for p in cells.get_paths()]).reshape(10, 10, 2)
    assert np.allclose(centres[..., 0], np.arange(10)[None, :])
    assert np.allclose(centres[..., 1], np.arange(10)[:, None])
    off = ~np.eye(10, dtype=bool)
    share = cm / cm.sum(1, keepdims=True).clip(min=1)
    diag = np.eye(10, dtype=bool)
    assert np.allclose(faces[diag][:, :3], to_rgba(style.LIGHT.correct)[:3])
    hit, empty = off & (cm > 0), off & (cm == 0)
    assert np.allclose(faces[hit][:, :3], to_rgba(style.LIGHT.error)[:3])
    assert np.allclose(faces[empty][:, :3], to_rgba(style.LIGHT.cell)[:3])
    worst = np.unravel_index(np.argmax(np.where(off, share, -1)), share.shape)
    assert faces[worst][3] == faces[hit][:, 3].max()


@pytest.mark.parametrize("narrow", [False, True])
def test_mistakes_show_true_and_predicted_labels(inputs: ProductInputs, narrow: bool) -> None:
    from looking_inside.products.analysis import select_mistakes

    picks = select_mistakes(inputs.results["mnist-1layer"], inputs.results["mnist-2layer"])
    fig = render("mnist-mistakes", inputs, narrow=narrow)
    assert [ax.get_title() for ax in fig.axes] == \
        [f"实际 {m.actual} → 认成 {m.predicted}" for m in picks]
    assert [m.kind for m in picks] == ["understandable"] * 2 + ["glaring"] * 2
    assert picks[0].confidence - picks[0].true_prob <= picks[1].confidence - picks[1].true_prob


def test_hidden_filter_bars_match_the_output_weights(inputs: ProductInputs) -> None:
    fig = render("mnist-hidden-filters", inputs)
    w_out = inputs.results["mnist-2layer"].weights[1]
    for d, ax in enumerate(fig.axes[10:]):
        heights = [p.get_height() for p in ax.patches]
        np.testing.assert_allclose(heights, w_out[d], rtol=1e-6)
        colours = {p.get_facecolor() for p in ax.patches}
        assert len(colours) == (1 if (w_out[d] >= 0).all() or (w_out[d] < 0).all() else 2)


def _svg_size(svg: bytes) -> tuple[float, float]:
    import re

    m = re.search(rb'width="([0-9.]+)pt" height="([0-9.]+)pt"', svg)
    assert m is not None
    return float(m.group(1)), float(m.group(2))


@pytest.mark.parametrize("layout", LAYOUTS, ids=_id)
def test_same_results_same_bytes(layout: tuple, inputs: ProductInputs) -> None:
    spec, narrow = layout
    a = style.save(render(spec.name, inputs, narrow=narrow))
    b = style.save(render(spec.name, inputs, narrow=narrow))
    assert a == b
    dark = style.save(render(spec.name, inputs, style.DARK, narrow=narrow))
    assert dark != a, "the dark variant must differ from the light one"
    assert b"<dc:date>" not in a and b"Matplotlib v" not in a  # no dates or versions
    # A page does not shift when the reader switches palettes.
    assert _svg_size(dark) == _svg_size(a)


@pytest.mark.parametrize("layout", LAYOUTS, ids=_id)
def test_images_go_in_at_their_own_resolution(layout: tuple, inputs: ProductInputs) -> None:
    """Every image in a figure is embedded as it is, one pixel per value, and drawn
    pixelated (sharp at any zoom), not resampled at the SVG's nominal 72 dpi: each
    embedded picture's size is that of an array the figure drew."""
    import base64
    import io
    import re

    from PIL import Image

    spec, narrow = layout
    fig = render(spec.name, inputs, narrow=narrow)
    drawn = [im.get_array().shape[:2] for ax in fig.axes for im in ax.images]
    svg = style.save(fig).decode()
    images = re.findall(r'<image ([^>]*)/>', svg)
    assert len(images) == len(drawn)
    for attrs in images:
        assert "image-rendering:pixelated" in attrs, spec.name
        data = re.search(r'base64,\s*([^"]*)"', attrs)
        assert data is not None
        with Image.open(io.BytesIO(base64.b64decode(data.group(1)))) as im:
            assert (im.height, im.width) in drawn, (spec.name, im.size)


def test_no_cjk_font_is_a_loud_error(monkeypatch) -> None:
    from looking_inside.errors import BuildError

    style.cjk_family.cache_clear()
    monkeypatch.setattr(style, "CJK_FAMILIES", ("No Such Font SC",))
    monkeypatch.delenv(style.ENV_FONT, raising=False)
    with pytest.raises(BuildError, match="fonts-noto-cjk"):
        style.cjk_family()


def test_generate_writes_a_complete_manifest(data_root: Path, session_cache: Path,
                                            tmp_path: Path, built_site: Path) -> None:
    """The real command on the session's trained models: every figure, data file and
    fact, in the site's layout; then a warm re-run into another folder."""
    env = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root),
               LOOKING_INSIDE_CACHE=str(session_cache))
    runs = []
    for out in (tmp_path / "a", tmp_path / "b"):
        proc = subprocess.run([sys.executable, "-m", "looking_inside", "generate", "--out",
                               str(out)], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        runs.append(proc.stdout)
    assert "made: nothing (all cached)" in runs[1]
    manifests = [json.loads((d / "assets/data/manifest.json").read_text())
                 for d in (tmp_path / "a", tmp_path / "b")]
    for part in ("figures", "facts", "exports", "versions", "data"):
        assert manifests[0][part] == manifests[1][part], part
    assert all(e["cache_hit"] for e in manifests[1]["experiments"])
    m = manifests[0]
    assert [f["name"] for f in m["figures"]] == [f.name for f in FIGURES]
    for fig in m["figures"]:
        assert fig["caption"] and fig["alt"]
        assert len(fig["files"]) == 2
        spec = get_figure(fig["name"])
        narrow = fig["narrow"]["files"] if fig["narrow"] else []
        assert [*fig["files"], *narrow] == spec.images()
        assert bool(narrow) == spec.narrow and set(fig["sha256"]) == set(spec.images())
        for f in spec.images():
            data = (tmp_path / "a" / "figures" / f).read_bytes()
            assert hashlib.sha256(data).hexdigest() == fig["sha256"][f]
            assert (tmp_path / "b" / "figures" / f).read_bytes() == data
    published = {p.relative_to(tmp_path / "a").as_posix()
                 for p in (tmp_path / "a").rglob("*") if p.is_file()}
    assert published == {"assets/data/manifest.json",
                         *(f"figures/{f}" for fig in m["figures"]
                           for f in [*get_figure(fig["name"]).images(), fig["data"]]),
                         *(f"assets/data/{f}" for e in m["exports"] for f in e["files"])}
    facts = m["facts"]
    for e in EXPERIMENTS:
        assert 0.1 < facts[f"{e.name}.accuracy"]["value"] <= 1
    assert facts["mnist.n_train"]["value"] in (3678, 60000)
    assert facts["cifar.n_test"]["value"] in (1017, 10000)
    a, p = facts["mnist.confusion.actual"]["value"], facts["mnist.confusion.predicted"]["value"]
    assert a != p and facts["mnist.confusion.count"]["value"] > 0


def test_training_columns_are_headed_with_step_and_accuracy(inputs: ProductInputs) -> None:
    from looking_inside.products import analysis

    snaps = inputs.results["mnist-1layer"].snapshots
    assert snaps is not None
    fig = render("mnist-weights-training", inputs)
    try:
        shown = analysis.shown_snapshots(len(snaps.steps))
        assert shown[0] == 0 and shown[-1] == len(snaps.steps) - 1
        titles = [ax.get_title() for ax in fig.axes]
        for k, title in zip(shown[1:], titles[1:], strict=True):
            assert title.startswith(f"第 {snaps.steps[k]:,} 步")
            assert f"准确率 {snaps.test_accuracy[k]:.0%}" in title
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_templates_formed_where_correlation_first_reaches_the_threshold() -> None:
    from looking_inside.products import analysis

    rng = np.random.default_rng(0)
    final = rng.normal(size=(10, 784))
    noise = rng.normal(size=(10, 784))
    # Mixtures whose correlation with the final templates is known in closed form.
    mix = np.stack([t * final + (1 - t) * noise for t in (0.0, 0.5, 0.7, 0.8, 1.0)])
    sim = analysis.template_similarity(mix)
    expected = [np.mean([np.corrcoef(m[d], final[d])[0, 1] for d in range(10)]) for m in mix]
    np.testing.assert_allclose(sim, expected, atol=1e-12)
    first = int(np.flatnonzero(np.array(expected) >= analysis.TEMPLATE_FORMED)[0])
    assert analysis.templates_formed_at(mix) == first


def test_speckle_against_hand_made_images() -> None:
    from looking_inside.products.analysis import speckle

    assert speckle(np.ones((5, 5))) == 0.0
    checker = np.indices((6, 6)).sum(0) % 2  # every neighbour differs by the full range
    assert speckle(checker.astype(float)) == pytest.approx(1.0)
    ramp = np.tile(np.arange(11.0), (11, 1))  # steps of 1/10 across, 0 down
    assert speckle(ramp) == pytest.approx((0.1 + 0.0) / 2)
    colour = np.stack([ramp, ramp, ramp])
    assert speckle(colour) == pytest.approx(speckle(ramp))


def test_extreme_examples_are_the_sorted_ends() -> None:
    from looking_inside.products.analysis import extreme_examples

    h = np.array([[0.5, 0.1], [0.9, 0.1], [0.1, 0.3], [0.9, 0.2]])
    top, bottom = extreme_examples(h, 2)
    assert top.tolist() == [[1, 3], [2, 3]]  # ties: lower index first
    assert bottom.tolist() == [[2, 0], [0, 1]]


@pytest.mark.parametrize("narrow", [False, True])
@pytest.mark.parametrize("theme", style.THEMES, ids=lambda t: t.name)
def test_hidden_top_images_show_the_extreme_digits(inputs: ProductInputs,
                                                   theme: style.Theme, narrow: bool) -> None:
    """Every tile of the mosaic, found by the transparent gaps, is the filter or the
    test digit the data file names for it, inked for the palette."""
    from looking_inside.products.analysis import extreme_examples
    from looking_inside.products.figures.hidden import top_images_data

    res = inputs.results["mnist-2layer"]
    rows = top_images_data(inputs)[1:]
    top, bottom = extreme_examples(res.hidden, 8)
    assert [r[3] for r in rows] == [*top.ravel(), *bottom.ravel()]
    fig = render("mnist-hidden-top-images", inputs, theme, narrow=narrow)
    # Wide: one mosaic, the most exciting group then the least; narrow: one mosaic
    # each, every row starting with its filter.
    groups = [("most", "least")] if not narrow else [("most",), ("least",)]
    assert len(fig.axes) == len(groups)
    images = inputs.test["mnist"].images
    for ax, names in zip(fig.axes, groups, strict=True):
        mosaic = np.asarray(ax.images[0].get_array())  # (H, W, 4) uint8
        opaque = mosaic[..., 3] == 255
        ys, xs = np.flatnonzero(opaque.any(1)), np.flatnonzero(opaque.any(0))
        row_starts = ys[np.r_[True, np.diff(ys) > 1]]
        col_starts = xs[np.r_[True, np.diff(xs) > 1]]
        assert (len(row_starts), len(col_starts)) == (10, 1 + 8 * len(names))
        for j, y in enumerate(row_starts):
            w = res.weights[0][j].astype(np.float64)
            expect = np.rint((w - w.min()) / (w.max() - w.min()) * 255).reshape(28, 28)
            np.testing.assert_array_equal(
                mosaic[y:y + 28, col_starts[0]:col_starts[0] + 28, 0], expect)
            for r in (r for r in rows if r[0] == j + 1 and r[1] in names):
                x = col_starts[1 + 8 * names.index(r[1]) + r[2] - 1]
                digit = images[r[3]].astype(int)
                ink = 255 - digit if theme is style.LIGHT else digit
                for c in range(3):
                    np.testing.assert_array_equal(mosaic[y:y + 28, x:x + 28, c], ink)
                assert float(res.hidden[r[3], j]) == r[5]
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("narrow", [False, True])
def test_hidden_filter_bars_are_the_output_weights_under_their_filters(
        inputs: ProductInputs, narrow: bool) -> None:
    from looking_inside.products.figures.mnist import hidden_filters_data

    w_in, w_out = inputs.results["mnist-2layer"].weights[:2]
    h = len(w_in)
    fig = render("mnist-hidden-filters", inputs, narrow=narrow)
    tiles, bars = fig.axes
    (container,) = bars.containers
    heights = np.array([r.get_height() for r in container]).reshape(10, h)
    scale = heights / w_out  # one positive factor for every bar: same signs, same ratios
    np.testing.assert_allclose(scale, scale.flat[0], rtol=1e-6)
    assert scale.flat[0] > 0
    # Each bar stands under its filter: the two axes span the same figure columns and
    # the same x, and bar j's centre is tile j's.
    fig.canvas.draw()
    assert np.allclose(tiles.get_position().intervalx, bars.get_position().intervalx)
    assert np.allclose(tiles.get_xlim(), bars.get_xlim())
    mosaic = np.asarray(tiles.images[0].get_array())
    cols = np.flatnonzero(mosaic[..., 3].any(0))
    starts = cols[np.r_[True, np.diff(cols) > 1]]
    centres = [r.get_x() + r.get_width() / 2 for r in container][:h]
    np.testing.assert_allclose(centres, starts + 13.5)
    rows = hidden_filters_data(inputs)
    assert len(rows) == h + 1 and len(rows[0]) == 1 + 10 + 784
    for j, row in enumerate(rows[1:]):
        assert row[0] == j + 1
        np.testing.assert_array_equal(row[1:11], w_out[:, j])
        np.testing.assert_array_equal(row[11:], w_in[j])
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("narrow", [False, True])
def test_convnet_filter_tiles_are_the_first_layer_weights(inputs: ProductInputs,
                                                          narrow: bool) -> None:
    from looking_inside.config import convnet_name
    from looking_inside.products.figures.features import convnet_filters_data

    w = {d: inputs.results[convnet_name(d)].weights[0] for d in ("mnist", "cifar10")}
    fig = render("convnet-filters", inputs, narrow=narrow)
    (ax,) = fig.axes
    mosaic = np.asarray(ax.images[0].get_array()).astype(float)
    k = w["mnist"].shape[-1]
    for j in range(len(w["mnist"])):
        grey, colour = w["mnist"][j, 0].astype(float), w["cifar10"][j].astype(float)
        x = j * (k + 1)
        expect = np.rint((grey - grey.min()) / (grey.max() - grey.min()) * 255)
        np.testing.assert_array_equal(mosaic[:k, x:x + k, 0], expect)
        lim = np.abs(colour).max()
        expect = np.rint((colour.transpose(1, 2, 0) / lim + 1) / 2 * 255)
        np.testing.assert_array_equal(mosaic[k + 2:2 * k + 2, x:x + k, :3], expect)
    rows = convnet_filters_data(inputs)
    assert [r[:3] for r in rows[1:]] == [
        [d, j + 1, c] for d in ("mnist", "cifar10") for j in range(len(w[d]))
        for c in range(w[d].shape[1])]
    for r in rows[1:]:
        np.testing.assert_array_equal(r[3:], w[r[0]][r[1] - 1, r[2]].ravel())
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_figure_numbers_follow_the_chapters(tmp_path: Path) -> None:
    """Numbers come from the order figures appear across the nav: inserting one
    renumbers every later figure and the references to them."""
    from looking_inside.site import figref_markdown, figure_numbers, nav_pages

    (tmp_path / "a.md").write_text('{{ figure("x") }} {{ figure("y") }}')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("{{ figure('z') }} {{ figure(\"x\") }}")
    nav = [{"A": "a.md"}, {"Group": [{"B": "sub/b.md"}]}]
    pages = nav_pages(nav)
    assert pages == ["a.md", "sub/b.md"]
    numbers = figure_numbers(tmp_path, pages)
    assert numbers == {"x": (1, "a.md"), "y": (2, "a.md"), "z": (3, "sub/b.md")}
    assert figref_markdown("y", "sub/b.md", numbers).startswith("[图 2](../a.md#fig-y)")
    assert figref_markdown("z", "sub/b.md", numbers).startswith("[图 3](#fig-z)")
    (tmp_path / "a.md").write_text('{{ figure("w") }} {{ figure("x") }} {{ figure("y") }}')
    numbers = figure_numbers(tmp_path, pages)
    assert [numbers[n][0] for n in ("w", "x", "y", "z")] == [1, 2, 3, 4]


def _sample_figure() -> Figure:
    style.setup(style.LIGHT)
    fig = style.new_figure(3.0, 2.0)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 0, 2], color=style.LIGHT.positive)
    ax.set_title("标题 title")
    ax.set_xlabel("横轴")
    fig.subplots_adjust(bottom=0.25)  # all of it inside the figure
    return fig


def test_svg_box_measured_by_agg_matches_the_svg_backends() -> None:
    """``style.save`` measures an SVG's tight box with Agg's text metrics instead of the
    SVG backend's own measuring pass: the page size agrees to a fraction of a point."""
    import io

    ours = style.save(_sample_figure())
    buf = io.BytesIO()
    fig = _sample_figure()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=style.PAD_INCHES)
    style.plt.close(fig)
    for a, b in zip(_svg_size(ours), _svg_size(buf.getvalue()), strict=True):
        assert abs(a - b) < 0.5


# Text sizes in CSS px: an SVG W pt wide shows at W*4/3 px, shrunk to fit the article
# column (358 px on a 390 px phone, 688 px at 1280 px); f pt text is f*4/3 px at
# natural size, times that scale.
PHONE_COLUMN, DESKTOP_COLUMN = 358, 688


@pytest.mark.parametrize("name", ["mnist-templates-vs-averages", "cifar-templates-vs-averages",
                                  "mnist-shift-flip", "mnist-shift-accuracy"])
def test_figure_text_is_legible_on_a_phone(name: str, inputs: ProductInputs) -> None:
    """Every text at >= 9 CSS px on a 390 px phone and >= 11 px at 1280 px."""
    import re

    from matplotlib.text import Text

    from helpers import readable

    fig = render(name, readable(inputs))
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    m = re.search(rb'width="([0-9.]+)pt"', style.save(fig))
    assert m is not None and sizes
    width = float(m.group(1)) * 4 / 3
    px = min(sizes) * 4 / 3
    assert px * min(1.0, PHONE_COLUMN / width) >= 9, (name, width, min(sizes))
    assert px * min(1.0, DESKTOP_COLUMN / width) >= 11, (name, width, min(sizes))
