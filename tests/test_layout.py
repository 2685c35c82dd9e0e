"""The package's shape: no import cycles, stages that only look downstream, keys that
cover what each product imports, and rendering that never imports torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from looking_inside import sources
from looking_inside.products.catalog import products

# Each stage may import only itself and the stages listed (the pipeline's order).
ALLOWED = {
    "data": {"data", "config", "errors", "cache"},
    "training": {"training", "data", "config", "errors", "cache", "sources"},
    "products": {"products", "config", "errors", "cache"},
}


def cycles() -> list[list[str]]:
    """Import cycles: each module's closure that leads back to it, grouped."""
    imports = sources.Imports()
    graph = {m: imports[m] for m in imports.known}
    reach = {m: sources.closure([m], graph) for m in graph}
    groups = {frozenset(n for n in reach[m] if m in reach[n]) for m in graph}
    return sorted(sorted(g) for g in groups if len(g) > 1)


def test_no_import_cycles() -> None:
    assert cycles() == []


def test_cycles_are_detected(tmp_path: Path, monkeypatch) -> None:
    """The detector itself: a package of two modules importing each other."""
    pkg = tmp_path / "looking_inside"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from looking_inside import b\n")
    (pkg / "b.py").write_text("from looking_inside.a import x\n")
    (pkg / "c.py").write_text("import looking_inside.a\n")
    monkeypatch.setattr(sources, "ROOT", pkg)
    assert cycles() == [["a", "b"]]
    assert sources.closure(["c"]) == {"a", "b", "c"}


def test_stages_import_only_upstream() -> None:
    for mod in sources.modules():
        stage = mod.split(".")[0]
        if stage not in ALLOWED:
            continue
        for dep in sources.imports_of(mod):
            assert dep.split(".")[0] in ALLOWED[stage], f"{mod} imports {dep}"


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
from looking_inside import build
from looking_inside.config import load_settings
settings = load_settings(data_root=sys.argv[1], cache_dir=sys.argv[2])
build.available_cpus = lambda: 1  # every product made here, in this process
m = build.generate(settings, Path(sys.argv[3]))
print(json.dumps({"torch": [n for n in sys.modules if n.split(".")[0] in
                            ("torch", "torchvision")], "made": m.made}))
"""


def test_rendering_from_a_warm_results_cache_never_imports_torch(
        data_root: Path, session_cache: Path, tmp_path: Path, built_site: Path) -> None:
    cache = tmp_path / "cache"
    # A cache holding the trained results (the session's), but no product.
    cache.mkdir()
    shutil.copytree(session_cache / "results", cache / "results")
    proc = subprocess.run([sys.executable, "-c", RENDER, str(data_root), str(cache),
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["torch"] == []
    assert sorted(report["made"]) == sorted(p.name for p in products())
    # The same bytes as the site's build made.
    out = tmp_path / "out"
    for fig in json.loads((out / "assets/data/manifest.json").read_text())["figures"]:
        for f in [*fig["files"], *(fig["narrow"] or {}).get("files", []), fig["data"]]:
            assert (out / "figures" / f).read_bytes() == \
                (built_site / "figures" / f).read_bytes(), f


def test_module_list_follows_files_added_and_removed(tmp_path: Path, monkeypatch) -> None:
    """A new file is seen (under `mkdocs serve`, a newly added figure module), and a
    removed one forgotten. On a copy of the package: another test worker may be reading
    the real one."""
    root = tmp_path / "looking_inside"
    shutil.copytree(sources.ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sources, "ROOT", root)
    before = sources.modules()
    assert "products.figures.cifar" in before
    probe = root / "products" / "figures" / "zz_probe_added.py"
    probe.write_text("X = 1\n")
    assert sources.modules() == sorted([*before, "products.figures.zz_probe_added"])
    probe.unlink()
    assert sources.modules() == before


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
    assert sources.imports_of("m") == {"b", "c", "d", "e", "f"}


# What a statement imports, said twice: by ``ast`` (the reference) and by the scan.
PACKAGE_FILES = ("__init__", "a", "b", "sub/__init__", "sub/x", "sub/y")
IMPORTS = [
    "import looking_inside.{m}", "import os, looking_inside.{m} as alias",
    "from looking_inside import {n}", "from looking_inside import {n} as alias, json",
    "from looking_inside.{m} import thing",
    "from looking_inside.sub import (x,  # why (see f)\n    y as yy,\n)",
    "from looking_inside.sub import x, \\\n    y", "from . import {n}", "from .sub import {n}",
    "from os import path", "import json",
]
WRAPPERS = ["{s}", "if TYPE_CHECKING:\n{i}", "if TYPE_CHECKING:\n    pass\nelse:\n{i}",
            "def f():\n    x = 1\n\n{i}", "try:\n    pass\nexcept ImportError:\n{i}",
            "class K:\n    def h(self):\n        for _ in ():\n{ii}"]


def _ast_imports(source: str, known: set[str]) -> set[str]:
    """The reference: every import statement in the syntax tree, less those under
    ``if TYPE_CHECKING``, resolved as the scan resolves them (a module at the root)."""
    import ast

    found = set()

    def add(name: str) -> None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        found.add(name)  # a name of the package's __init__: the root module, ""

    def visit(nodes: list) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("looking_inside."):
                        add(a.name.partition(".")[2])
            elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "")
                                                       .startswith("looking_inside")):
                base = (node.module or "").partition("looking_inside")[2].lstrip(".") \
                    if not node.level else node.module or ""
                for a in node.names:
                    add(f"{base}.{a.name}" if base else a.name)
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, []))

    visit(ast.parse(source).body)
    return found


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(IMPORTS), st.sampled_from(WRAPPERS),
                          st.sampled_from(["a", "b", "sub", "sub.x"]),
                          st.sampled_from(["a", "b", "sub", "nothing"])), max_size=6))
def test_the_import_scan_agrees_with_the_syntax_tree(tmp_path: Path, monkeypatch,
                                                      statements: list) -> None:
    """Imports in any statement form and any nesting: the scan finds exactly the
    package modules that Python's own parser finds."""
    pkg = tmp_path / "looking_inside"
    for name in PACKAGE_FILES:
        (pkg / f"{name}.py").parent.mkdir(parents=True, exist_ok=True)
        (pkg / f"{name}.py").write_text("")
    chunks = []
    for template, wrapper, m, n in statements:
        lines = template.format(m=m, n=n).splitlines()
        chunks.append(wrapper.format(s="\n".join(lines),
                                     i="\n".join(" " * 4 + ln for ln in lines),
                                     ii="\n".join(" " * 12 + ln for ln in lines)))
    source = "from typing import TYPE_CHECKING\n" + "\n".join(chunks) + "\n"
    (pkg / "m.py").write_text(source)
    monkeypatch.setattr(sources, "ROOT", pkg)
    known = set(sources.modules())
    assert sources.imports_of("m", known) == _ast_imports(source, known) - {"m"}, source


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch, data_root: Path):
    """The package's source copied aside, with keys computed from the copy."""
    from looking_inside.build import Build
    from looking_inside.config import load_settings

    copy = tmp_path / "looking_inside"
    shutil.copytree(sources.ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sources, "ROOT", copy)
    settings = load_settings(data_root=data_root, cache_dir=tmp_path / "cache")

    def keys() -> dict[str, str]:
        b = Build(settings)
        out = {p.name: b.key(p) for p in b.products}
        out.update({f"results {e.name}": b.pipeline.result_key(e)
                    for e in settings.experiments})
        return out

    return copy, keys


