"""Does ``torch.compile`` pay for itself within one cold build? ``python -m
looking_inside.bench.compile``.

Apart from ``make bench`` (it takes a minute, mostly compiling). For a few experiments
it times our trainer's step (the hand-written perceptron pass or autograd, and
``training.optim``) against the same step with the model under ``torch.compile``
(default inductor backend, one thread, as the trainer runs), on random data of the
experiment's full-scale shape. The compile time is the first compiled step's time
less an eager step's. It pays back after ``compile / (eager - compiled)`` steps; a
cold build runs ``epochs x ceil(60,000 or 50,000 / batch)`` of them per experiment.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import torch
from torch import nn

from looking_inside.config import get_experiment
from looking_inside.data.datasets import spec
from looking_inside.training.models import build_model
from looking_inside.training.trainer import deterministic, make_optimizer, train_epoch

EXPERIMENTS = ("mnist-sweep-0", "mnist-sweep-100", "cifar-sweep-100", "mnist-conv")


def _per_step(fn: Callable[[], object], steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def measure(name: str, steps: int) -> dict[str, float]:
    exp = get_experiment(name)
    ds = spec(exp.dataset)
    deterministic()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    b = exp.batch_size
    x = torch.rand(b * steps, exp.n_inputs, generator=gen) - 0.5
    y = torch.randint(0, 10, (b * steps,), generator=gen)

    # Ours: the trainer's own epoch loop over `steps` batches, best of 3.
    torch.manual_seed(exp.seed)
    model = build_model(exp)
    opt = make_optimizer(exp, model)
    eager = min(_per_step(lambda: train_epoch(model, opt, x, y, b, gen), 1) / steps
                for _ in range(3))

    # Compiled: the model under torch.compile, autograd and the same optimiser.
    torch.manual_seed(exp.seed)
    model = build_model(exp)
    opt = make_optimizer(exp, model)
    compiled = torch.compile(model)
    loss_fn = nn.CrossEntropyLoss()
    batches = [(x[i:i + b], y[i:i + b]) for i in range(0, len(x), b)]
    k = 0

    def step() -> None:
        nonlocal k
        xb, yb = batches[k % len(batches)]
        k += 1
        opt.zero_grad(set_to_none=True)
        loss_fn(compiled(xb), yb).backward()
        opt.step()

    first = _per_step(step, 1)
    step()  # a second shape-specialised call, if any, before timing
    fast = min(_per_step(step, steps) for _ in range(3))
    n_train = ds.full_train
    cold_steps = exp.epochs * math.ceil(n_train / b)
    compile_s = max(first - eager, 0.0)
    gain = eager - fast
    return {"eager_us": 1e6 * eager, "compiled_us": 1e6 * fast, "compile_s": compile_s,
            "payback_steps": compile_s / gain if gain > 0 else math.inf,
            "cold_build_steps": float(cold_steps)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m looking_inside.bench.compile",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=100, help="steps timed per run")
    ap.add_argument("--only", action="append", metavar="NAME", help="one experiment")
    args = ap.parse_args(argv)
    print(f"torch {torch.__version__}, one thread; per step, best of 3 runs of "
          f"{args.steps} steps")
    print(f"{'experiment':<18}{'ours us':>9}{'compiled us':>13}{'compile s':>11}"
          f"{'pays back after':>17}{'steps/cold build':>18}")
    for name in args.only or EXPERIMENTS:
        r = measure(name, args.steps)
        back = "never" if math.isinf(r["payback_steps"]) else f"{r['payback_steps']:.0f} steps"
        print(f"{name:<18}{r['eager_us']:>9.0f}{r['compiled_us']:>13.0f}"
              f"{r['compile_s']:>11.1f}{back:>17}{r['cold_build_steps']:>18.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
