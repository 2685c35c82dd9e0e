"""The processes that make products: a pool of workers forked once the makers' code is
loaded, and single makers forked ahead of time.

Making a figure needs matplotlib, its font list and the figure modules: ~0.5 s of
imports, a third of a figure edit's run. The ``figures`` command (which ``mkdocs
build`` and ``mkdocs serve`` run for every build that makes anything) forks a maker
first thing (``for_products``), which loads them on the other CPU while the builder
works out, from the source and the cache, what is missing; the builder then hands
over those products' inputs and the maker makes them, in workers forked from it that
inherit what it loaded, and hands the files back. When nothing is missing, it is
killed unused. A build that trains forks a maker per product part instead, as CPUs
fall idle (``Builder._make_while_training``).

Forked, so only from a process that is single-threaded and has not imported torch.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from looking_inside.config import Settings, get_experiment
from looking_inside.errors import BuildError
from looking_inside.machine import available_cpus, die_with_parent

if TYPE_CHECKING:
    from looking_inside.data.readers import Split
    from looking_inside.products.inputs import Product, ProductInputs
    from looking_inside.training.pipeline import Pipeline


def can_fork() -> bool:
    """Whether this process may fork makers and workers: not where torch is loaded
    (its thread pools do not survive a fork), nor where the system cannot fork."""
    return hasattr(os, "fork") and "torch" not in sys.modules


class Maker:
    """``warm()`` runs in the child at once; ``make(what)`` runs ``do(what)`` there
    and returns its result, or raises what it raised."""

    def __init__(self, warm: Callable[[], None], do: Callable[[Any], Any]) -> None:
        down_r, down_w = os.pipe()  # what to make, to the child
        up_r, up_w = os.pipe()  # the result, back
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            os.close(down_w)
            os.close(up_r)
            _serve(down_r, up_w, warm, do)
        os.close(down_r)
        os.close(up_w)
        self.pid: int | None = pid
        self._used = False
        self._down = os.fdopen(down_w, "wb")
        self._up = os.fdopen(up_r, "rb")

    def make(self, what: Any) -> Any:
        self.send(what)
        return self.result()

    def send(self, what: Any) -> None:
        """Hand ``what`` over; ``result`` waits for what ``do`` made of it."""
        self._used = True
        try:
            pickle.dump(what, self._down)
            self._down.close()
        except OSError as exc:
            self.close()
            raise BuildError(f"the process making the figures ended early ({exc})") from exc

    def done(self) -> bool:
        """Whether ``result`` would return at once."""
        return bool(select.select([self._up], [], [], 0)[0])

    def result(self) -> Any:
        try:
            status, value = pickle.load(self._up)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            raise BuildError(f"the process making the figures ended early ({exc})") from exc
        finally:
            self.close()
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """End the child and wait for it: after ``make`` it is leaving anyway; unused,
        it may still be importing, so it is killed rather than waited for."""
        if self.pid is None:
            return
        if not self._used:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        for f in (self._down, self._up):
            with contextlib.suppress(OSError):
                f.close()
        os.waitpid(self.pid, 0)
        self.pid = None


def _serve(down_r: int, up_w: int, warm: Callable[[], None],
           do: Callable[[Any], Any]) -> None:
    """The child: load, wait for what to make, make it, send the result, leave at once
    (``os._exit``: the parent's files and handlers are the parent's to close)."""
    try:
        die_with_parent()
        warm()
        with os.fdopen(down_r, "rb") as down, os.fdopen(up_w, "wb") as up:
            try:
                what = pickle.load(down)
            except EOFError:  # nothing to make after all
                os._exit(0)
            try:
                reply: tuple[str, Any] = ("ok", do(what))
            except BaseException as exc:  # noqa: BLE001 - handed to the parent
                reply = ("error", exc)
            try:
                data = pickle.dumps(reply)
            except Exception:  # an exception that does not pickle: its text does
                data = pickle.dumps(("error", BuildError(f"{type(reply[1]).__name__}: "
                                                         f"{reply[1]}")))
            up.write(data)
    finally:
        os._exit(0)


def for_products(settings: Settings) -> Maker | None:
    """A maker for this build's products, or None where this process cannot fork."""
    if not can_fork():
        return None

    def warm() -> None:
        # The products' warm-ups (for figures: matplotlib and the font), not their
        # modules: which of those are needed is known later, and each is small.
        from looking_inside.products.catalog import products, warm_up

        warm_up(products(), quiet=True, modules=False)

    def make(inputs: dict[str, Any]) -> dict[str, dict[str, bytes]]:
        """``inputs``: each missing product's, by name."""
        from looking_inside.products.catalog import products

        tasks = tasks_of([p for p in products() if p.name in inputs])
        return make_parts(settings, tasks, lambda p: inputs[p.name])

    return Maker(warm, make)


