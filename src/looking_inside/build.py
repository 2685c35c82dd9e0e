"""Stage 4, build: every product from the cache or made, and the manifest.

``lookup`` answers from the cache alone (no torch, no matplotlib, no data read):
that is the whole cost of a warm build. ``build`` trains what is missing, then
makes the missing products, in parallel processes when more than one is missing.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from looking_inside import sources
from looking_inside.cache import Cache, Entry, hash_json, sha256_bytes, versions
from looking_inside.config import Experiment, Settings, get_experiment
from looking_inside.data.datasets import spec
from looking_inside.machine import available_cpus
from looking_inside.makers import Maker, can_fork, inputs_of, make_parts, tasks_of
from looking_inside.products.catalog import products, warm_up
from looking_inside.products.figures.registry import FIGURES
from looking_inside.sources import (
    closure,
    function_lines,
    imports_of,
    slice_hash,
    source_hash,
)
from looking_inside.training.pipeline import Pipeline

if TYPE_CHECKING:
    from looking_inside.products.inputs import Product, ProductInputs
    from looking_inside.training.trainer import EpochCallback

log = logging.getLogger("mkdocs.plugins.looking_inside.build")

MANIFEST = "manifest.json"
FACTS_FILE = "facts.json"
# The code that parses the test images a product reads: part of its key, with the
# data's identity (how files are found, downloaded or fingerprinted is not: it
# changes no pixel).
DATA_READER = "data.readers"
# The memo of what the package's source files tell the keys (``sources.use_memo``).
SOURCE_FACTS = "source-facts.json"


@dataclass
class Manifest:
    """What a build produced: metadata plus where each output file lies on disk."""

    figures: list[dict[str, Any]]
    facts: dict[str, Any]
    experiments: list[dict[str, Any]]
    exports: list[dict[str, Any]]
    versions: dict[str, str]
    data: dict[str, Any]
    paths: dict[str, Path]  # output file name -> file on disk
    repaired: int = 0  # damaged cache entries found and rebuilt by this build

    def to_json(self) -> dict[str, Any]:
        return {"figures": self.figures, "facts": self.facts, "experiments": self.experiments,
                "exports": self.exports, "versions": self.versions, "data": self.data,
                "repaired": self.repaired}

    def write(self, out: Path) -> None:
        """Copy every output file into ``out`` and write ``out/manifest.json``."""
        from looking_inside.cache import atomic_write_bytes, atomic_write_text

        out.mkdir(parents=True, exist_ok=True)
        for name, src in sorted(self.paths.items()):
            atomic_write_bytes(out / name, src.read_bytes())
        atomic_write_text(out / MANIFEST, json.dumps(self.to_json(), ensure_ascii=False,
                                                     indent=1, sort_keys=True))

    @classmethod
    def read(cls, out: Path) -> Manifest:
        m = json.loads((out / MANIFEST).read_text())
        paths = {f: out / f for fig in m["figures"] for f in [*fig["files"], fig["data"]]}
        paths.update({f: out / f for e in m["exports"] for f in e["files"]})
        return cls(m["figures"], m["facts"], m["experiments"], m["exports"], m["versions"],
                   m["data"], paths, int(m.get("repaired", 0)))


class Builder:
    """Use as a context manager: outputs made without a cache live in a scratch
    folder that is removed on leaving, whatever happened."""

    def __init__(self, settings: Settings, cache: Cache | None = None, *,
                 maker: Maker | None = None) -> None:
        """``maker``: a process forked at the start that has loaded the makers' code
        meanwhile (``makers.for_products``); it makes what is missing, unless the
        build trains first. The builder closes it."""
        self.settings = settings
        self.pipeline = Pipeline(settings, cache)
        self.cache = self.pipeline.cache
        self.made: list[str] = []  # products made (not from the cache) in this run
        self.made_early: list[str] = []  # parts of them made while networks trained
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._products: list[Product] | None = None
        self._keys: dict[int, tuple[Product, str]] = {}
        self._maker = maker
        # Parts of products started while the networks trained, by (name, part): each
        # in a process of its own (``_make_while_training``).
        self._early: dict[tuple[str, str | None], Maker] = {}
        if self.cache.enabled:
            sources.use_memo(self.cache.root / SOURCE_FACTS)

    def __enter__(self) -> Builder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop_maker()
        for maker in self._early.values():
            maker.close()
        self._early.clear()
        sources.save_memo()
        self.cache.close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def products(self) -> list[Product]:
        """The product list, made once per builder (it stats the font files)."""
        if self._products is None:
            self._products = products()
        return self._products

    def key(self, p: Product) -> str:
        # Memoised per product object (a build asks for each key several times); the
        # memo holds the product, so its id cannot be reused by another.
        memo = self._keys.get(id(p))
        if memo is None or memo[0] is not p:
            memo = self._keys[id(p)] = (p, self._key(p))
        return memo[1]

    def _key(self, p: Product) -> str:
        code = closure({p.module, *p.code} | ({DATA_READER} if p.datasets else set()))
        # Only the part of its own module that the product's entry points reach, unless
        # another module of its code imports that module (and might call the rest).
        sliced = bool(p.entry) and not any(p.module in imports_of(m) for m in code)
        return hash_json({
            "kind": p.kind, "name": p.name, "params": dict(p.params),
            "results": [self.pipeline.result_key(get_experiment(e)) for e in p.experiments],
            "data": [self.pipeline.fingerprint(d) for d in p.datasets],
            "code": source_hash(code - {p.module} if sliced else code),
            "entry": slice_hash(p.module, p.entry) if sliced else None,
        })

    def lookup(self) -> Manifest | None:
        """The manifest if every product and result is cached, else None."""
        entries = {}
        for p in self.products():
            e = self.cache.get(p.kind, p.name, self.key(p))
            if e is None:
                return None
            entries[p.name] = (p, e)
        summaries = []
        for exp in self.settings.experiments:
            e = self.pipeline.lookup(exp)
            if e is None:
                return None
            summaries.append(self._summary(exp.name, dict(e.info), cache_hit=True))
        return self._manifest(entries, summaries)

    def build(self, on_epoch: EpochCallback | None = None) -> Manifest:
        """Make whatever is missing; returns the full manifest."""
        t = time.perf_counter()
        untrained = [e for e in self.settings.experiments if self.pipeline.lookup(e) is None]
        if untrained:
            # The maker was forked before training: it would not see a cache diverted
            # meanwhile; this process loads the makers' code while they train instead.
            self._stop_maker()
        if untrained and "torch" not in sys.modules and self.cache.writable():
            self._train_in_child(untrained)
            self.pipeline.timings.add("train (child)", time.perf_counter() - t)
        summaries = []
        for exp in self.settings.experiments:
            # A cached result's summary is in its (validated) entry: its arrays are
            # loaded only if a missing product reads them (a figure edit loads one
            # result, not two dozen).
            entry = self.pipeline.lookup(exp)
            if entry is not None:
                summaries.append(self._summary(exp.name, dict(entry.info),
                                               cache_hit=exp not in untrained))
                continue
            res = self.pipeline.results(exp, on_epoch)
            hit = exp.name in self.pipeline.hits and exp not in untrained
            summaries.append(self._summary(exp.name, res.info(), cache_hit=hit))
        entries: dict[str, tuple[Product, Entry]] = {}
        missing: list[tuple[Product, str]] = []
        for p in self.products():
            key = self.key(p)
            e = self.cache.get(p.kind, p.name, key)
            if e is None:
                missing.append((p, key))
            else:
                entries[p.name] = (p, e)
        t = time.perf_counter()
        for p, key, files in self._make(missing):
            self.made.append(p.name)
            e = self.cache.put(p.kind, p.name, key, files)
            entries[p.name] = (p, e if e is not None else self._scratch_entry(p.name, files))
        if missing:
            self.pipeline.timings.add("figures + facts", time.perf_counter() - t)
        for p in self.products():
            self.cache.prune(p.kind, p.name, self.key(p))
        for exp in self.settings.experiments:
            self.cache.prune("results", exp.name, self.pipeline.result_key(exp))
        order = {p.name: i for i, p in enumerate(self.products())}
        return self._manifest(dict(sorted(entries.items(), key=lambda kv: order[kv[0]])),
                              summaries)

    def _train_in_child(self, experiments: list[Experiment]) -> None:
        """Train in child processes that store the results in the cache.

        This process then never imports torch, so it can make products in forked
        workers that start in milliseconds instead of spawning fresh interpreters;
        and torch's thread pools never share a process with the renderers.
        """
        from looking_inside.training.workers import train_in_workers

        # This process would only wait while they train: meanwhile it imports what the
        # makers need (matplotlib, ~0.5 s), off the critical path (after the children
        # have started: a fork while importing in a thread could deadlock them); then
        # it makes what it can on the CPUs they leave idle.
        def meanwhile(running: Callable[[], int]) -> None:
            warm_up(self.products(), quiet=True)
            self._make_while_training(experiments, running)

        train_in_workers(self.settings, experiments, self.cache.write_root,
                         verbose=log.getEffectiveLevel() <= logging.INFO, meanwhile=meanwhile)

    def _make_while_training(self, training: list[Experiment],
                             running: Callable[[], int]) -> None:
        """Start making, one part per idle CPU, the missing products whose results are
        all in, whenever fewer trainers run than there are CPUs: the trainers' shares
        never end at the same moment, and a build that trains one network leaves the
        other CPUs idle from the start. Each part is made in a process forked off this
        one (``makers.Maker``), so that the phase after training, which spreads what
        is left over every CPU, starts the moment the last trainer stops."""
        missing = [p for p in self.products()
                   if self.cache.get(p.kind, p.name, self.key(p)) is None]
        todo = [(p, part, {get_experiment(e) for e in p.experiments})
                for p, part in tasks_of(missing)]
        cpus = available_cpus()
        pending = set(training)
        # (Asked on every turn: torch is loaded here only if a cached result was found
        # unreadable while loading inputs, and retrained here.)
        while todo and can_fork():
            trainers = running()
            if not trainers:
                return
            busy = sum(not m.done() for m in self._early.values())
            ready = None
            if trainers + busy < cpus:
                pending = {e for e in pending if self.pipeline.lookup(e) is None}
                ready = next((t for t in todo if not t[2] & pending), None)
            if ready is None:
                time.sleep(0.05)
                continue
            todo.remove(ready)
            p, part, _ = ready
            try:
                inputs = self.inputs(p)  # loaded here, inherited by the fork
                # (The child is forked at once: it sees this turn's p, part and inputs.)
                maker = Maker(lambda: None, lambda _: p.make(inputs, part))  # noqa: B023
                maker.send(None)
            except Exception:  # noqa: BLE001 - made again after training, which reports it
                continue
            self._early[(p.name, part)] = maker

    def _stop_maker(self) -> None:
        if self._maker is not None:
            self._maker.close()
            self._maker = None

    def _make(self, missing: list[tuple[Product, str]]) -> list[tuple[Product, str, Any]]:
        """Make the missing products: by the maker when there is one, else here.
        (An unused maker is stopped with the builder.)"""
        if missing and self._maker is not None:
            maker, self._maker = self._maker, None
            # Its inputs are loaded here meanwhile (the maker may still be importing).
            files = maker.make({p.name: self.inputs(p) for p, _ in missing})
        else:
            files = self.make_files([p for p, _ in missing])
        return [(p, k, files[p.name]) for p, k in missing]

    def make_files(self, missing: list[Product]) -> dict[str, dict[str, bytes]]:
        """Make products, spread over the CPUs, a product's parts (palettes) as
        separate tasks; and collect the parts started while the networks trained."""
        tasks = tasks_of(missing)
        # (Workers that start afresh may read the results from the cache, unless it is
        # a temporary one, this process's alone.)
        files = make_parts(self.settings,
                           [(p, part) for p, part in tasks if (p.name, part) not in self._early],
                           self.inputs, from_cache=self.cache.enabled and not self.cache.diverted)
        for p, part in tasks:
            maker = self._early.pop((p.name, part), None)
            if maker is None:
                continue
            try:
                made = maker.result()
                self.made_early.append(p.name + (f" ({part})" if part else ""))
            except Exception:  # noqa: BLE001 - made again here, which raises a fault
                made = p.make(self.inputs(p), part)
            files.setdefault(p.name, {}).update(made)
        if self.made_early:
            log.info("made while the networks trained: %s", ", ".join(self.made_early))
        return files

    def inputs(self, p: Product) -> ProductInputs:
        return inputs_of(self.pipeline, p)

    def _summary(self, name: str, info: Mapping[str, Any], cache_hit: bool) -> dict[str, Any]:
        exp = get_experiment(name)
        return {
            "name": name, "dataset": exp.dataset, "hidden": list(exp.hidden),
            "inputs": exp.n_inputs, "epochs": exp.epochs, "seed": exp.seed,
            "batch_size": exp.batch_size, "lr": exp.lr, "weight_decay": exp.weight_decay,
            "optimizer": exp.optimizer,
            "n_train": info.get("n_train"), "n_test": info.get("n_test"),
            "test_accuracy": info.get("test_accuracy"),
            "train_accuracy": info.get("train_accuracy"), "conv": list(exp.conv),
            "parameters": exp.n_parameters,
            "train_seconds": info.get("train_seconds"), "device": info.get("device"),
            "cache_hit": cache_hit,
        }

    def _manifest(self, entries: Mapping[str, tuple[Product, Entry]],
                  summaries: list[dict[str, Any]]) -> Manifest:
        figures, exports, paths = [], [], {}
        facts: dict[str, Any] = {}
        spec_by_name = {s.name: s for s in FIGURES}
        for name, (p, e) in entries.items():
            for f in e.files:
                paths[f] = e.file(f)
            if p.kind == "figure":
                fs = spec_by_name[name]
                images = [f for f in e.files if f != fs.data_filename()]
                path, first, last = function_lines(p.module, fs.function)
                figures.append({
                    "name": name, "files": images, "data": fs.data_filename(),
                    # The drawing function, for the figure's code link.
                    "code": {"path": path, "lines": [first, last], "function": fs.function},
                    "experiment": fs.experiments[0] if fs.experiments else None,
                    "experiments": list(fs.experiments), "caption": fs.caption,
                    "alt": fs.alt,
                    "width": _css_width(e.file(images[0])),
                    # The stamp's digests: the lookup verified them already.
                    "sha256": {f: e.digests[f] for f in images},
                })
            elif p.kind == "facts":
                facts = json.loads(e.file(FACTS_FILE).read_text())
                del paths[FACTS_FILE]
            else:
                exports.append({"name": name, "files": list(e.files)})
        subset = {s["dataset"]: s["n_train"] is not None
                  and s["n_train"] < spec(s["dataset"]).full_train for s in summaries}
        return Manifest(
            figures=figures, facts=facts, experiments=summaries, exports=exports,
            versions=versions("torch", "torchvision", "numpy", "matplotlib", "pillow",
                              "mkdocs", "mkdocs-material", "mkdocs-gen-files",
                              "mkdocs-macros-plugin"),
            # No local paths: the manifest is published with the site.
            data={"subset": subset},
            paths=paths, repaired=self.cache.stats["corrupt"],
        )

    def _scratch_entry(self, name: str, files: Mapping[str, bytes]) -> Entry:
        """Outputs kept outside the cache (it is not writable), until ``close``."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="looking-inside-")
        d = Path(self._scratch.name) / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        for f, data in files.items():
            (d / f).write_bytes(data)
        return Entry(path=d, digests={f: sha256_bytes(b) for f, b in files.items()}, info={})


def _css_width(path: Path) -> int:
    """Display width in CSS pixels, from the SVG's width in points."""
    with path.open("rb") as f:
        head = f.read(600)  # the SVG root element
    m = re.search(rb'width="([0-9.]+)pt"', head)
    return round(float(m.group(1)) * 4 / 3) if m else 0
