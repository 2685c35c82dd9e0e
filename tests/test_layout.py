"""The package's shape: no import cycles, stages that only look downstream, keys that
cover what each product imports, and rendering that never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    monkeypatch.setattr(sources, "_MEMO", {})
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
    monkeypatch.setattr(sources, "_MEMO", {})
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
