"""Stage 4, build: every product from the cache or made, written into one folder.

``generate`` is the whole build, one process boundary wide: missing networks train in
worker processes (one per CPU, ``machine.train_in_workers``), missing products are made
in one pool, and everything lands in a plain folder laid out as the site publishes it:
``figures/``, ``assets/data/`` and the manifest. A warm build is a cache lookup: it
imports neither torch nor matplotlib, and reads no data.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from looking_inside.cache import Cache, Entry, atomic_write_bytes, hash_json, versions
from looking_inside.config import Experiment, Settings, get_experiment
from looking_inside.data.datasets import Dataset, spec
from looking_inside.errors import BuildError
from looking_inside.machine import available_cpus, die_with_parent, train_in_workers
from looking_inside.manifest import DATA_DIR, FIGURE_DIR, MANIFEST, Manifest
from looking_inside.products.catalog import FACTS_FILE, products
from looking_inside.products.figures.registry import get_figure
from looking_inside.products.inputs import Declared, ProductInputs
from looking_inside.sources import Imports, closure, files_hash, folder_modules, function_lines
from looking_inside.training.pipeline import Pipeline

if TYPE_CHECKING:
    from looking_inside.data.readers import Split
    from looking_inside.products.inputs import Product
    from looking_inside.training.results import Results

def check_files(p: Product, files: Mapping[str, str]) -> None:
    """A check for ``Cache.get``: an entry holds exactly the files of its kind, each
    named after its product, so no entry can publish a page or shadow another's file."""
    if p.kind == "figure":
        s = get_figure(p.name)
        ok = set(files) == {*s.images(), s.data_filename()}
    elif p.kind == "facts":
        ok = set(files) == {FACTS_FILE}
    else:
        name = re.escape(p.name) + r"(-[a-z0-9]+)*\.(json|png|jpg|bin)"
        ok = all(re.fullmatch(name, f) for f in files)
    if not ok:
        raise ValueError(f"files {sorted(files)} are not those of a {p.kind}")


