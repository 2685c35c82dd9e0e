"""The package's shape: no import cycles, stages that only look downstream, keys that
cover what each product imports, and rendering that never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from looking_inside import sources
from looking_inside.products.catalog import products

# Each stage may import only itself and the stages listed (the pipeline's order).
ALLOWED = {
    "data": {"data", "config", "errors", "cache"},
    "training": {"training", "data", "config", "errors", "cache", "sources", "machine"},
    "products": {"products", "config", "errors", "cache"},
}


def test_no_import_cycles() -> None:
    assert sources.cycles() == []


def test_cycles_are_detected(tmp_path: Path, monkeypatch) -> None:
    """The detector itself: a package of two modules importing each other."""
    pkg = tmp_path / "looking_inside"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from looking_inside import b\n")
    (pkg / "b.py").write_text("from looking_inside.a import x\n")
    (pkg / "c.py").write_text("import looking_inside.a\n")
    monkeypatch.setattr(sources, "ROOT", pkg)
    monkeypatch.setattr(sources, "_FACTS", {})
    assert sources.cycles() == [["a", "b"]]
    assert sources.closure(["c"]) == {"a", "b", "c"}


def test_stages_import_only_upstream() -> None:
    for mod in sources.modules():
        stage = mod.split(".")[0]
        if stage not in ALLOWED:
            continue
        for dep in sources.imports_of(mod):
            assert dep.split(".")[0] in ALLOWED[stage], f"{mod} imports {dep}"


def test_the_product_never_imports_the_benchmark() -> None:
    for mod in sources.modules():
        if not mod.startswith("bench"):
            assert not any(d.startswith("bench") for d in sources.imports_of(mod)), mod


def test_every_product_key_covers_its_imports() -> None:
    """Display text and drawing helpers are in the keys of what uses them."""
    by_name = {p.name: p for p in products()}
    cifar = sources.closure([by_name["cifar-samples"].module])
    assert {"products.labels", "products.figures.style", "products.figures.common"} <= cifar
    assert not any(m.startswith("training") for m in cifar), "no training code in a figure key"
    assert "products.labels" in sources.closure([by_name["facts"].module])


RENDER = """
import json, sys
from pathlib import Path
from looking_inside.build import Builder
from looking_inside.config import load_settings
settings = load_settings(data_root=sys.argv[1], cache_dir=sys.argv[2])
with Builder(settings) as b:
    missing = b.lookup() is None
    # Results are cached; products are made here, one by one, in this process.
    b._make = lambda todo: [(p, k, p.make(b.inputs(p))) for p, k in todo]
    m = b.build()
    m.write(Path(sys.argv[3]))
print(json.dumps({"torch": [n for n in sys.modules if n.split(".")[0] in
                            ("torch", "torchvision")], "made": b.made}))
