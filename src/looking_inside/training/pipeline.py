"""Cache keys and get-or-train for experiments.

Computing a key never imports torch or numpy and never reads the data, so a warm
build only stats files and hashes a few kilobytes of source.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from looking_inside.cache import REPAIRED, Cache, Entry, hash_json, versions
from looking_inside.config import Dataset, Experiment, Settings
from looking_inside.data.files import fingerprint
from looking_inside.sources import files_hash, folder_modules

if TYPE_CHECKING:
    from looking_inside.data.load import DataBundle
    from looking_inside.data.readers import Split
    from looking_inside.training.results import Results
    from looking_inside.training.trainer import EpochCallback

log = logging.getLogger("mkdocs.plugins.looking_inside.pipeline")

# The stages whose code produces a result: editing anything in them retrains.
# Display text lives in products/ and never touches these keys.
STAGES = ("data", "training")


def device_kind(settings: Settings) -> str:
    """The device a result will be trained on, guessed without importing torch."""
    if settings.device != "auto":
        return settings.device
    return "cuda" if Path("/dev/nvidiactl").exists() else "cpu"


@dataclass
class Timings:
    """Seconds per phase, reported once at the end of a build."""

    phases: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds


class Pipeline:
    """Results for experiments: from the cache, or trained and stored."""

    def __init__(self, settings: Settings, cache: Cache | None = None) -> None:
        self.settings = settings
        self.cache = cache or Cache(settings.cache_dir)
        self.timings = Timings()
        self._data: dict[str, DataBundle] = {}
        self._tests: dict[str, Split] = {}  # test splits loaded alone (``test``)
        # Memos keyed by the whole (frozen) experiment, not its name: two variants
        # of one experiment are different inputs.
        self._results: dict[Experiment, Results] = {}
        self._keys: dict[Experiment, str] = {}
        self._fingerprints: dict[str, str] = {}
        # Entries found whole once (every file hashed against its stamp): a build asks
        # for each several times, and results are most of the cache's bytes (~50 MB on
        # the subsets). Misses are not remembered: trainers may fill them meanwhile.
        self._entries: dict[Experiment, Entry] = {}
        self.hits: set[str] = set()  # experiments served from the cache

    def fingerprint(self, dataset: Dataset) -> str:
        if dataset not in self._fingerprints:
            self._fingerprints[dataset] = fingerprint(self.settings, dataset)
        return self._fingerprints[dataset]

    def result_key(self, exp: Experiment) -> str:
        if exp not in self._keys:
            self._keys[exp] = hash_json({
                "kind": "results",
                "experiment": exp.as_dict(),
                "code": files_hash(folder_modules(*STAGES)),
                "data": self.fingerprint(exp.dataset),
                "libraries": versions("torch", "numpy"),
                "device": device_kind(self.settings),
            })
        return self._keys[exp]

    def lookup(self, exp: Experiment) -> Entry | None:
        entry = self._entries.get(exp)
        if entry is None:
            entry = self.cache.get("results", exp.name, self.result_key(exp))
            if entry is not None:
                self._entries[exp] = entry
        return entry

    def forget(self, exp: Experiment, why: str) -> None:
        """Discard ``exp``'s entry, found damaged while loading it: it is retrained."""
        entry = self.lookup(exp)
        self._entries.pop(exp, None)
        if entry is not None:
            self.cache.stats["corrupt"] += 1
            log.log(REPAIRED, "cache entry %s could not be loaded (%s); retraining",
                    entry.path, why)
            self.cache.discard(entry.path)

    def summary(self, exp: Experiment) -> dict[str, Any]:
        """What the how-built page shows of a trained experiment: its settings, and
        what its (validated) entry records."""
        entry = self.lookup(exp)
        info = dict(entry.info) if entry is not None else {}
        return {
            "name": exp.name, "dataset": exp.dataset, "hidden": list(exp.hidden),
            "inputs": exp.n_inputs, "epochs": exp.epochs, "seed": exp.seed,
            "batch_size": exp.batch_size, "lr": exp.lr, "weight_decay": exp.weight_decay,
            "optimizer": exp.optimizer, "conv": list(exp.conv),
            "parameters": exp.n_parameters,
            **{k: info.get(k) for k in ("n_train", "n_test", "test_accuracy",
                                        "train_accuracy", "train_seconds", "device")},
        }

    def data(self, dataset: Dataset) -> DataBundle:
        if dataset not in self._data:
            from looking_inside.data.load import load

            t = time.perf_counter()
            self._data[dataset] = load(self.settings, dataset)
            self.timings.add(f"load {dataset}", time.perf_counter() - t)
        return self._data[dataset]

    def test(self, dataset: Dataset) -> Split:
        """The test split: from the whole data set when it is loaded, else alone."""
        if dataset in self._data:
            return self._data[dataset].test
        if dataset not in self._tests:
            from looking_inside.data.load import load_test

            t = time.perf_counter()
            self._tests[dataset] = load_test(self.settings, dataset)
            self.timings.add(f"load {dataset} test", time.perf_counter() - t)
        return self._tests[dataset]

    def results(self, exp: Experiment, on_epoch: EpochCallback | None = None) -> Results:
        """Cached results of ``exp``, training it first when the cache has none."""
        if exp in self._results:
            return self._results[exp]
        from looking_inside.training.results import Results

        entry = self.lookup(exp)
        res: Results | None = None
        if entry is not None:
            try:
                res = Results.from_folder(entry.path, exp)
                self.hits.add(exp.name)
            except ValueError as exc:
                self.cache.stats["corrupt"] += 1
                log.log(REPAIRED, "cache entry %s could not be loaded (%s); retraining",
                        entry.path, exc)
                self.cache.discard(entry.path)
                self._entries.pop(exp, None)
        if res is None:
            res = self._train(exp, on_epoch)
        self._results[exp] = res
        return res

    def _train(self, exp: Experiment, on_epoch: EpochCallback | None) -> Results:
        from looking_inside.training.trainer import resolve_device, train

        bundle = self.data(exp.dataset)
        device = resolve_device(self.settings.device)
        log.info("%s: training on %s (%d epochs, %d images)", exp.name, device.type,
                 exp.epochs, len(bundle.train))
        t = time.perf_counter()
        res = train(exp, bundle, device, on_epoch)
        self.timings.add(f"train {exp.name}", time.perf_counter() - t)
        log.info("%s: test accuracy %.4f in %.1f s", exp.name, res.test_accuracy,
                 res.train_seconds)
        self.cache.put("results", exp.name, self.result_key(exp), res.to_files(),
                       info=res.info())
        return res
