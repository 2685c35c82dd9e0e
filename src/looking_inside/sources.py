"""The package's own source: hashes for cache keys, and its import graph.

Cache keys are derived from the code, never from hand-kept module lists: a result's
key covers its stages' folders, and a product's key covers its own module and every
module of the package it imports, directly or through others (read from the source
with ``ast``, so an edit under ``mkdocs serve`` is seen without re-importing).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PACKAGE = "looking_inside"
ROOT = Path(__file__).resolve().parent


def module_path(module: str) -> Path:
    """``products.figures.cifar`` -> its file (a package's ``__init__.py``)."""
    base = ROOT.joinpath(*module.split(".")) if module else ROOT
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


# The last walk: each folder with its mtime, and the modules found. A module added,
# removed or renamed changes its folder's mtime (a new folder, its parent's), so a few
# stats tell whether to walk again: a build asks for the list once per cache key.
_WALK: tuple[tuple[tuple[Path, int], ...], list[str]] | None = None


def _folder_stamps(folders: Iterable[Path]) -> tuple[tuple[Path, int], ...]:
    return tuple((d, d.stat().st_mtime_ns) for d in folders)


def modules() -> list[str]:
    """Every module of the package, as dotted names relative to it ('' is the root)."""
    global _WALK
    if _WALK is not None and _WALK[0][0][0] == ROOT:
        try:
            if _folder_stamps(d for d, _ in _WALK[0]) == _WALK[0]:
                return list(_WALK[1])
        except OSError:  # a folder went away: walk again
            pass
    folders, out = [], []
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        folders.append(Path(d))
        for f in files:
            if f.endswith(".py"):
                rel = (Path(d) / f).relative_to(ROOT).with_suffix("")
                parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
                out.append(".".join(parts))
    out.sort()
    _WALK = (_folder_stamps(folders), out)
    return list(out)


# path -> ((size, mtime_ns), sha256 of the bytes, syntax tree): one read and one
# parse per file and process, and only for files whose facts (below) are not known.
_TREES: dict[Path, tuple[tuple[int, int], str, ast.Module]] = {}


def _tree(path: Path) -> tuple[tuple[int, int], str, ast.Module]:
    st = path.stat()
    stamp = (st.st_size, st.st_mtime_ns)
    memo = _TREES.get(path)
    if memo is None or memo[0] != stamp:
        source = path.read_bytes()
        memo = _TREES[path] = (stamp, hashlib.sha256(source).hexdigest(),
                               ast.parse(source, str(path)))
    return memo


# path -> ((size, mtime_ns), sha256 of the bytes): under `mkdocs serve` only edited
# files are read again.
_DIGESTS: dict[Path, tuple[tuple[int, int], str]] = {}


def _digest(path: Path) -> str:
    st = path.stat()
    stamp = (st.st_size, st.st_mtime_ns)
    memo = _DIGESTS.get(path)
    if memo is None or memo[0] != stamp:
        memo = _DIGESTS[path] = (stamp, hashlib.sha256(path.read_bytes()).hexdigest())
    return memo[1]


# What parsing a file tells (its imports, the hash of a slice, its functions' lines),
# keyed by the sha256 of the file's bytes and then by the question. Keyed by content,
# never by stat, so this memo can be kept on disk (``use_memo``): a fresh process (the
# `figures` command, the child of every build under serve) then parses only the files
# that changed, instead of ~60 (~0.1 s, and as much again to hash slices).
_FACTS: dict[str, dict[str, Any]] = {}
_MEMO_FILE: Path | None = None
_USED: set[str] = set()  # digests asked for since the memo was read
_LOADED: set[str] = set()  # digests the memo file held
_DIRTY = False


def _fact(path: Path, question: str, valid: Callable[[Any], bool],
          answer: Callable[[ast.Module], Any]) -> Any:
    global _DIRTY
    digest = _digest(path)
    _USED.add(digest)
    known = _FACTS.get(digest)
    if known is not None and question in known and valid(known[question]):
        return known[question]
    _, parsed, tree = _tree(path)  # the bytes may have changed since: file under theirs
    value = answer(tree)
    _FACTS.setdefault(parsed, {})[question] = value
    _USED.add(parsed)
    _DIRTY = True
    return value


def use_memo(file: Path) -> None:
    """Read the facts memo from ``file`` (a cache's); ``save_memo`` writes it back.

    A damaged or foreign file is ignored: the memo only saves time. Each fact is
    checked for its shape when used."""
    global _MEMO_FILE, _DIRTY
    _MEMO_FILE, _DIRTY = file, False
    _USED.clear()
    _LOADED.clear()
    try:
        loaded = json.loads(file.read_text())
    except (OSError, ValueError, RecursionError):
        return
    if isinstance(loaded, dict) and loaded.get("version") == _MEMO_VERSION \
            and isinstance(loaded.get("facts"), dict):
        for digest, facts in loaded["facts"].items():
            if isinstance(facts, dict):
                _FACTS.setdefault(digest, {}).update(facts)
                _LOADED.add(digest)


def save_memo() -> None:
    """Write the facts of the files asked about since ``use_memo`` (the current source,
    so the file stays the size of the package) when the file lacked any."""
    global _DIRTY
    if _MEMO_FILE is None or not (_DIRTY or _USED - _LOADED):
        return
    from looking_inside.cache import atomic_write_text

    facts = {d: _FACTS[d] for d in sorted(_USED) if d in _FACTS}
    with contextlib.suppress(OSError):  # an unwritable cache is reported elsewhere
        atomic_write_text(_MEMO_FILE, json.dumps({"version": _MEMO_VERSION, "facts": facts},
                                                 sort_keys=True))
    _DIRTY = False


_MEMO_VERSION = 1  # of the facts' questions and answers: a change starts a new memo


def _is_names(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_digest(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 64


def _is_spans(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(x, list) and len(x) == 2
        and all(type(i) is int for i in x) for k, x in v.items())


_KNOWN: tuple[frozenset[str], str] | None = None


def _known_hash(known: set[str]) -> str:
    global _KNOWN
    frozen = frozenset(known)
    if _KNOWN is None or _KNOWN[0] != frozen:
        _KNOWN = (frozen, hashlib.sha256("\0".join(sorted(frozen)).encode()).hexdigest()[:16])
    return _KNOWN[1]


# The fields of a statement that hold statements (``handlers`` and ``cases`` hold
# nodes whose ``body`` does).
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _imports(tree: ast.Module, here: str, known: set[str]) -> set[str]:
    """Modules of this package that ``tree`` imports, at run time (``TYPE_CHECKING``
    blocks are skipped: they never run, so they cannot change what is made)."""
    found: set[str] = set()

    def add(name: str) -> None:
        # ``from looking_inside.x import y``: y may be a module or a name in x.
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name in known:
            found.add(name)

    def visit(statements: Iterable[ast.AST]) -> None:
        # Statements only (bodies of modules, functions, classes, ifs, trys, loops,
        # withs): imports cannot hide in expressions, and skipping those walks a
        # tenth of the nodes, which matters on every warm build.
        for child in statements:
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child.orelse)
                continue
            if isinstance(child, ast.Import):
                for a in child.names:
                    if a.name.split(".")[0] == PACKAGE:
                        add(a.name.partition(".")[2])
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative import
                    pkg = here.split(".") if module_path(here).name == "__init__.py" \
                        else here.split(".")[:-1]
                    pkg = pkg[: len(pkg) - child.level + 1]
                    base = ".".join([*pkg, base] if base else pkg)
                elif base.split(".")[0] == PACKAGE:
                    base = base.partition(".")[2]
                else:
                    continue
                for a in child.names:
                    add(f"{base}.{a.name}" if base else a.name)
            for f in _BODIES:
                visit(getattr(child, f, ()))

    visit(tree.body)
    found.discard(here)
    return found


def imports_of(module: str, known: set[str] | None = None) -> frozenset[str]:
    """The package modules ``module`` imports directly."""
    known = set(modules()) if known is None else known
    question = f"imports {module} {_known_hash(known)}"
    return frozenset(_fact(module_path(module), question, _is_names,
                           lambda tree: sorted(_imports(tree, module, known))))


def closure(roots: Iterable[str]) -> set[str]:
    """``roots`` and every package module they import, directly or not."""
    known = set(modules())
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(imports_of(m, known) - seen)
    return seen


def source_hash(mods: Iterable[str]) -> str:
    """Hash of the current on-disk source of the named modules."""
    h = hashlib.sha256()
    for mod in sorted(set(mods)):
        h.update(f"{mod}\0{_digest(module_path(mod))}\0".encode())
    return h.hexdigest()


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def slice_hash(module: str, roots: Iterable[str]) -> str:
    """Hash of the part of ``module`` that its top-level names ``roots`` can reach.

    That part is every top-level statement that is not a definition (imports,
    constants: they run whatever is called), and the functions and classes named from
    the roots or from anything already included, transitively. A figure module draws
    several figures: editing one figure's function then re-renders that figure only.
    The hash is of the syntax tree, so a comment or a blank line moves nothing, while
    any change to what runs does. A name looked up as a string (``getattr``) is not
    followed: such names must be among the roots (the registry's function names are).
    """
    roots = sorted(set(roots))
    return str(_fact(module_path(module), f"slice {' '.join(roots)}", _is_digest,
                     lambda tree: _slice(module, tree, roots)))


def _slice(module: str, tree: ast.Module, roots: list[str]) -> str:
    defs: dict[str, list[ast.stmt]] = {}
    for node in tree.body:
        if isinstance(node, _DEFINITIONS):
            defs.setdefault(node.name, []).append(node)
    keep = {id(n) for n in tree.body if not isinstance(n, _DEFINITIONS)}
    todo = [n for n in tree.body if id(n) in keep]
    missing = [r for r in roots if r not in defs]
    if missing:
        raise KeyError(f"{module}: no top-level definition of {', '.join(sorted(missing))}")
    for r in roots:
        todo.extend(defs[r])
        keep.update(id(n) for n in defs[r])
    while todo:
        for sub in ast.walk(todo.pop()):
            if isinstance(sub, ast.Name) and sub.id in defs:
                for d in defs[sub.id]:
                    if id(d) not in keep:
                        keep.add(id(d))
                        todo.append(d)
    h = hashlib.sha256()
    for node in tree.body:
        if id(node) in keep:
            h.update(ast.dump(node).encode())
            h.update(b"\0")
    return h.hexdigest()


def folder_modules(*folders: str) -> list[str]:
    """Every module inside the given sub-packages (``"data"``, ``"training"``)."""
    return [m for m in modules() if m.split(".")[0] in folders]


def cycles() -> list[list[str]]:
    """Import cycles between the package's modules (strongly connected components)."""
    known = set(modules())
    graph = {m: imports_of(m, known) for m in known}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:  # Tarjan; the graph has ~40 nodes, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in graph:
        if m not in index:
            strong(m)
    return out


def function_lines(module: str, function: str) -> tuple[str, int, int]:
    """Where a top-level function of the package is defined: its file relative to the
    project root (posix) and its first and last line, decorators included.

    Read with ``ast`` rather than ``inspect``: no import (a warm build must not import
    matplotlib), and the answer follows the file on disk under ``mkdocs serve``.
    """
    path = module_path(module)
    # Every function of the file at once: a build asks for each figure's, and a
    # module draws several.
    spans = _fact(path, "lines", _is_spans, lambda tree: {
        n.name: [min([n.lineno, *(d.lineno for d in n.decorator_list)]),
                 n.end_lineno or n.lineno]
        for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)})
    if function not in spans:
        raise KeyError(f"{module}.{function}")
    start, end = spans[function]
    return path.relative_to(ROOT.parents[1]).as_posix(), start, end