"""


def test_rendering_from_a_warm_results_cache_never_imports_torch(
        data_root: Path, session_cache: Path, tmp_path: Path, built_site: Path) -> None:
    cache = tmp_path / "cache"
    # A cache holding the trained results (the session's), but no product.
    (cache / "results").parent.mkdir(parents=True)
    subprocess.run(["cp", "-r", str(session_cache / "results"), str(cache / "results")],
                   check=True)
    env = dict(os.environ, LOOKING_INSIDE_DATA=str(data_root))
    proc = subprocess.run([sys.executable, "-c", RENDER, str(data_root), str(cache),
                           str(tmp_path / "out")], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["torch"] == []
    assert sorted(report["made"]) == sorted(p.name for p in products())
    # The same bytes as the site's build made.
    for fig in json.loads((tmp_path / "out" / "manifest.json").read_text())["figures"]:
        for f in fig["files"]:
            assert (tmp_path / "out" / f).read_bytes() == \
                (built_site / "figures" / f).read_bytes(), f


def test_module_list_follows_files_added_and_removed() -> None:
    """``modules()`` is memoised on folder mtimes: a new file must still be seen (under
    `mkdocs serve`, a newly added figure module), and a removed one forgotten."""
    probe = sources.ROOT / "products" / "figures" / "zz_probe_added.py"
    assert "products.figures.zz_probe_added" not in sources.modules()
    try:
        probe.write_text("X = 1\n")
        assert "products.figures.zz_probe_added" in sources.modules()
    finally:
        probe.unlink()
    assert "products.figures.zz_probe_added" not in sources.modules()


def test_imports_are_found_in_every_statement_body(tmp_path: Path, monkeypatch) -> None:
    """Imports inside functions, try/except, with and else-branches count; those under
    ``if TYPE_CHECKING`` do not (they never run)."""
    pkg = tmp_path / "looking_inside"
    pkg.mkdir()
    for name in ("__init__", "a", "b", "c", "d", "e", "f"):
        (pkg / f"{name}.py").write_text("")
    (pkg / "m.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from looking_inside import a\n"
        "else:\n    from looking_inside import b\n"
        "def g():\n    import looking_inside.c\n"
        "try:\n    pass\nexcept ImportError:\n    from looking_inside import d\n"
        "with open('x') as fh:\n    from looking_inside.e import thing\n"
        "class K:\n    def h(self):\n        for _ in ():\n"
        "            from looking_inside import f\n")
    monkeypatch.setattr(sources, "ROOT", pkg)
    monkeypatch.setattr(sources, "_FACTS", {})
    assert sources.imports_of("m") == {"b", "c", "d", "e", "f"}


def test_a_slice_follows_what_its_roots_reach(tmp_path: Path, monkeypatch) -> None:
    """``slice_hash``: helpers reached through other helpers, classes and module-level
    statements count; unreached functions, comments and layout do not."""
    pkg = tmp_path / "looking_inside"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    m = pkg / "m.py"
    base = ("import math\nSCALE = 2\n\n"
            "def draw():\n    return helper() * SCALE\n\n"
            "def helper():\n    return Box().size + deep()\n\n"
            "def deep():\n    return math.pi\n\n"
            "class Box:\n    size = 1\n\n"
            "def other():\n    return 3\n")
    monkeypatch.setattr(sources, "ROOT", pkg)

    stamps = iter(range(1, 10**6))

    def h(text: str) -> str:
        m.write_text(text)
        os.utime(m, ns=(0, next(stamps)))  # a new stamp, whatever the clock's grain
        return sources.slice_hash("m", ["draw"])

    ref = h(base)
    assert h(base.replace("return 3", "return 4")) == ref, "unreached function"
    assert h(base.replace("def draw", "# why\n\n\ndef draw")) == ref, "comment, blank lines"
    for edit in ("return math.pi", "size = 1", "SCALE = 2", "import math"):
        changed = base.replace(edit, edit.replace("pi", "e").replace("1", "9")
                               .replace("2", "9").replace("math", "cmath"))
        assert changed != base
        assert h(changed) != ref, edit
    with pytest.raises(KeyError, match="nope"):
        sources.slice_hash("m", ["nope"])


def _answers(only: tuple[str, ...] = ()) -> dict[str, object]:
    """What the keys read from the source, for every product (or those named):
    imports, slices, lines."""
    out: dict[str, object] = {}
    for p in products():
        if only and p.name not in only:
            continue
        out[f"closure {p.name}"] = sorted(sources.closure([p.module, *p.code]))
        if p.entry:
            out[f"slice {p.name}"] = sources.slice_hash(p.module, p.entry)
            out[f"lines {p.name}"] = sources.function_lines(p.module, p.entry[0])
    return out


@pytest.fixture
def fresh_sources(monkeypatch):
    """The sources module as a new process finds it: nothing parsed, nothing known;
    returns the list of files it parses from then on."""
    for name in ("_FACTS", "_DIGESTS", "_TREES"):
        monkeypatch.setattr(sources, name, {})
    monkeypatch.setattr(sources, "_USED", set())
    monkeypatch.setattr(sources, "_MEMO_FILE", None)
    parsed: list[Path] = []
    tree = sources._tree

    def counting(path: Path):
        parsed.append(path)
        return tree(path)

    monkeypatch.setattr(sources, "_tree", counting)
    return parsed


def _forget(monkeypatch) -> None:
    """What a new process forgets (the memo file stays)."""
    for name in ("_FACTS", "_DIGESTS", "_TREES"):
        monkeypatch.setattr(sources, name, {})


def test_the_source_facts_memo_answers_alike_without_parsing(tmp_path: Path, fresh_sources,
                                                           monkeypatch) -> None:
    """A new process with the memo that a build left parses no file and answers as
    one that parses them all."""
    reference = _answers()
    assert fresh_sources, "answering parsed the source"
    memo = tmp_path / "source-facts.json"
    sources.use_memo(memo)
    assert _answers() == reference
    sources.save_memo()
    _forget(monkeypatch)
    fresh_sources.clear()
    sources.use_memo(memo)
    assert _answers() == reference
    assert fresh_sources == []


# Any JSON at all, for the memo file or for one of its answers.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


FEW = ("cifar-samples", "facts")  # a figure (a slice, lines) and the facts: every question
_SHAPES = {"imports": sources._is_names, "slice": sources._is_digest,
           "lines": sources._is_spans}


@given(whole=_JSON, answer=_JSON)
@settings(max_examples=15, deadline=None)  # each example parses the package 3 times
def test_a_damaged_memo_changes_no_answer(whole, answer) -> None:
    """Whatever the memo file holds (not JSON, any JSON, the right questions with
    answers of the wrong shape), every answer is the one parsing gives. (An answer of
    the right shape is believed: the memo lives in the cache, trusted as its entries
    are, and only saves time.)"""
    import tempfile

    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as tmp:
        mp.setattr(sources, "_MEMO_FILE", None)
        reference = _answers(FEW)
        memo = Path(tmp) / "source-facts.json"
        sources.use_memo(memo)
        assert _answers(FEW) == reference
        sources.save_memo()
        good = json.loads(memo.read_text())
        wrong = {d: {q: answer if not _SHAPES[q.split()[0]](answer) else a
                     for q, a in facts.items()} for d, facts in good["facts"].items()}
        for content in ("{ not json", json.dumps(whole), json.dumps({**good, "facts": wrong})):
            memo.write_text(content)
            for name in ("_FACTS", "_DIGESTS", "_TREES"):
                mp.setattr(sources, name, {})
            sources.use_memo(memo)
            assert _answers(FEW) == reference


def test_the_memo_follows_content_not_stat(tmp_path: Path, monkeypatch, fresh_sources) -> None:
    """An edit that keeps the file's size and mtime (a checkout, a restore) still
    moves the slice's hash in a new process: facts are filed under the bytes' hash."""
    pkg = tmp_path / "looking_inside"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    m = pkg / "m.py"
    monkeypatch.setattr(sources, "ROOT", pkg)
    m.write_text("def draw():\n    return 1\n")
    os.utime(m, ns=(0, 10**9))
    memo = tmp_path / "memo.json"
    sources.use_memo(memo)
    before = sources.slice_hash("m", ["draw"])
    sources.save_memo()
    m.write_text("def draw():\n    return 2\n")  # same size
    os.utime(m, ns=(0, 10**9))  # same mtime
    _forget(monkeypatch)
    sources.use_memo(memo)
    assert sources.slice_hash("m", ["draw"]) != before
