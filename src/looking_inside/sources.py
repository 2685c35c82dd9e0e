"""The package's own source files: what cache keys are derived from, at file level and
never from hand-kept module lists. A result's key covers every file of its stages'
folders; a product's, the files of its own module and of every package module it
imports, directly or not (read from the import statements on disk).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
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


# A block under ``if TYPE_CHECKING:`` (the lines after it indented deeper): it never
# runs, so what it imports cannot change what is made.
_TYPE_CHECKING = re.compile(r"^([ \t]*)if\s+(?:typing\.)?TYPE_CHECKING\s*:.*\n"
                            r"(?:[ \t]*\n|\1[ \t]+.*\n)*", re.M)
# An import statement, wherever it is (module level, or inside a function, a class, a
# try): the names may span lines in parentheses (comments in them may hold a ")") or
# after backslashes.
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*"
                     r"(\((?:[^)#]|#.*)*\)|(?:\\\n|.)*)"
                     r"|import[ \t]+((?:\\\n|.)*))", re.M)


def _names(text: str) -> list[str]:
    """``(a, b as c,  # why\n d)`` -> ["a", "b", "d"]."""
    text = re.sub(r"#.*", "", text).translate(str.maketrans("()\\", "   "))
    return [n.split()[0] for n in text.split(",") if n.strip()]


def imports_of(module: str, known: set[str] | None = None) -> set[str]:
    """The package modules that ``module`` imports at run time: a scan of its import
    statements (much cheaper than parsing the whole file, which a warm build would do
    for every module its products import). Text that only looks like an import, in a
    docstring, can only add a module to a key; a docstring line that reads like
    ``if TYPE_CHECKING:`` could hide the lines indented under it, so don't write one.
    ``tests/test_layout.py`` checks the scan against ``ast`` on generated modules."""
    known = set(modules()) if known is None else known
    path = module_path(module)
    source = _TYPE_CHECKING.sub("", path.read_text(encoding="utf-8") + "\n")
    found: set[str] = set()

    def add(name: str) -> None:
        # ``from looking_inside.x import y``: y may be a module or a name in x.
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name in known:
            found.add(name)

    for base, names, plain in _IMPORT.findall(source):
        if not base:  # import looking_inside.x [as y], ...
            for name in _names(plain):
                if name.split(".")[0] == PACKAGE:
                    add(name.partition(".")[2])
            continue
        level = len(base) - len(base.lstrip("."))
        if level:  # relative to this module's package
            pkg = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            pkg = pkg[: len(pkg) - level + 1]
            base = ".".join([*pkg, base[level:]] if base[level:] else pkg)
        elif base.split(".")[0] == PACKAGE:
            base = base.partition(".")[2]
        else:
            continue
        for name in _names(names):
            add(f"{base}.{name}" if base else name)
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


@functools.cache  # by content: a build asks for the lines of several functions of a module
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
