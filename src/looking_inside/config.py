"""Experiments (what to train) and settings (where things live), in one place.

Every experiment is a frozen dataclass: its fields are hashed into the cache key,
so changing any of them retrains exactly that experiment.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Experiment:
    """One trained network of the article."""

    name: str
    dataset: Dataset
    # Hidden layer sizes between the pixels and the 10 outputs; () is the
    # single-layer network whose weights read as class templates.
    hidden: tuple[int, ...] = ()
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
        if any(h < 1 for h in self.hidden):
            problems.append(f"hidden sizes must be >= 1, got {self.hidden}")
        if self.optimizer not in ("adam", "sgd"):
            problems.append(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.dataset not in ("mnist", "cifar10"):
            problems.append(f"dataset must be 'mnist' or 'cifar10', got {self.dataset!r}")
        if problems:
            raise BuildError(f"experiment {self.name!r}: " + "; ".join(problems))

    @property
    def n_inputs(self) -> int:
        return spec(self.dataset).n_inputs

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


EXPERIMENTS: tuple[Experiment, ...] = (
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
        # were colour noise on the 5k-image subset; with SGD + 0.1 they are smooth
        # colour blobs with a blue surround for plane and ship, as in the article,
        # at the same accuracy (0.365 vs 0.360 on the subset).
        optimizer="sgd",
        lr=1e-3,
        weight_decay=1e-1,
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
        return path if path.is_absolute() else (base / path).resolve()

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