class Build:
    """One run of ``generate``: the cache, the keys, and what was trained and made."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache = Cache(settings.cache_dir)
        self.pipeline = Pipeline(settings, self.cache)
        self.graph = Imports()
        self.data_modules = set(folder_modules("data"))
        self.products = products()
        self._digests: dict[str, str] = {}  # module -> its file's hash
        self.trained: set[str] = set()

    def key(self, p: Product) -> str:
        """The hash of everything that goes into ``p``: the files of its modules and of
        every package module they import, the results and data it reads, its params."""
        code = closure(p.code, self.graph)
        if p.datasets:  # it reads images: the code that reads them too
            code |= self.data_modules
        for m in code - set(self._digests):
            self._digests[m] = files_hash([m])
        return hash_json({
            "kind": p.kind, "name": p.name, "params": dict(p.params),
            "results": [self.pipeline.result_key(get_experiment(e)) for e in p.experiments],
            "data": [self.pipeline.fingerprint(d) for d in p.datasets],
            "code": {m: self._digests[m] for m in sorted(code)},
        })

    def run(self, out: Path) -> Manifest:
        """Train and make what is missing; write every file and the manifest to ``out``."""
        try:  # first: a build that cannot publish must not train
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BuildError(f"{out}: cannot write the generated files there ({exc}); fix: "
                             "make the folder writable, or set LOOKING_INSIDE_CACHE to a "
                             "writable folder (the default output folder is inside it)") from exc
        if any(out.iterdir()) and not (out / MANIFEST).is_file():
            raise BuildError(f"{out}: not empty, and not a folder this command made; "
                             "fix: give --out an empty or new folder")
        self._train([e for e in self.settings.experiments if self.pipeline.lookup(e) is None])
        keys = {p.name: self.key(p) for p in self.products}
        entries: dict[str, Entry] = {}
        for p in self.products:
            e = self.cache.get(p.kind, p.name, keys[p.name], functools.partial(check_files, p))
            if e is not None:
                entries[p.name] = e
        missing = [p for p in self.products if p.name not in entries]
        for p, files in self._make(missing):
            entries[p.name] = self.cache.put(p.kind, p.name, keys[p.name], files)
        for p in self.products:
            self.cache.prune(p.kind, p.name, keys[p.name])
        for exp in self.settings.experiments:
            self.cache.prune("results", exp.name, self.pipeline.result_key(exp))
        manifest = self._manifest(entries)
        manifest.made = [p.name for p in missing]
        folder = {"figure": FIGURE_DIR, "export": DATA_DIR}  # facts: in the manifest
        _publish(out, {f"{folder[p.kind]}/{f}": entries[p.name].path / f
                       for p in self.products if p.kind in folder
                       for f in entries[p.name].digests}, manifest)
        return manifest

    def _train(self, experiments: list[Experiment]) -> None:
        if not experiments:
            return
        self.cache.check_writable()
        self.trained.update(e.name for e in experiments)
        train_in_workers(self.settings, experiments)

    def _check_results(self, names: set[str]) -> dict[str, Path]:
        """Where the named results lie, each loaded once to check it; a damaged entry
        is retrained once."""
        paths: dict[str, Path] = {}
        for attempt in range(2):
            damaged = []
            for exp in map(get_experiment, sorted(names - set(paths))):
                entry = self.pipeline.lookup(exp, whole=True)
                try:
                    if entry is None:
                        raise ValueError("missing after training")
                    _results(entry.path, exp.name)
                    paths[exp.name] = entry.path
                except ValueError as exc:
                    if attempt:
                        raise BuildError(f"{exp.name}: its trained results cannot be read "
                                         f"({exc}); delete {self.cache.root} and build "
                                         "again") from exc
                    _results.cache_clear()
                    self.pipeline.forget(exp, str(exc))
                    damaged.append(exp)
            self._train(damaged)
        return paths

    def _make(self, missing: list[Product]) -> list[tuple[Product, dict[str, bytes]]]:
        """Make the missing products, the costliest first, in one pool of processes (one
        per CPU; here when one is missing), each loading its inputs from the cache."""
        if not missing:  # a warm build: no results to check, no CPUs to count
            return []
        paths = self._check_results({e for p in missing for e in p.experiments})
        todo = sorted(missing, key=lambda p: -len(p.experiments))
        if any(p.kind == "figure" for p in todo):
            from looking_inside.products.figures import style

            style.warm()  # once here, before the workers are forked: they inherit it
        args = [(self.settings, p.name, {e: paths[e] for e in p.experiments}) for p in todo]
        workers = min(available_cpus(), len(todo))
        if workers <= 1:
            return [(p, make_product(*a)) for p, a in zip(todo, args, strict=True)]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                                 initializer=die_with_parent) as pool:
            futures = [pool.submit(make_product, *a) for a in args]
            return [(p, f.result()) for p, f in zip(todo, futures, strict=True)]

    def _manifest(self, entries: Mapping[str, Entry]) -> Manifest:
        figures, exports = [], []
        facts: dict[str, Any] = {}
        for p in self.products:
            e = entries[p.name]
            if p.kind == "figure":
                fs = get_figure(p.name)
                images = fs.images()  # light, dark; then the phone layout's, if it has one
                path, first, last = function_lines(p.module, fs.function)
                figures.append({
                    "name": p.name, "files": images[:2], "data": fs.data_filename(),
                    "narrow": {"files": images[2:], "width": _css_width(e.path / images[2])}
                    if fs.narrow else None,
                    # The drawing function, for the figure's code link.
                    "code": {"path": path, "lines": [first, last], "function": fs.function},
                    "experiments": list(fs.experiments), "caption": fs.caption,
                    "alt": fs.alt, "width": _css_width(e.path / images[0]),
                    "sha256": {f: e.digests[f] for f in images},
                })
            elif p.kind == "facts":
                facts = json.loads((e.path / FACTS_FILE).read_text(encoding="utf-8"))
            else:
                exports.append({"name": p.name, "files": sorted(e.digests)})
        summaries = [{**self.pipeline.summary(exp), "cache_hit": exp.name not in self.trained}
                     for exp in self.settings.experiments]
        subset = {s["dataset"]: s["n_train"] < spec(s["dataset"]).full_train
                  for s in summaries}
        return Manifest(
            figures=figures, facts=facts, experiments=summaries, exports=exports,
            versions=versions("torch", "torchvision", "numpy", "matplotlib", "pillow",
                              "mkdocs", "mkdocs-material", "mkdocs-gen-files",
                              "mkdocs-macros-plugin"),
            # No local paths: the manifest is published with the site.
            data={"subset": subset}, repaired=self.cache.repaired)


def make_product(settings: Settings, name: str, results: Mapping[str, Path]
                 ) -> dict[str, bytes]:
    """Make one product from its declared inputs, each read through ``Declared``: the
    results at ``results`` (by experiment), and the images of its data sets."""
    p = next(p for p in products() if p.name == name)
    loaded = {e: _results(path, e) for e, path in results.items()}
    test: dict[str, Split] = {d: _split(settings, d, "test") for d in p.datasets}
    train: dict[str, Split] = {d: _split(settings, d, "train") for d in p.datasets if p.reads_train}
    return p.make(ProductInputs(Declared(name, "experiment", loaded),
                                Declared(name, "data set", test),
                                Declared(name, "data set", train)))


@functools.cache
def _results(path: Path, name: str) -> Results:
    from looking_inside.training.results import Results

    return Results.from_folder(path, get_experiment(name))


@functools.cache
def _split(settings: Settings, dataset: Dataset, which: str) -> Split:
    """One split of a data set: only its files are read (the product's key holds the
    whole data set's fingerprint, taken before this reads)."""
    from looking_inside.data.load import ensure_files
    from looking_inside.data.readers import read_splits

    ensure_files(settings, dataset)
    (split,) = read_splits(settings.data_root, spec(dataset), (which,))
    return split


def generate(settings: Settings, out: Path) -> Manifest:
    """Train and make whatever is missing, and write the site's generated files."""
    # One BLAS thread per process, set before numpy loads (nothing before this point
    # imports it): the pool already has a worker per CPU, BLAS threads on top of it spin
    # against each other, and a sum's rounding then depends on the thread count, so
    # figures drawn from floating-point projections would differ between machines.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    return Build(settings).run(out)


def _publish(out: Path, files: Mapping[str, Path], manifest: Manifest) -> None:
    """Make ``out`` hold exactly ``files`` and the manifest: a file whose bytes are
    unchanged is left alone (``mkdocs serve`` sees no change), and anything no product
    lists any more is removed. The manifest goes last."""
    keep = {*files, MANIFEST}
    for path in sorted(out.rglob("*"), reverse=True):
        rel = path.relative_to(out).as_posix()
        if path.is_symlink() or (path.is_file() and rel not in keep):
            path.unlink()
        elif path.is_dir() and (rel in keep or not any(path.iterdir())):
            shutil.rmtree(path)
    for rel, src in sorted(files.items()):
        data = src.read_bytes()
        dest = out / rel
        if not (dest.is_file() and dest.read_bytes() == data):
            atomic_write_bytes(dest, data)
    text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1, sort_keys=True)
    atomic_write_bytes(out / MANIFEST, text.encode("utf-8"))


def _css_width(path: Path) -> int:
    """Display width in CSS pixels, from the SVG's width in points."""
    with path.open("rb") as f:
        m = re.search(rb'width="([0-9.]+)pt"', f.read(600))  # in the SVG root element
    return round(float(m.group(1)) * 4 / 3) if m else 0
