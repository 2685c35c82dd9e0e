"""Cache keys and get-or-train for experiments.

Computing a key never imports torch or numpy and never reads the data, so a warm
build only stats files and hashes a few kilobytes of source.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from looking_inside.cache import Cache, Entry, hash_json, versions
from looking_inside.config import Dataset, Experiment, Settings
from looking_inside.data.files import fingerprint
from looking_inside.sources import files_hash, folder_modules
from looking_inside.training.results import META, read_info

if TYPE_CHECKING:
    from looking_inside.data.load import DataBundle
    from looking_inside.training.results import Results

log = logging.getLogger("mkdocs.plugins.looking_inside.pipeline")

# The stages whose code produces a result: editing anything in them retrains.
# Display text lives in products/ and never touches these keys.
STAGES = ("data", "training")


def device_kind(settings: Settings) -> str:
    """The device a result will be trained on, guessed without importing torch."""
    if settings.device != "auto":
        return settings.device
    return "cuda" if Path("/dev/nvidiactl").exists() else "cpu"


class Pipeline:
    """Results for experiments: their keys and cache entries, loaded or trained."""

    def __init__(self, settings: Settings, cache: Cache | None = None) -> None:
        self.settings = settings
        self.cache = cache or Cache(settings.cache_dir)
        self._data: dict[str, DataBundle] = {}
        # Keyed by the whole (frozen) experiment, not its name: two variants of one
        # experiment are different inputs.
        self._keys: dict[Experiment, str] = {}
        self._fingerprints: dict[str, str] = {}
        self._code: str | None = None  # the hash of the files of STAGES

    def fingerprint(self, dataset: Dataset) -> str:
        if dataset not in self._fingerprints:
            self._fingerprints[dataset] = fingerprint(self.settings, dataset)
        return self._fingerprints[dataset]

    def result_key(self, exp: Experiment) -> str:
        if self._code is None:
            self._code = files_hash(folder_modules(*STAGES))
        if exp not in self._keys:
            self._keys[exp] = hash_json({
                "kind": "results",
                "experiment": exp.as_dict(),
                "code": self._code,
                "data": self.fingerprint(exp.dataset),
                "libraries": versions("torch", "numpy"),
                "device": device_kind(self.settings),
            })
        return self._keys[exp]

    def lookup(self, exp: Experiment, whole: bool = False) -> Entry | None:
        """``exp``'s entry with only ``meta.json`` hashed, unless ``whole`` (every file is
        hashed before the arrays are loaded). Its ``info`` is that file's, checked field
        by field, never the stamp's; a meta that fails is damage."""
        entry = self.cache.get("results", exp.name, self.result_key(exp),
                               hashed=None if whole else [META])
        if entry is None:
            return None
        try:
            return Entry(entry.path, entry.digests, read_info(entry.path / META, exp))
        except ValueError as exc:
            self.forget(exp, str(exc))
            return None

    def forget(self, exp: Experiment, why: str) -> None:
        """Discard ``exp``'s entry, found damaged while loading it: it is retrained."""
        path = self.cache.entry_dir("results", exp.name, self.result_key(exp))
        if path.exists():  # (the cache may have reported it)
            self.cache.corrupt(path, f"could not be loaded: {why}")

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

            self._data[dataset] = load(self.settings, dataset)
        return self._data[dataset]

    def results(self, exp: Experiment) -> Results:
        """The results of ``exp`` from the cache, trained first when missing or damaged."""
        from looking_inside.training.results import Results

        entry = self.lookup(exp, whole=True)
        if entry is not None:
            try:
                return Results.from_folder(entry.path, exp)
            except ValueError as exc:
                self.forget(exp, str(exc))
        return self.train(exp)

    def train(self, exp: Experiment) -> Results:
        """Train ``exp`` here and store its results."""
        from looking_inside.training.trainer import resolve_device, train

        bundle = self.data(exp.dataset)
        device = resolve_device(self.settings.device)
        log.info("%s: training on %s (%d epochs, %d images)", exp.name, device.type,
                 exp.epochs, len(bundle.train))
        res = train(exp, bundle, device)
        log.info("%s: test accuracy %.4f in %.1f s", exp.name, res.test_accuracy,
                 res.train_seconds)
        self.cache.put("results", exp.name, self.result_key(exp), res.to_files(),
                       info=res.info())
        return res
