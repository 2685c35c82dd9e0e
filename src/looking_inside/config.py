"""Experiments (what to train) and settings (where things live), in one place.

Every experiment is a frozen dataclass: its fields are hashed into the cache key,
so changing any of them retrains exactly that experiment.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from looking_inside.data.datasets import Dataset, spec
from looking_inside.errors import BuildError

Device = Literal["auto", "cpu", "cuda"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]

ENV_DATA = "LOOKING_INSIDE_DATA"
ENV_CACHE = "LOOKING_INSIDE_CACHE"
ENV_DEVICE = "LOOKING_INSIDE_DEVICE"
ENV_DOWNLOAD = "LOOKING_INSIDE_DOWNLOAD"


# Side of every convolution's square filter: 5x5, as in LeNet; small enough that
# the first layer's filters read as strokes and colour edges.
CONV_KERNEL = 5


@dataclass(frozen=True)
class Experiment:
    """One trained network of the article."""

    name: str
    dataset: Dataset
    # Hidden layer sizes between the pixels and the 10 outputs; () is the
    # single-layer network whose weights read as class templates.
    hidden: tuple[int, ...] = ()
    # Channels of 5x5 convolutions (each followed by the activation and 2x2 max
    # pooling) before the hidden/output layers; () is a plain perceptron.
    conv: tuple[int, ...] = ()
    # The article's figures come from plain multilayer perceptrons; sigmoid keeps
    # hidden units in (0, 1) so the bar plots read as "how much of this feature".
    activation: Literal["sigmoid", "relu"] = "sigmoid"
    epochs: int = 20
    # Large batches are cheap on CPU (one GEMM per step) and give smooth curves.
    batch_size: int = 128
    # Adam converges in a handful of epochs from any reasonable lr, which keeps a
    # cold build short. SGD (with momentum 0.9) keeps weights inside the span of the
    # training images, so single-layer weights stay smooth, image-like templates;
    # Adam's per-weight step sizes amplify pixels that rarely matter into speckle.
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    # Weight decay pulls weights of pixels that never help towards 0, so the
    # templates are clean instead of speckled with noise from rare pixels.
    weight_decay: float = 1e-4
    seed: int = 0
    # Weights recorded at this many log-spaced steps, from initialisation to the end
    # (0: none). The chapters show templates forming, and most change happens in
    # the first few hundred steps, so log spacing puts the frames where it happens.
    # In the key because it changes what the results hold (never the final weights).
    snapshots: int = 0
    # "zero" starts every weight at 0 instead of torch's small random values. Only
    # for a single-layer network: its loss is convex and it has no symmetry to
    # break, so the start changes nothing but what is left of it at the end. SGD's
    # updates are sums of training images, so from zero the templates contain
    # nothing but (decayed) image averages, no leftover initial noise.
    init: Literal["default", "zero"] = "default"

    def __post_init__(self) -> None:
        rules = [  # (what, its value, whether it is allowed, what it must be)
            ("epochs", self.epochs, self.epochs >= 1, ">= 1"),
            ("batch_size", self.batch_size, self.batch_size >= 1, ">= 1"),
            ("lr", self.lr, self.lr > 0, "> 0"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, ">= 0"),
            ("snapshots", self.snapshots, self.snapshots == 0 or self.snapshots >= 2, "0 or >= 2"),
            ("conv channels", self.conv, all(c >= 1 for c in self.conv), ">= 1"),
            ("hidden sizes", self.hidden, all(h >= 1 for h in self.hidden), ">= 1"),
            ("optimizer", self.optimizer, self.optimizer in ("adam", "sgd"), "'adam' or 'sgd'"),
            ("dataset", self.dataset, self.dataset in ("mnist", "cifar10"), "'mnist' or 'cifar10'"),
            ("init", self.init, self.init in ("default", "zero"), "'default' or 'zero'"),
        ]
        problems = [f"{what} must be {need}, got {value!r}" for what, value, ok, need in rules
                    if not ok]
        if self.init == "zero" and (self.hidden or self.conv):
            problems.append("init='zero' is for single-layer networks only (hidden units "
                            "started at zero would all learn the same thing)")
        if problems:
            raise BuildError(f"experiment {self.name!r}: " + "; ".join(problems))

    @property
    def n_inputs(self) -> int:
        return spec(self.dataset).n_inputs

    @property
    def image_shape(self) -> tuple[int, ...]:
        """One input image as stored: (28, 28) or (3, 32, 32)."""
        return spec(self.dataset).image_shape

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["hidden"], d["conv"] = list(self.hidden), list(self.conv)
        return d

    def _layers(self) -> list[tuple[tuple[int, ...], int]]:
        """(weight shape, positions in one image it is applied at) per layer, first first:
        ``(out, in, 5, 5)`` per convolution, then ``(out, in)`` per linear layer."""
        shape = self.image_shape
        channels, side = (shape[0], shape[1]) if len(shape) == 3 else (1, shape[0])
        out: list[tuple[tuple[int, ...], int]] = []
        for c in self.conv:
            side -= CONV_KERNEL - 1
            out.append(((c, channels, CONV_KERNEL, CONV_KERNEL), side * side))
            channels, side = c, side // 2
        width = channels * side * side if self.conv else self.n_inputs
        for h in (*self.hidden, 10):
            out.append(((h, width), 1))
            width = h
        return out

    @property
    def layer_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(s for s, _ in self._layers())

    @property
    def n_parameters(self) -> int:
        """Weights and biases of every layer."""
        return sum(math.prod(s) + s[0] for s in self.layer_shapes)

    @property
    def forward_flops(self) -> int:
        """2 x multiply-adds of one image's forward pass (activations and pooling are
        a rounding error next to them); training costs about 3x this per image."""
        return sum(2 * math.prod(s) * positions for s, positions in self._layers())


# The networks the article's chapters are about. Each is its own recipe, tuned for
# what its chapter draws (clean templates, readable filters); the features chapter
# says how each differs from the capacity sweep's network of the same shape
# (facts.recipe_differences), and the CIFAR-10 two-layer network *is* a sweep point.
#
# Epochs are read off the training curves: the first epoch at which the test
# accuracy, averaged over three seeds, is within one point of where it settles (its
# average over the last quarter of a run twice as long). Measured on the subsets.
ARTICLE_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        name="mnist-1layer", dataset="mnist",
        # Within a point of its plateau (89.1%) from epoch 12 on.
        epochs=12,
        # A strong pull: the 0-9 templates are the article's centrepiece. 1e-2
        # smooths away the speckle of rarely-inked pixels for ~0.6 points of accuracy
        # (measured on the subset: 0.896 at 1e-3, 0.890 at 1e-2).
        weight_decay=1e-2,
        # 12 frames: enough to see noise turn into digits, ~380 kB in the results.
        snapshots=12,
    ),
    Experiment(
        name="mnist-2layer", dataset="mnist",
        # The article's network: exactly 10 hidden neurons, so all filters fit in
        # one row above the per-class bar plots.
        hidden=(10,),
        # Sigmoid climbs slowly: within a point of its plateau (88.2%) from epoch 22.
        epochs=22, lr=3e-3,
        # Smoother filters that still read as strokes and loops (0.884 at 1e-3,
        # 0.887 at 3e-3 on the subset).
        weight_decay=3e-3,
        # The filters and output weights forming, for the playground's replay.
        snapshots=12,
    ),
    Experiment(
        name="cifar-1layer", dataset="cifar10",
        # Within a point of its plateau (36.0%) from epoch 13 on.
        epochs=13,
        # SGD and a strong pull towards 0: with Adam (any decay) the ten templates
        # were colour noise on the 5k-image subset; SGD keeps updates inside the span
        # of the training images, at the same accuracy (0.365 vs 0.360 on the subset).
        optimizer="sgd", lr=1e-3, weight_decay=1e-1,
        # From torch's random start, 800 small SGD steps leave about half of the
        # initial per-pixel noise in place: speckle (analysis.speckle) 0.115, twice
        # the MNIST templates' 0.05-0.06. From zero the templates are pure image
        # averages, smooth colour blobs with a blue surround for plane and ship:
        # speckle 0.04 at the same accuracy (0.355 vs 0.356 on the subset).
        init="zero",
    ),
)

# Every network whose accuracy a chapter compares with another's is trained with each
# of these seeds (initial weights and the order of the training images): the
# chapters quote the mean and the range, and call a difference only when the ranges
# do not overlap (facts.verdict). Three is the fewest that shows a range.
SEEDS: tuple[int, ...] = (0, 1, 2)


def seed_name(name: str, seed: int) -> str:
    """``mnist-2layer`` for seed 0, ``mnist-2layer-seed2`` for another seed."""
    return f"{name}-seed{seed}" if seed else name


def reseeded(exp: Experiment) -> tuple[Experiment, ...]:
    """``exp`` (seed 0) and its copies with the other ``SEEDS``. Only the first
    records snapshots: recording never changes the weights, so the copies need none."""
    return tuple(exp if s == exp.seed else
                 replace(exp, name=seed_name(exp.name, s), seed=s, snapshots=0)
                 for s in SEEDS)


# The article's networks the chapters compare (the hidden-layer chapter: one hidden
# layer against none).
COMPARED_ARTICLE = ("mnist-1layer", "mnist-2layer")

# --- The capacity sweep (特征与表示) ---------------------------------------------
# Every point of one data set's sweep shares one recipe, so that along each axis only
# the network's size changes. ReLU, not the article networks' sigmoid: stacked
# sigmoid layers train slowly, and the depth axis would then measure the optimiser
# rather than the capacity. Every point is trained with every seed of SEEDS.

# One hidden layer of this many units; 0 is the single-layer network.
SWEEP_WIDTHS: tuple[int, ...] = (0, 10, 30, 100, 300)
# Hidden layers of SWEEP_DEPTH_WIDTH units; depth 1 is the width-100 point above.
SWEEP_DEPTHS: tuple[int, ...] = (1, 2, 3)
SWEEP_DEPTH_WIDTH = 100
# Adam's step size and epochs per data set, by the rule above (ARTICLE_EXPERIMENTS),
# the slowest point of each sweep deciding. A larger step reaches the plateau in fewer
# epochs at the same cost per epoch. MNIST at 5e-3: the 10-unit, 100-unit and
# 3-layer points within a point of their plateau from epoch 6 on (at 3e-3 from 9, at
# 1e-3 from 12). CIFAR-10 at 3e-3: every point by epoch 3 (at 2e-3 by 5, at 1e-3 by
# 7); past that, the wider layers overfit the 5k-image subset, test accuracy flat or
# falling while training accuracy climbs.
SWEEP_LR: dict[Dataset, float] = {"mnist": 5e-3, "cifar10": 3e-3}
SWEEP_EPOCHS: dict[Dataset, int] = {"mnist": 6, "cifar10": 3}
SWEEP_PREFIX: dict[Dataset, str] = {"mnist": "mnist", "cifar10": "cifar"}


def width_hidden(width: int) -> tuple[int, ...]:
    return (width,) if width else ()


def sweep_name(dataset: Dataset, hidden: tuple[int, ...], seed: int = 0) -> str:
    """``mnist-sweep-0``, ``cifar-sweep-100x100``, ``mnist-sweep-10-seed2``."""
    size = "x".join(str(h) for h in hidden) if hidden else "0"
    return seed_name(f"{SWEEP_PREFIX[dataset]}-sweep-{size}", seed)


def sweep_experiments(dataset: Dataset) -> tuple[Experiment, ...]:
    """Every point of ``dataset``'s sweep, each with every seed (seed 0 first): the
    widths, then the deeper ones (depth 1 is a width, listed once)."""
    hidden = dict.fromkeys([*(width_hidden(w) for w in SWEEP_WIDTHS),
                            *((SWEEP_DEPTH_WIDTH,) * d for d in SWEEP_DEPTHS)])
    return tuple(
        e for h in hidden
        for e in reseeded(Experiment(
            name=sweep_name(dataset, h), dataset=dataset, hidden=h, activation="relu",
            epochs=SWEEP_EPOCHS[dataset], optimizer="adam", lr=SWEEP_LR[dataset],
            weight_decay=1e-4))
    )


# --- Small convolutional networks, one per data set -------------------------------
# Two 5x5 convolutions with 2x2 max pooling, then one linear layer (LeNet's shape,
# narrower). 8 and 16 channels: on two cores an epoch costs about a second; wider
# layers gained ~2 points on CIFAR-10 for twice the time. Batches of 32: an epoch
# costs about what one of 128 does (on MNIST half of it is scoring the 10,000 test
# images), and the curves reach their plateau in under half the epochs. Step size and
# epochs per data set, by the rule above: MNIST at 3e-3 within a point of its
# plateau (96.4%) from epoch 4 on; CIFAR-10 at 2e-3 (48.1%) from epoch 5. At 3e-3
# CIFAR-10 gets there by epoch 4, but its seeds then scatter over three points, at
# 2e-3 under one.
CONVNETS: tuple[Experiment, ...] = (
    Experiment(name="mnist-conv", dataset="mnist", conv=(8, 16), activation="relu",
               epochs=4, batch_size=32, lr=3e-3, weight_decay=1e-4),
    Experiment(name="cifar-conv", dataset="cifar10", conv=(8, 16), activation="relu",
               epochs=5, batch_size=32, lr=2e-3, weight_decay=1e-4),
)


def convnet_name(dataset: Dataset) -> str:
    """The convolutional network trained on ``dataset`` (its seed-0 run)."""
    return next(e.name for e in CONVNETS if e.dataset == dataset)


def seeds_of(name: str) -> tuple[str, ...]:
    """The names of every run of the configuration whose seed-0 run is ``name``: all of
    ``SEEDS`` where it is compared, else just ``name``."""
    runs = tuple(seed_name(name, s) for s in SEEDS)
    known = set(experiment_names())
    return runs if all(r in known for r in runs) else (name,)


EXPERIMENTS = (*ARTICLE_EXPERIMENTS,
               *(e for a in ARTICLE_EXPERIMENTS if a.name in COMPARED_ARTICLE
                 for e in reseeded(a)[1:]),
               *sweep_experiments("mnist"), *sweep_experiments("cifar10"),
               *(e for c in CONVNETS for e in reseeded(c)))


def experiment_names() -> list[str]:
    return [e.name for e in EXPERIMENTS]


def get_experiment(name: str) -> Experiment:
    for e in EXPERIMENTS:
        if e.name == name:
            return e
    raise BuildError(f"unknown experiment {name!r}; known experiments: "
                     f"{', '.join(experiment_names())}")


@dataclass(frozen=True)
class Settings:
    """Where data and cache live and which device trains; read once at start."""

    data_root: Path
    cache_dir: Path
    device: Device = "auto"
    # Whether missing data may be fetched with torchvision's downloader.
    download: bool = True
    only: tuple[str, ...] = ()

    @property
    def generated_dir(self) -> Path:
        """Where ``generate`` writes the site's generated files by default."""
        return self.cache_dir / "generated"

    @property
    def experiments(self) -> tuple[Experiment, ...]:
        return tuple(get_experiment(n) for n in self.only) or EXPERIMENTS


