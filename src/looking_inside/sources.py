"""The package's own source files: what cache keys are derived from.

Keys are derived at file level, never from hand-kept module lists: a result's key
covers every file of its stages' folders, and a product's key covers the files of
its own module and of every package module it imports, directly or through others
(read from the source with ``ast``, so the answer follows the files on disk).
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = "looking_inside"
ROOT = Path(__file__).resolve().parent


def module_path(module: str) -> Path:
    """``products.figures.cifar`` -> its file (a package's ``__init__.py``)."""
    base = ROOT.joinpath(*module.split(".")) if module else ROOT
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def modules() -> list[str]:
    """Every module of the package, as dotted names relative to it ('' is the root)."""
    files = [p.relative_to(ROOT).with_suffix("") for p in ROOT.rglob("*.py")
             if "__pycache__" not in p.parts]
    return sorted(".".join(f.parts[:-1] if f.name == "__init__" else f.parts) for f in files)


def imports_of(module: str, known: set[str] | None = None) -> set[str]:
    """The package modules that ``module`` imports at run time (``TYPE_CHECKING``
    blocks never run, so they cannot change what is made)."""
    known = set(modules()) if known is None else known
    tree = _tree(module_path(module).read_bytes())
    is_package = module_path(module).name == "__init__.py"
    found: set[str] = set()

    def add(name: str) -> None:
        # ``from looking_inside.x import y``: y may be a module or a name in x.
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name in known:
            found.add(name)

    def visit(statements: Iterable[ast.AST]) -> None:
        for node in statements:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == PACKAGE:
                        add(a.name.partition(".")[2])
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = module.split(".") if is_package else module.split(".")[:-1]
                    pkg = pkg[: len(pkg) - node.level + 1]
                    base = ".".join([*pkg, base] if base else pkg)
                elif base.split(".")[0] == PACKAGE:
                    base = base.partition(".")[2]
                else:
                    continue
                for a in node.names:
                    add(f"{base}.{a.name}" if base else a.name)
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, ()))

    visit(tree.body)
    found.discard(module)
    return found


class Imports(dict[str, set[str]]):
    """Module -> the package modules it imports, each file read when first asked for:
    a build reads only the modules its products import."""

    def __init__(self) -> None:
        super().__init__()
        self.known = set(modules())

    def __missing__(self, module: str) -> set[str]:
        found = self[module] = imports_of(module, self.known)
        return found


def closure(roots: Iterable[str], graph: Mapping[str, set[str]] | None = None) -> set[str]:
    """``roots`` and every package module they import, directly or not. ``graph``: an
    ``Imports``, when the caller asks for several closures."""
    graph = Imports() if graph is None else graph
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph[m] - seen)
    return seen


@functools.cache  # by content: a build asks for a module's imports and its functions' lines
def _tree(source: bytes) -> ast.Module:
    return ast.parse(source)


def files_hash(mods: Iterable[str]) -> str:
    """Hash of the bytes of the named modules' files."""
    h = hashlib.sha256()
    for mod in sorted(set(mods)):
        digest = hashlib.sha256(module_path(mod).read_bytes()).hexdigest()
        h.update(f"{mod}\0{digest}\0".encode())
    return h.hexdigest()


def folder_modules(*folders: str) -> list[str]:
    """Every module inside the given sub-packages (``"data"``, ``"training"``)."""
    return [m for m in modules() if m.split(".")[0] in folders]


def function_lines(module: str, function: str) -> tuple[str, int, int]:
    """Where a top-level function of the package is defined: its file relative to the
    project root (posix), and its first and last line, decorators included. Read with
    ``ast``: a warm build must not import the figure modules (and matplotlib)."""
    path = module_path(module)
    for n in _tree(path.read_bytes()).body:
        if isinstance(n, ast.FunctionDef) and n.name == function:
            first = min([n.lineno, *(d.lineno for d in n.decorator_list)])
            return path.relative_to(ROOT.parents[1]).as_posix(), first, n.end_lineno or first
    raise KeyError(f"{module}.{function}")
