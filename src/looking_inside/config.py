"""Experiments (what to train) and settings (where things live), in one place.

Every experiment is a frozen dataclass: its fields are hashed into the cache key,
so changing any of them retrains exactly that experiment.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
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
    # pooling) before the hidden/output layers; () is a plain perceptron. A
    # convolution reuses one small filter at every position, which is the article's
    # closing argument for convolutional networks.
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
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1, got {self.batch_size}")
        if self.lr <= 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.snapshots < 0 or self.snapshots == 1:
            problems.append(f"snapshots must be 0 or >= 2, got {self.snapshots}")
        if any(c < 1 for c in self.conv):
            problems.append(f"conv channels must be >= 1, got {self.conv}")
        if any(h < 1 for h in self.hidden):
            problems.append(f"hidden sizes must be >= 1, got {self.hidden}")
        if self.optimizer not in ("adam", "sgd"):
            problems.append(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.dataset not in ("mnist", "cifar10"):
            problems.append(f"dataset must be 'mnist' or 'cifar10', got {self.dataset!r}")
        if self.init not in ("default", "zero"):
            problems.append(f"init must be 'default' or 'zero', got {self.init!r}")
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

    @property
    def layer_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Weight shapes, first layer first: ``(out, in, 5, 5)`` per convolution, then
        ``(out, in)`` per linear layer."""
        shape = spec(self.dataset).image_shape
        channels, side = (shape[0], shape[1]) if len(shape) == 3 else (1, shape[0])
        out: list[tuple[int, ...]] = []
        for c in self.conv:
            out.append((c, channels, CONV_KERNEL, CONV_KERNEL))
            channels, side = c, (side - CONV_KERNEL + 1) // 2
        width = channels * side * side if self.conv else self.n_inputs
        for h in (*self.hidden, 10):
            out.append((h, width))
            width = h
        return tuple(out)

    @property
    def n_parameters(self) -> int:
        """Weights and biases of every layer."""
        return sum(math.prod(s) + s[0] for s in self.layer_shapes)

    @property
    def forward_flops(self) -> int:
        """2 x multiply-adds of one image's forward pass (activations and pooling are
        a rounding error next to them); training costs about 3x this per image."""
        side = spec(self.dataset).image_shape[-1]
        flops = 0
        for s in self.layer_shapes:
            if len(s) == 4:
                side = side - CONV_KERNEL + 1
                flops += 2 * math.prod(s) * side * side
                side //= 2
            else:
                flops += 2 * s[0] * s[1]
        return flops


# The networks the article's chapters are about.
ARTICLE_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        name="mnist-1layer",
        dataset="mnist",
        epochs=20,
        # A strong pull: the 0-9 templates are the article's centrepiece. 1e-2
        # smooths away the speckle of rarely-inked pixels for ~0.6 points of accuracy
        # (measured on the subset: 0.896 at 1e-3, 0.890 at 1e-2).
        weight_decay=1e-2,
        # 12 frames: enough to see noise turn into digits, ~380 kB in the results.
        snapshots=12,
    ),
    Experiment(
        name="mnist-2layer",
        dataset="mnist",
        # The article's network: exactly 10 hidden neurons, so all filters fit in
        # one row above the per-class bar plots.
        hidden=(10,),
        epochs=30,
        lr=3e-3,
        # Smoother filters that still read as strokes and loops (0.884 at 1e-3,
        # 0.887 at 3e-3 on the subset).
        weight_decay=3e-3,
        # The filters and output weights forming, for the playground's replay.
        snapshots=12,
    ),
    Experiment(
        name="cifar-1layer",
        dataset="cifar10",
        epochs=20,
        # SGD and a strong pull towards 0: with Adam (any decay) the ten templates
        # were colour noise on the 5k-image subset; SGD keeps updates inside the span
        # of the training images, at the same accuracy (0.365 vs 0.360 on the subset).
        optimizer="sgd",
        lr=1e-3,
        weight_decay=1e-1,
        # From torch's random start, 800 small SGD steps leave about half of the
        # initial per-pixel noise in place: speckle (analysis.speckle) 0.115, twice
        # the MNIST templates' 0.052. From zero the templates are pure image
        # averages, smooth colour blobs with a blue surround for plane and ship:
        # speckle 0.045 at the same accuracy (0.355 vs 0.356 on the subset).
        init="zero",
    ),
    Experiment(
        name="cifar-2layer",
        dataset="cifar10",
        # 100 hidden units: enough capacity to beat the linear model by a few
        # points (the article's ~37%), small enough that an epoch over the full
        # 50k images stays around a second on two cores. Wider layers add cost
        # linearly and overfit the 5k-image subset without a visible gain.
        hidden=(100,),
        activation="relu",
        epochs=20,
        lr=5e-4,
        weight_decay=1e-3,
    ),
)

# --- The capacity sweep (特征与表示) ---------------------------------------------
# Every point of one data set's sweep shares one recipe, so that along each axis only
# the network's size changes. ReLU, not the article networks' sigmoid: stacked
# sigmoid layers train slowly, and the depth axis would then measure the optimiser
# rather than the capacity. Adam with the default lr and a light decay converges for
# every size within the epochs below.