Task = tuple["Product", str | None]  # a product, and which of its parts (None: all)


def tasks_of(products: list[Product]) -> list[Task]:
    """Each product's parts (a product without parts is one task), longest first, so
    that no worker is left with a big one while the others idle at the end. The proxy
    for the cost: how many experiments it reads (the slowest figures are the ones that
    summarise the sweeps or every experiment)."""
    tasks = [(p, part) for p in products for part in p.parts or (None,)]
    return sorted(tasks, key=lambda t: -len(t[0].experiments))


def make_parts(settings: Settings, tasks: list[Task], inputs: Callable[[Product], Any],
               from_cache: bool = False) -> dict[str, dict[str, bytes]]:
    """Make product parts, in the order given (``tasks_of``'s): here when one is left
    (no workers to start), else spread over the CPUs. ``inputs(p)`` loads a product's
    inputs; ``from_cache``: workers that start afresh (where torch is loaded) may read
    them from the cache instead of being handed them."""
    files: dict[str, dict[str, bytes]] = {}
    workers = min(available_cpus(), len(tasks))
    if workers <= 1:
        for p, part in tasks:
            files.setdefault(p.name, {}).update(p.make(inputs(p), part))
        return files
    import multiprocessing
    import multiprocessing.context
    from concurrent.futures import ProcessPoolExecutor

    from looking_inside.products.catalog import warm_up

    global _FORKED
    wanted = list({p.name: p for p, _ in tasks}.values())
    ctx: multiprocessing.context.BaseContext
    if not can_fork():
        # Start fresh interpreters, which read the results from the cache, or are
        # handed them.
        ctx = multiprocessing.get_context("spawn")
        payload = None if from_cache else {p.name: inputs(p) for p in wanted}
    else:
        # Forked workers inherit the loaded inputs and imported modules: no start-up.
        ctx = multiprocessing.get_context("fork")
        payload = None
        # Import the makers' code (for figures: matplotlib and its font list, ~0.5 s)
        # once here, not once in every worker; the warm-up first, as it may choose how
        # (figures: ``render.lean_matplotlib``).
        warm_up(wanted)
        _FORKED = {p.name: inputs(p) for p in wanted}
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = [(p, pool.submit(_make_in_worker, settings, p.name, part,
                                       payload and payload[p.name]))
                       for p, part in tasks]
            for p, f in futures:
                files.setdefault(p.name, {}).update(f.result())
    finally:
        _FORKED = None
    return files


# In a forked worker: the inputs loaded before forking, by product.
_FORKED: dict[str, Any] | None = None


def _make_in_worker(settings: Settings, name: str, part: str | None,
                    inputs: Any = None) -> dict[str, bytes]:
    """One part of a product, made in a worker process."""
    from looking_inside.products.catalog import products

    p = next(p for p in products() if p.name == name)
    if inputs is None and _FORKED is not None:
        inputs = _FORKED[name]
    if inputs is not None:
        return p.make(inputs, part)
    from looking_inside.training.pipeline import Pipeline

    pipeline = Pipeline(settings)  # spawned: read the trained results from the cache
    try:
        return p.make(inputs_of(pipeline, p), part)
    finally:
        pipeline.cache.close()


def inputs_of(pipeline: Pipeline, p: Product) -> ProductInputs:
    """What ``p`` declared, loaded through ``pipeline``: results (trained first if
    missing), test images, and training images if it reads them."""
    results = {e: pipeline.results(get_experiment(e)) for e in p.experiments}
    test: dict[str, Split] = {d: pipeline.test(d) for d in p.datasets}
    train: dict[str, Split] = {d: pipeline.data(d).train for d in p.datasets
                               if p.reads_train}
    return p.inputs(results, test, train)
