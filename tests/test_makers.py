"""The maker: a process forked to load the makers' code while the builder works out
the rest, then to make what it is told (``makers.py``); and the makers that start
products while the networks train (``Builder._make_while_training``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from looking_inside.build import Builder
from looking_inside.config import get_experiment, load_settings
from looking_inside.errors import BuildError
from looking_inside.machine import available_cpus
from looking_inside.makers import Maker
from looking_inside.products.figures.registry import get_figure

_WARMED: list[int] = []


def _warm() -> None:
    _WARMED.append(os.getpid())


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_maker_warms_in_its_own_process_and_hands_back_the_result() -> None:
    maker = Maker(warm=_warm, do=lambda names: {"pid": os.getpid(), "warmed": _WARMED,
                                                "names": names})
    out = maker.make(["a", "b"])
    assert out["names"] == ["a", "b"]
    assert out["pid"] != os.getpid() and out["warmed"] == [out["pid"]]
    assert _WARMED == []  # the warm-up ran in the child only
    assert _gone(out["pid"])  # and the child was waited for


def _fail(names: list[str]) -> None:
    raise BuildError(f"{names[0]}: no such thing; fix it")


class _Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("held a lambda")
        self.f = lambda: None


def _fail_oddly(names: list[str]) -> None:
    raise _Unpicklable


def _die(names: list[str]) -> None:
    os._exit(3)


def test_what_the_maker_raised_is_raised_here() -> None:
    with pytest.raises(BuildError, match="x: no such thing; fix it"):
        Maker(warm=_warm, do=_fail).make(["x"])
    with pytest.raises(BuildError, match="_Unpicklable: held a lambda"):
        Maker(warm=_warm, do=_fail_oddly).make(["x"])
    with pytest.raises(BuildError, match="ended early"):
        Maker(warm=_warm, do=_die).make(["x"])


def _slowly(what: str) -> str:
    import time

    time.sleep(0.5)
    return what.upper()


def test_a_result_is_collected_when_it_is_done() -> None:
    """``send`` returns at once; ``done`` says when ``result`` will not wait."""
    import time

    maker = Maker(warm=_warm, do=_slowly)
    maker.send("made")
    assert not maker.done()
    deadline = time.monotonic() + 30
    while not maker.done():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert maker.result() == "MADE"
    assert maker.pid is None


def _slow_warm() -> None:
    import time

    time.sleep(30)


def test_a_maker_with_nothing_to_make_is_killed_at_once() -> None:
    """A warm build needs no maker: closing it must not wait for its imports."""
    import time

    maker = Maker(warm=_slow_warm, do=_fail)
    pid = maker.pid
    assert pid is not None
    t = time.perf_counter()
    maker.close()
    assert time.perf_counter() - t < 5
    assert maker.pid is None and _gone(pid)


CHILD = """
import json, sys
from looking_inside.build import Builder
from looking_inside.config import get_experiment, load_settings
from looking_inside.makers import for_products
settings = load_settings(data_root=sys.argv[1], cache_dir=sys.argv[2])
maker = for_products(settings)
with Builder(settings, maker=maker) as b:
    missed = b.lookup() is None
    b.build()
    print(json.dumps({"missed": missed, "made": b.made, "used": maker._used,
                      "gone": maker.pid is None}))
"""


def test_an_edited_figure_is_made_by_the_maker_byte_for_byte(
        data_root: Path, built_site: Path, session_cache: Path, tmp_path: Path) -> None:
    """The whole path, as the ``figures`` command takes it (in a process of its own:
    a maker is never forked where torch is loaded, as it is in this one): a maker
    forked first, a product missing from a warm cache, the product made by the maker
    (in workers forked from it) and stored, byte-identical to what the site build
    made."""
    cache = tmp_path / "cache"
    shutil.copytree(session_cache, cache)
    settings = load_settings(data_root=data_root, cache_dir=cache)
    with Builder(settings) as b:
        (product,) = [p for p in b.products() if p.name == "cifar-samples"]
        entry = cache / "figure" / product.name / b.key(product)
    before = {f.name: f.read_bytes() for f in entry.iterdir()}
    shutil.rmtree(entry)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(data_root), str(cache)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "missed": True, "made": ["cifar-samples"], "used": True, "gone": True}
    assert {f.name: f.read_bytes() for f in entry.iterdir()} == before


def test_no_maker_where_torch_is_loaded() -> None:
    """torch's thread pools do not survive a fork: a process that imported it makes
    its products as before."""
    code = ("import torch, sys\n"
            "from looking_inside.config import load_settings\n"
            "from looking_inside.makers import for_products\n"
            "print(for_products(load_settings()) is None)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


EARLY = """
import json, sys
from looking_inside.build import Builder
from looking_inside.config import get_experiment, load_settings
settings = load_settings(data_root=sys.argv[1], cache_dir=sys.argv[2])
with Builder(settings) as b:
    b.build()
    print(json.dumps({"made": sorted(b.made), "early": b.made_early,
                      "trained": "train (child)" in b.pipeline.timings.phases}))
"""


def test_products_are_made_while_a_network_trains_byte_for_byte(
        data_root: Path, built_site: Path, session_cache: Path, tmp_path: Path) -> None:
    """One network to retrain, so one trainer and an idle CPU: the missing products
    that do not read it are made meanwhile, in processes forked off the builder; every
    product comes out byte-identical to what the site build made (training is
    deterministic). In a process of its own: one that imported torch trains in-process."""
    if available_cpus() < 2:
        pytest.skip("no CPU is left idle by one trainer")
    cache = tmp_path / "cache"
    shutil.copytree(session_cache, cache)
    settings = load_settings(data_root=data_root, cache_dir=cache)
    names = {"mnist-weights-0", "cifar-samples", "capacity-sweep"}
    with Builder(settings) as b:
        wanted = [p for p in b.products() if p.name in names]
        entries = {p.name: cache / p.kind / p.name / b.key(p) for p in wanted}
        retrain = get_experiment("mnist-sweep-0")
        result = cache / "results" / retrain.name / b.pipeline.result_key(retrain)
    assert all(e.is_dir() for e in entries.values()) and result.is_dir()
    before = {n: {f.name: f.read_bytes() for f in e.iterdir()} for n, e in entries.items()}
    shutil.rmtree(result)
    for e in entries.values():
        shutil.rmtree(e)
    proc = subprocess.run([sys.executable, "-c", EARLY, str(data_root), str(cache)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["trained"] and out["made"] == sorted(names)
    # The trainer takes seconds (importing torch alone): the products that do not read
    # what it trains are all made by then.
    assert {n + (f" ({part})" if part else "") for n in names - {"capacity-sweep"}
            for part in get_figure(n).product().parts or (None,)} <= set(out["early"])
    assert {n: {f.name: f.read_bytes() for f in e.iterdir()}
            for n, e in entries.items()} == before
