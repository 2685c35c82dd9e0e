"""Data exported for the interactive pages, made from the same cached results as the
static figures (and through the same selections in ``analysis``), so the two agree.
Each export (``exports()``) is a cached product; the build publishes its files under
``assets/data/``, where the pages fetch them at run time (no server, no CDN).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from looking_inside.cache import versions
from looking_inside.products.inputs import Product

if TYPE_CHECKING:
    import numpy as np

    from looking_inside.data.datasets import Dataset
    from looking_inside.products.inputs import ProductInputs

# numpy and the analysis code are imported inside the ``make`` functions: this module
# is read on every build, and a warm build must stay a cache lookup.

MODULE = "products.exports"

# Weights keep this many significant digits: a relative error <= 5e-5 per weight,
# so a score z = b + sum(w x) moves by at most 5e-5 * (|b| + sum|w x|), about 1e-3
# for a drawn digit, while the scores of different classes lie tenths apart. It
# halves the file against full float32 precision (9 digits).
WEIGHT_DIGITS = 5
# Confidences are shown as percentages with one decimal.
PROB_DECIMALS = 4

Format = Literal["png", "jpeg"]
SPRITE_COLUMNS = 40  # tiles per sprite row
# CIFAR photos hardly compress losslessly (~2.2 kB per 32x32 tile as PNG against
# ~0.5 kB as JPEG at this quality with full colour resolution, measured on the test
# set), and the explorer page must stay within the site's per-page weight budget. 32
# is a multiple of JPEG's 16 px block, so no tile's compression bleeds into another.
JPEG_QUALITY = 85


def sprite(images: np.ndarray, fmt: Format = "png",
           columns: int = SPRITE_COLUMNS) -> tuple[bytes, dict[str, int]]:
    """``(N, t, t)`` or ``(N, t, t, 3)`` uint8 images tiled into one image file, one
    request and one decode instead of hundreds: tile ``k`` at column ``k % columns``, row
    ``k // columns``, black padding. Its bytes (deterministic: no timestamps or other
    metadata) and what the page needs to cut it up again."""
    import numpy as np
    from PIL import Image

    n, t = images.shape[:2]
    cols = max(1, min(columns, n))
    rows = max(1, -(-n // cols))
    padded = np.zeros((rows * cols, *images.shape[1:]), dtype=np.uint8)
    padded[:n] = images
    grid = padded.reshape(rows, cols, t, t, *images.shape[3:])
    sheet = grid.swapaxes(1, 2).reshape(rows * t, cols * t, *images.shape[3:])
    img = Image.fromarray(np.ascontiguousarray(sheet))
    buf = io.BytesIO()
    if fmt == "png":
        # zlib level 6: much faster than ``optimize`` (level 9 and a filter search)
        # on the MNIST sheet, for a few per cent more bytes.
        img.save(buf, format="PNG", compress_level=6)
    else:
        # 4:4:4 keeps the colour of 32 px photos; 4:2:0 smears it across 2 px.
        img.save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return buf.getvalue(), {"tile": t, "columns": cols, "tiles": n}


@dataclass(frozen=True)
class ConfusionExport:
    """One explorer: which network, which test images, how many per cell."""

    name: str
    experiment: str
    dataset: Dataset
    # At most this many images per cell go into the sprite. MNIST tiles are ~170 B
    # (PNG), so 25 per cell stays near 200 kB even on the full test set, and the
    # explorer's first load under 1 MB on a phone (tests/test_a11y.py); CIFAR tiles
    # are ~0.5 kB (JPEG) and every cell of its 10,000-image test set is crowded, so 12
    # per cell (<= 1,200 tiles, ~600 kB) keeps the page within its weight budget.
    cap: int
    fmt: Format

    @property
    def sprite_file(self) -> str:
        return f"{self.name}-sprite.{'png' if self.fmt == 'png' else 'jpg'}"

    def product(self) -> Product:
        return Product(
            "export", self.name, MODULE, make=self.make, experiments=(self.experiment,),
            datasets=(self.dataset,),
            params={"cap": self.cap, "fmt": self.fmt, "libraries": versions("numpy", "pillow")},
        )

    def make(self, inputs: ProductInputs) -> dict[str, bytes]:
        import numpy as np

        from looking_inside.products import analysis
        from looking_inside.products.labels import class_names

        res = inputs.results[self.experiment]
        cells: list[dict[str, Any]] = []
        chosen: list[np.ndarray] = []
        for a, p in np.ndindex(10, 10):
            shown = analysis.cell_members(res.test_labels, res.test_probs, a, p)[:self.cap]
            cells.append({"start": sum(map(len, chosen)), "index": shown.tolist(),
                          "conf": [round(float(c), PROB_DECIMALS)
                                   for c in res.test_probs[shown, p]]})
            chosen.append(shown)
        tiles = inputs.test[self.dataset].images[np.concatenate(chosen)]
        if tiles.ndim == 4:  # CIFAR (N, 3, 32, 32) -> (N, 32, 32, 3)
            tiles = tiles.transpose(0, 2, 3, 1)
        sheet, layout = sprite(tiles, self.fmt)
        doc = {
            "name": self.name, "experiment": self.experiment, "dataset": self.dataset,
            "classes": list(class_names(self.dataset)), "n_test": int(res.n_test),
            "accuracy": round(float(res.test_accuracy), 6), "cap": self.cap,
            "counts": res.confusion.astype(int).tolist(),
            "largest": list(analysis.largest_confusion(res.confusion)[:2]),
            "sprite": {"file": self.sprite_file, **layout, "channels": 1 if tiles.ndim == 3 else 3},
            "cells": cells,
        }
        return {f"{self.name}.json": _json(doc), self.sprite_file: sheet}


CONFUSION_EXPORTS = (
    ConfusionExport("confusion-mnist", "mnist-1layer", "mnist", cap=25, fmt="png"),
    ConfusionExport("confusion-cifar", "cifar-1layer", "cifar10", cap=12, fmt="jpeg"),
)


def significant(x: float, digits: int = WEIGHT_DIGITS) -> float:
    """``x`` rounded to ``digits`` significant digits (JSON prints the short form)."""
    return float(f"{x:.{digits}g}")


def make_weights(inputs: ProductInputs) -> dict[str, bytes]:
    res = inputs.results["mnist-1layer"]
    w, b = res.weights[0], res.biases[0]  # (10, 784), (10,)
    doc = {
        "experiment": "mnist-1layer", "shape": list(w.shape), "digits": WEIGHT_DIGITS,
        "input": "28x28 ink in [0, 1], row-major (pixel / 255, no centring)",
        "test_accuracy": round(float(res.test_accuracy), 6),
        "weights": [[significant(float(v)) for v in row] for row in w],
        "biases": [significant(float(v)) for v in b],
    }
    return {"mnist-1layer-weights.json": _json(doc)}


def make_examples(inputs: ProductInputs) -> dict[str, bytes]:
    import numpy as np

    test = inputs.test["mnist"]
    # One real digit per class, for readers who cannot draw (keyboard users) and the
    # page's "try an example" buttons: the first test image of each, fixed and plain.
    idx = [int(np.flatnonzero(test.labels == d)[0]) for d in range(10)]
    doc = {"size": 28, "index": idx, "label": [int(test.labels[i]) for i in idx],
           "pixels": [test.images[i].reshape(-1).astype(int).tolist() for i in idx]}
    return {"mnist-examples.json": _json(doc)}


def _steps(a: np.ndarray, steps: int, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``a`` as whole steps 0..``steps`` of its range along ``axis``: (lowest, range,
    the steps), the first two with ``axis`` kept."""
    import numpy as np

    lo, hi = a.min(axis, keepdims=True), a.max(axis, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lo, span, np.rint(steps * (a - lo) / span)


def make_replay(inputs: ProductInputs) -> dict[str, bytes]:
    doc: dict[str, Any] = {}
    for name in REPLAYED:
        res = inputs.results[name]
        snaps = res.snapshots
        assert snaps is not None, f"{name} has no snapshots; set snapshots= in config.py"
        exp = res.experiment
        per_epoch = -(-res.n_train // exp.batch_size)
        entry: dict[str, Any] = {
            "hidden": list(exp.hidden), "batch_size": exp.batch_size, "lr": exp.lr,
            "weight_decay": exp.weight_decay, "epochs": exp.epochs, "n_train": res.n_train,
            "steps": snaps.steps.tolist(),
            # Unrounded: the page prints them to 0.1 points as the chapters do, and a
            # value rounded here first could print differently (0.8895 -> 88.9% here,
            # 89.0% in the text, from the same 0.88950002).
            "accuracy": [float(a) for a in snaps.test_accuracy],
            # The per-epoch test accuracy too, so the curve has more than 12 points.
            "epoch_steps": [per_epoch * (e + 1) for e in range(exp.epochs)],
            "epoch_accuracy": [float(a) for a in res.history["test_accuracy"]],
            # (S, units, 784) uint8, each image scaled to its own range: the replay only
            # draws them, as the figures do (lowest black, highest white).
            "first": _b64(_steps(snaps.weights[0].astype(float), 255, -1)[2], "u1"),
        }
        if exp.hidden:
            entry["output"] = [[[significant(float(v), 4) for v in row] for row in w]
                               for w in snaps.weights[1]]  # (S, 10, hidden)
        doc[name] = entry
    return {"train-replay.json": _json(doc)}


REPLAYED = ("mnist-1layer", "mnist-2layer")

# The playground's sample: at most this many digits of each class from the training
# split and from the test split, the first ones in file order (a fixed rule, so the
# same data root always gives the same file). 600 + 100 per class: 7,000 digits,
# ~1.2 MB gzipped, inside the 2 MB budget; the held-out 1,000 give accuracy to
# about +-1 point.
SAMPLE_TRAIN_PER_CLASS = 600
SAMPLE_TEST_PER_CLASS = 100
SAMPLE_MAGIC = b"LITS"
SAMPLE_VERSION = 1


def make_sample(inputs: ProductInputs) -> dict[str, bytes]:
    """Header (magic, version, n_train, n_test as uint32 LE), then train labels,
    test labels, train images and test images as uint8 (28x28 row-major), gzipped."""
    import gzip
    import struct

    import numpy as np

    from looking_inside.products.representations import sample

    train, test = inputs.train["mnist"], inputs.test["mnist"]
    tr = sample(train.labels, SAMPLE_TRAIN_PER_CLASS)
    te = sample(test.labels, SAMPLE_TEST_PER_CLASS)
    parts = [train.labels[tr], test.labels[te], train.images[tr], test.images[te]]
    body = b"".join([SAMPLE_MAGIC, struct.pack("<III", SAMPLE_VERSION, len(tr), len(te)),
                     *(np.ascontiguousarray(a, dtype=np.uint8).tobytes() for a in parts)])
    # mtime=0: the same digits give the same bytes. The page decompresses it itself
    # (DecompressionStream), so no server setting is needed. Level 6, not 9: a few
    # per cent more bytes, many times faster (digits have long zero runs that level 6
    # already finds).
    return {"train-sample.bin": gzip.compress(body, compresslevel=6, mtime=0)}


def _b64(a: np.ndarray, dtype: str = "<f4") -> str:
    """An array's values, row-major, as base64 of little-endian numbers (float32 by
    default: a quarter of the bytes of the same numbers as JSON text)."""
    import base64

    import numpy as np

    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode()


MAP_SPRITE = "representation-map-sprite.png"
# A digit's place on a map, as a 16-bit step of the map's extent: 1/65,535 of the
# map, far below a screen pixel, at half the bytes of float32.
MAP_STEPS = 65535


def make_map(inputs: ProductInputs) -> dict[str, bytes]:
    import numpy as np

    from looking_inside.products import representations as reps

    test = inputs.test["mnist"]
    maps = reps.article_maps(inputs)
    index = reps.sample(test.labels)
    sheet, layout = sprite(test.images[index])
    doc_maps = []
    for m in maps:
        lo, span, q = _steps(m.projection.coords, MAP_STEPS, 0)
        doc_maps.append({
            "kind": m.kind, "dims": m.dims, "kept": round(m.projection.kept, 4),
            "lo": lo[0].tolist(), "hi": (lo + span)[0].tolist(), "steps": MAP_STEPS,
            "coords": _b64(q, "<u2"),  # (N, 2): x, y per digit
            "mean": _b64(m.projection.mean), "axes": _b64(m.projection.axes),  # (D,), (2, D)
        })
    networks: dict[str, Any] = {}
    answers = {}
    for name in reps.KINDS[1:]:
        r = inputs.results[name]
        exp = r.experiment
        # What places a drawn digit: every layer before the hidden layer the map shows.
        depth = len(exp.conv) if exp.conv else 1
        networks[name] = {
            "activation": exp.activation, "accuracy": round(float(r.test_accuracy), 6),
            "layers": [{"kind": "conv" if w.ndim == 4 else "linear", "shape": list(w.shape),
                        "weight": _b64(w), "bias": _b64(b)}
                       for w, b in zip(r.weights[:depth], r.biases[:depth], strict=True)],
        }
        probs = r.test_probs[index]
        answers[name] = {"predicted": probs.argmax(1).tolist(),
                         # per mille: the page prints 0.1 per cent
                         "confidence": np.rint(probs.max(1) * 1000).astype(int).tolist()}
    doc = {
        "n": len(index), "k": reps.K, "index": index.tolist(),
        "label": test.labels[index].tolist(), "answers": answers, "maps": doc_maps,
        "networks": networks,
        "sprite": {"file": MAP_SPRITE, **layout},
    }
    return {"representation-map.json": _json(doc), MAP_SPRITE: sheet}


def _json(doc: dict[str, Any]) -> bytes:
    # Compact: these files are downloaded by every reader of the page.
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()


def exports() -> list[Product]:
    return [
        *(c.product() for c in CONFUSION_EXPORTS),
        Product("export", "mnist-1layer-weights", MODULE, make=make_weights,
                experiments=("mnist-1layer",)),
        Product("export", "mnist-examples", MODULE, make=make_examples, datasets=("mnist",)),
        Product("export", "train-replay", MODULE, make=make_replay, experiments=REPLAYED),
        Product("export", "train-sample", MODULE, make=make_sample, datasets=("mnist",),
                reads_train=True,
                params={"train": SAMPLE_TRAIN_PER_CLASS, "test": SAMPLE_TEST_PER_CLASS}),
        Product("export", "representation-map", MODULE, make=make_map,
                experiments=("mnist-2layer", "mnist-conv"), datasets=("mnist",),
                params={"libraries": versions("numpy", "pillow")}),
    ]
