"""A process forked off at the start to make the missing products.

Making a figure needs matplotlib, its font list and the figure modules: ~0.5 s of
imports, a third of a figure edit's run. They used to start once the builder had
worked out, from the source and the cache, everything that was missing. The
``figures`` command (which ``mkdocs build`` and ``mkdocs serve`` run for every build
that makes anything) forks a ``Maker`` first thing instead, which loads them on the
other CPU meanwhile; when the builder knows what to make, it hands over their inputs and
the maker makes them, in workers forked from it that inherit what it loaded, and
hands the files back. When nothing is missing, it is killed unused.

Forked, so only from a process that is single-threaded and has not imported torch.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

from looking_inside.config import Settings
from looking_inside.errors import BuildError
from looking_inside.machine import die_with_parent


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
        self._used = True
        try:
            pickle.dump(what, self._down)
            self._down.close()
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
    """A maker for this build's products, or None where processes cannot fork (or
    torch is loaded: its thread pools do not survive a fork)."""
    if not hasattr(os, "fork") or "torch" in sys.modules:
        return None

    def warm() -> None:
        # The products' warm-ups (for figures: matplotlib and the font), not their
        # modules: which of those are needed is known later, and each is small.
        from looking_inside.products.catalog import products, warm_up

        warm_up(products(), quiet=True, modules=False)

    def make(inputs: dict[str, Any]) -> dict[str, dict[str, bytes]]:
        """``inputs``: each missing product's, by name."""
        from looking_inside.build import Builder

        with Builder(settings) as b:
            return b.make_files([p for p in b.products() if p.name in inputs], inputs)

    return Maker(warm, make)