# One hidden layer of this many units; 0 is the single-layer network.
SWEEP_WIDTHS: tuple[int, ...] = (0, 10, 30, 100, 300)
# Hidden layers of SWEEP_DEPTH_WIDTH units; depth 1 is the width-100 point above.
SWEEP_DEPTHS: tuple[int, ...] = (1, 2, 3)
SWEEP_DEPTH_WIDTH = 100
# Extra seeds at the 10-unit point only: enough to show how much of a gap of a few
# tenths of a point is noise, at a tenth of the cost of seeding every point.
SWEEP_SEED_WIDTH = 10
SWEEP_SEEDS: tuple[int, ...] = (0, 1, 2)
# Epochs per data set, chosen for the cold build (every point trains at build):
# MNIST's subset converges within about 10 epochs at every width; CIFAR-10's 300-unit
# point overfits the 5k-image subset after about 8 (test accuracy flat, train rising),
# so more epochs would cost seconds and show nothing new.
SWEEP_EPOCHS: dict[Dataset, int] = {"mnist": 10, "cifar10": 8}
SWEEP_PREFIX: dict[Dataset, str] = {"mnist": "mnist", "cifar10": "cifar"}


def width_hidden(width: int) -> tuple[int, ...]:
    """One hidden layer of ``width`` units; 0 is the single-layer network (none)."""
    return (width,) if width else ()


def sweep_hidden() -> tuple[tuple[int, ...], ...]:
    """Every architecture of the sweep, once (widths, then the deeper ones)."""
    widths = tuple(width_hidden(w) for w in SWEEP_WIDTHS)
    deeper = tuple((SWEEP_DEPTH_WIDTH,) * d for d in SWEEP_DEPTHS
                   if (SWEEP_DEPTH_WIDTH,) * d not in widths)
    return widths + deeper


def sweep_name(dataset: Dataset, hidden: tuple[int, ...], seed: int = 0) -> str:
    """``mnist-sweep-0``, ``cifar-sweep-100x100``, ``mnist-sweep-10-seed2``."""
    size = "x".join(str(h) for h in hidden) if hidden else "0"
    return f"{SWEEP_PREFIX[dataset]}-sweep-{size}" + (f"-seed{seed}" if seed else "")


def sweep_experiments(dataset: Dataset) -> tuple[Experiment, ...]:
    points = [(h, 0) for h in sweep_hidden()]
    points += [((SWEEP_SEED_WIDTH,), s) for s in SWEEP_SEEDS if s]
    return tuple(
        Experiment(name=sweep_name(dataset, h, s), dataset=dataset, hidden=h,
                   activation="relu", epochs=SWEEP_EPOCHS[dataset], optimizer="adam",
                   lr=1e-3, weight_decay=1e-4, seed=s)
        for h, s in points
    )


# --- Small convolutional networks, one per data set -------------------------------
# Two 5x5 convolutions with 2x2 max pooling, then one linear layer (LeNet's shape,
# narrower). 8 and 16 channels: on two cores an epoch costs about a second, the
# whole cold build's budget allows a few; wider layers gained ~2 points on CIFAR-10
# for twice the time. lr 3e-3: Adam's default 1e-3 needs twice the epochs here.
CONVNETS: tuple[Experiment, ...] = (
    Experiment(name="mnist-conv", dataset="mnist", conv=(8, 16), activation="relu",
               # 5 epochs: past every perceptron of the sweep by epoch 3 on the
               # subset (0.928, 0.937, 0.948 after epochs 3-5); later epochs add
               # tenths of a point for a second each.
               epochs=5, lr=3e-3, weight_decay=1e-4),
    Experiment(name="cifar-conv", dataset="cifar10", conv=(8, 16), activation="relu",
               # 8 epochs: test accuracy still rises, by about a point an epoch,
               # but from epoch 6 on it is past every perceptron of the sweep.
               epochs=8, lr=3e-3, weight_decay=1e-4),
)

def convnet_name(dataset: Dataset) -> str:
    """The convolutional network trained on ``dataset``."""
    return next(e.name for e in CONVNETS if e.dataset == dataset)


EXPERIMENTS = (*ARTICLE_EXPERIMENTS, *sweep_experiments("mnist"),
               *sweep_experiments("cifar10"), *CONVNETS)


def experiment_names() -> list[str]:
    return [e.name for e in EXPERIMENTS]


def get_experiment(name: str) -> Experiment:
    for e in EXPERIMENTS:
        if e.name == name:
            return e
    raise BuildError(
        f"unknown experiment {name!r}; known experiments: {', '.join(experiment_names())}"
    )


@dataclass(frozen=True)
class Settings:
    """Where data and cache live and which device trains; read once at start."""

    data_root: Path
    cache_dir: Path
    device: Device = "auto"
    # Whether missing data may be fetched with torchvision's downloader.
    download: bool = True
    only: tuple[str, ...] = field(default_factory=tuple)

    @property
    def generated_dir(self) -> Path:
        """Where ``generate`` writes the site's generated files by default."""
        return self.cache_dir / "generated"

    @property
    def experiments(self) -> tuple[Experiment, ...]:
        if not self.only:
            return EXPERIMENTS
        return tuple(get_experiment(n) for n in self.only)


def default_data_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "looking-inside" / "data"


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise BuildError(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def load_settings(
    data_root: str | Path | None = None,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    only: list[str] | tuple[str, ...] | None = None,
    base_dir: Path | None = None,
) -> Settings:
    """Resolve settings: explicit arguments, then environment, then defaults.

    Relative paths resolve against ``base_dir`` (the folder of mkdocs.yml when the
    site builds), so the same settings work from any working directory.
    """
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
        raise BuildError(
            f"{ENV_DEVICE}={dev!r} is not a device; use 'auto' (CUDA when present, else CPU), "
            "'cpu', or 'cuda' (fail when CUDA is absent)"
        )
    names = tuple(only or ())
    for n in names:
        get_experiment(n)  # fails early, naming the setting
    return Settings(
        data_root=resolve(root),
        cache_dir=resolve(cache),
        device=dev,  # type: ignore[arg-type]
        download=_env_bool(ENV_DOWNLOAD, True),
        only=names,
    )
