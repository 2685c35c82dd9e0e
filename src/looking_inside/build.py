"""Everything the site needs, made or fetched from the cache: figures, facts, exports.

A *product* is one cached unit of output (a figure in both palettes, the facts,
an interactive data export). Its key hashes the keys of the results it reads, the
data it reads, the source of the code that makes it and the library versions, so
an unchanged product is never made again and a changed input always remakes it.

``lookup`` answers from the cache alone (no torch, no matplotlib, no data read):
that is the whole cost of a warm build. ``build`` makes what is missing.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from looking_inside.cache import Cache, hash_json, sha256_bytes, source_hash, versions
from looking_inside.config import EXPERIMENTS, Dataset, Settings, get_experiment
from looking_inside.figures.registry import FIGURES, FigureInputs, FigureSpec
from looking_inside.pipeline import Pipeline

if TYPE_CHECKING:
    from looking_inside.data import Split
    from looking_inside.training import EpochCallback

log = logging.getLogger("mkdocs.plugins.looking_inside.build")

MANIFEST = "manifest.json"
FACTS_FILE = "facts.json"


@dataclass(frozen=True)
class Product:
    kind: str  # "figure", "facts" or "export"
    name: str
    experiments: tuple[str, ...]
    datasets: tuple[Dataset, ...]
    code: tuple[str, ...]  # modules of this package whose source goes into the key
    make: Callable[[FigureInputs], dict[str, bytes]]
    params: Mapping[str, Any] = field(default_factory=dict)  # other inputs to the key


def _figure_product(spec: FigureSpec) -> Product:
    def make(inputs: FigureInputs) -> dict[str, bytes]:
        from looking_inside.figures import style

        render = spec.render_function()
        out = {}
        for theme in style.THEMES:
            style.setup(theme)
            fig = render(inputs, theme)
            out[spec.filename(theme.name)] = style.save(fig, spec.fmt)
        return out

    return Product(
        "figure", spec.name, spec.experiments, spec.datasets,
        code=("analysis", "figures.style", "figures.common", f"figures.{spec.module}"),
        make=make,
        params={"function": spec.function, "fmt": spec.fmt},
    )


def _make_facts(inputs: FigureInputs) -> dict[str, bytes]:
    from looking_inside.facts import compute_facts

    facts = compute_facts(inputs.results)
    return {FACTS_FILE: json.dumps(facts, ensure_ascii=False, indent=1,
                                   sort_keys=True).encode()}


def products() -> list[Product]:
    from looking_inside.exports import EXPORTS

    items = [_figure_product(s) for s in FIGURES]
    items.append(Product("facts", "facts", tuple(e.name for e in EXPERIMENTS), (),
                         code=("facts", "analysis"), make=_make_facts))
    items.extend(EXPORTS)
    return items


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

    def to_json(self) -> dict[str, Any]:
        return {"figures": self.figures, "facts": self.facts, "experiments": self.experiments,
                "exports": self.exports, "versions": self.versions, "data": self.data}

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
        paths = {f: out / f for fig in m["figures"] for f in fig["files"]}
        paths.update({f: out / f for e in m["exports"] for f in e["files"]})
        return cls(m["figures"], m["facts"], m["experiments"], m["exports"], m["versions"],
                   m["data"], paths)


class Builder:
    def __init__(self, settings: Settings, cache: Cache | None = None) -> None:
        self.settings = settings
        self.pipeline = Pipeline(settings, cache)
        self.cache = self.pipeline.cache
        self.made: list[str] = []  # products made (not from the cache) in this run

    def key(self, p: Product) -> str:
        return hash_json({
            "kind": p.kind, "name": p.name, "params": dict(p.params),
            "results": [self.pipeline.result_key(get_experiment(e)) for e in p.experiments],
            "data": [self.pipeline.fingerprint(d) for d in p.datasets],
            "code": source_hash(p.code),
            "libraries": versions("matplotlib", "numpy"),
        })

    def lookup(self) -> Manifest | None:
        """The manifest if every product and result is cached, else None."""
        entries = {}
        for p in products():
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
        from looking_inside.results import Results

        results: dict[str, Results] = {}
        summaries = []
        for exp in self.settings.experiments:
            res = self.pipeline.results(exp, on_epoch)
            results[exp.name] = res
            info = res.info()
            summaries.append(self._summary(exp.name, info,
                                           cache_hit=exp.name in self.pipeline.hits))
        entries = {}
        inputs: FigureInputs | None = None
        for p in products():
            key = self.key(p)
            e = self.cache.get(p.kind, p.name, key)
            if e is None:
                if inputs is None:
                    inputs = self._inputs(results)
                t = time.perf_counter()
                files = p.make(inputs)
                phase = p.kind if p.kind.endswith("s") else f"{p.kind}s"
                self.pipeline.timings.add(phase, time.perf_counter() - t)
                self.made.append(p.name)
                e = self.cache.put(p.kind, p.name, key, files)
                if e is None:  # caching is off: keep the bytes in a scratch folder
                    e = _scratch_entry(p.name, files)
            entries[p.name] = (p, e)
            self.cache.prune(p.kind, p.name, key)
        for exp in self.settings.experiments:
            self.cache.prune("results", exp.name, self.pipeline.result_key(exp))
        return self._manifest(entries, summaries)

    def _inputs(self, results: Mapping[str, Any]) -> FigureInputs:
        # Every product may read any experiment: load what the registry needs.
        needed = {e for p in products() for e in p.experiments}
        res = dict(results)
        for name in needed - set(res):
            res[name] = self.pipeline.results(get_experiment(name))
        datasets = {d for p in products() for d in p.datasets}
        test: dict[str, Split] = {d: self.pipeline.data(d).test for d in sorted(datasets)}
        return FigureInputs(results=res, test=test)

    def _summary(self, name: str, info: Mapping[str, Any], cache_hit: bool) -> dict[str, Any]:
        exp = get_experiment(name)
        return {
            "name": name, "dataset": exp.dataset, "hidden": list(exp.hidden),
            "epochs": exp.epochs, "seed": exp.seed, "batch_size": exp.batch_size,
            "lr": exp.lr, "weight_decay": exp.weight_decay,
            "n_train": info.get("n_train"), "n_test": info.get("n_test"),
            "test_accuracy": info.get("test_accuracy"),
            "train_seconds": info.get("train_seconds"), "device": info.get("device"),
            "cache_hit": cache_hit,
        }

    def _manifest(self, entries: Mapping[str, Any], summaries: list[dict[str, Any]]
                  ) -> Manifest:
        figures, exports, paths = [], [], {}
        facts: dict[str, Any] = {}
        spec_by_name = {s.name: s for s in FIGURES}
        for name, (p, e) in entries.items():
            for f in e.files:
                paths[f] = e.file(f)
            if p.kind == "figure":
                spec = spec_by_name[name]
                figures.append({
                    "name": name, "files": list(e.files),
                    "experiment": spec.experiments[0] if spec.experiments else None,
                    "experiments": list(spec.experiments), "caption": spec.caption,
                    "alt": spec.alt, "format": spec.fmt,
                    "width": _css_width(e.file(e.files[0])),
                    # The stamp's digests: the lookup verified them already.
                    "sha256": {f: e.digests[f] for f in e.files},
                })
            elif p.kind == "facts":
                facts = json.loads(e.file(FACTS_FILE).read_text())
                del paths[FACTS_FILE]
            else:
                exports.append({"name": name, "files": list(e.files)})
        subset = {
            d: (s["n_train"] is not None and s["n_train"] < (60000 if d == "mnist" else 50000))
            for s in summaries for d in [s["dataset"]]
        }
        return Manifest(
            figures=figures, facts=facts, experiments=summaries, exports=exports,
            versions=versions("torch", "torchvision", "numpy", "matplotlib", "mkdocs",
                              "mkdocs-material", "mkdocs-gen-files", "mkdocs-macros-plugin"),
            data={"root": str(self.settings.data_root), "subset": subset},
            paths=paths,
        )


def _css_width(path: Path) -> int:
    """Display width in CSS pixels: PNGs are drawn at 2x, SVG sizes are in points."""
    with path.open("rb") as f:
        head = f.read(600)  # the PNG header or the SVG root element
    if head.startswith(b"\x89PNG"):
        return int.from_bytes(head[16:20], "big") // 2
    m = re.search(rb'width="([0-9.]+)pt"', head)
    return round(float(m.group(1)) * 4 / 3) if m else 0


def _scratch_entry(name: str, files: Mapping[str, bytes]) -> Any:
    import tempfile

    from looking_inside.cache import Entry

    d = Path(tempfile.mkdtemp(prefix=f"looking-inside-{name}-"))
    for f, data in files.items():
        (d / f).write_bytes(data)
    return Entry(path=d, digests={f: sha256_bytes(b) for f, b in files.items()}, info={})