def default_data_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "looking-inside" / "data"


def load_settings(data_root: str | Path | None = None, cache_dir: str | Path | None = None,
                  device: str | None = None, only: list[str] | tuple[str, ...] | None = None,
                  base_dir: Path | None = None) -> Settings:
    """Explicit arguments, then the environment, then defaults. Relative paths resolve
    against ``base_dir`` (the folder of mkdocs.yml when the site builds), so the same
    settings work from any working directory."""
    base = base_dir or Path.cwd()

    def resolve(p: str | Path) -> Path:
        path = Path(p).expanduser()
        try:
            return (path if path.is_absolute() else base / path).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop, say
            raise BuildError(f"{p}: cannot be resolved ({exc}); fix: point "
                             f"{ENV_DATA} or {ENV_CACHE} at a real folder") from None

    root = data_root or os.environ.get(ENV_DATA) or default_data_root()
    cache = cache_dir or os.environ.get(ENV_CACHE) or PROJECT_ROOT / ".cache" / "looking-inside"
    dev = (device or os.environ.get(ENV_DEVICE) or "auto").strip().lower()
    if dev not in ("auto", "cpu", "cuda"):
        raise BuildError(f"{ENV_DEVICE}={dev!r} is not a device; use 'auto' (CUDA when "
                         "present, else CPU), 'cpu', or 'cuda' (fail when CUDA is absent)")
    raw = os.environ.get(ENV_DOWNLOAD) or "yes"
    download = {"1": True, "true": True, "yes": True, "on": True,
                "0": False, "false": False, "no": False, "off": False}.get(raw.strip().lower())
    if download is None:
        raise BuildError(f"{ENV_DOWNLOAD}={raw!r} is not a boolean; use 1/0, true/false, "
                         "yes/no or on/off")
    names = tuple(get_experiment(n).name for n in only or ())  # an unknown name fails now
    return Settings(data_root=resolve(root), cache_dir=resolve(cache),
                    device=dev,  # type: ignore[arg-type]
                    download=download, only=names)