def test_a_figure_module_edit_moves_exactly_its_figures_keys(package_copy) -> None:
    """File-level keys: an edit to a figure module (even a comment) re-renders the
    figures drawn there and nothing else; a comment in training code retrains every
    network, and so moves every product that reads a result."""
    from looking_inside.products.figures.registry import FIGURES

    copy, keys = package_copy
    before = keys()
    with (copy / "products" / "figures" / "cifar.py").open("a") as f:
        f.write("# an edit\n")
    after = keys()
    moved = {n for n in before if before[n] != after[n]}
    assert moved == {s.name for s in FIGURES if s.module == "cifar"}

    with (copy / "training" / "trainer.py").open("a") as f:
        f.write("# an edit\n")
    again = keys()
    moved = {n for n in after if after[n] != again[n]}
    readers = {p.name for p in products() if p.experiments}
    assert {n for n in moved if n.startswith("results ")} == \
        {n for n in before if n.startswith("results ")}
    assert {n for n in moved if not n.startswith("results ")} == readers

    # Products that read images move with the code that reads them, trained or not.
    with (copy / "data" / "readers.py").open("a") as f:
        f.write("# an edit\n")
    last = keys()
    image_only = {p.name for p in products() if p.datasets and not p.experiments}
    assert image_only == {"single-layer-network", "two-layer-network", "cifar-samples",
                          "mnist-examples", "train-sample"}
    assert image_only <= {n for n in last if last[n] != again[n]}


def test_a_chapter_edit_moves_no_key(package_copy) -> None:
    """Chapters are not inputs of anything the build makes: a typo fix never retrains
    or re-renders."""
    _, keys = package_copy
    chapter = Path(__file__).resolve().parents[1] / "docs" / "weights.md"
    before = keys()
    text = chapter.read_text(encoding="utf-8")
    try:
        chapter.write_text(text + "\n改了一个错别字。\n", encoding="utf-8")
        assert keys() == before
    finally:
        chapter.write_text(text, encoding="utf-8")


def test_a_helper_edit_moves_the_keys_of_what_imports_it(package_copy) -> None:
    """Display text (``products/labels.py``) is in the key of what shows it, through
    the import graph, and of nothing else."""
    copy, keys = package_copy
    before = keys()
    with (copy / "products" / "labels.py").open("a") as f:
        f.write("# an edit\n")
    after = keys()
    moved = {n for n in before if before[n] != after[n]}
    users = {p.name for p in products()
             if "products.labels" in sources.closure(p.code)}
    assert moved == users
    assert "cifar-samples" in moved and "two-layer-network" not in moved
