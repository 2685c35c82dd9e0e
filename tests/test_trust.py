"""Trust nothing on disk, part 2: one test per class of failure, with real files (FIFOs,
crafted entries), real processes (killed parents, a stalled local server) and the real
generator. Each class: what a probe found, and the mechanism that now refuses it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from looking_inside.build import MANIFEST, Build
from looking_inside.cache import STAMP, sha256_bytes
from looking_inside.config import load_settings

from helpers import descendants, kill_and_check_no_orphans

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], env: dict[str, str], timeout: float = 120,
         **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, **kw)


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    return lines[0]


@pytest.fixture()
def warm(session_cache: Path, built_site: Path, tmp_path: Path, data_root: Path) -> Path:
    """A copy of the session's warm cache: the entries of this build's keys alone."""
    cache = tmp_path / "cache"
    b = Build(load_settings(data_root=data_root, cache_dir=session_cache))
    keys = {("results", e.name): b.pipeline.result_key(e) for e in b.settings.experiments}
    keys.update({(p.kind, p.name): b.key(p) for p in b.products})
    for (kind, name), key in keys.items():
        shutil.copytree(session_cache / kind / name / key, cache / kind / name / key)
    shutil.copy(session_cache / "data-hashes.json", cache / "data-hashes.json")
    return cache


def _entry(cache: Path, kind: str, name: str) -> Path:
    (entry,) = [d for d in (cache / kind / name).iterdir() if not d.name.startswith(".")]
    return entry


def _restamp(entry: Path, **files: bytes) -> None:
    """Write ``files`` into an entry and record them in its stamp, digests and all, as
    an attacker with write access to the cache would."""
    stamp = json.loads((entry / STAMP).read_text())
    for name, data in files.items():
        (entry / name).write_bytes(data)
        stamp["files"][name] = sha256_bytes(data)
    (entry / STAMP).write_text(json.dumps(stamp))


def _generate(data_root: Path, cache: Path, out: Path) -> subprocess.CompletedProcess:
    return _run(["-m", "looking_inside", "generate", "--out", str(out)],
                {"LOOKING_INSIDE_DATA": str(data_root), "LOOKING_INSIDE_CACHE": str(cache),
                 "LOOKING_INSIDE_DOWNLOAD": "0"}, timeout=600)


def _published(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*")
            if p.is_file() and p.name != "manifest.json"}


# 1. What is not a regular file is never opened blocking. ---------------------------

def _data_copy(data_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(data_root, root)
    return root


@pytest.mark.parametrize("what", ["fifo", "directory"])
def test_a_fifo_or_folder_in_place_of_a_data_file_is_one_line(data_root: Path, tmp_path: Path,
                                                              what: str) -> None:
    root = _data_copy(data_root, tmp_path)
    target = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    target.unlink()
    os.mkfifo(target) if what == "fifo" else target.mkdir()
    proc = _run(["-m", "looking_inside", "data"], {"LOOKING_INSIDE_DATA": str(root),
                                                    "LOOKING_INSIDE_DOWNLOAD": "0"}, timeout=60)
    line = _one_error_line(proc)
    assert str(target) in line and "not a regular file" in line


def test_a_fifo_inside_a_cache_entry_is_a_repair_not_a_hang(warm: Path, data_root: Path,
                                                           tmp_path: Path) -> None:
    entry = _entry(warm, "figure", "mnist-confusion")
    svg = entry / "mnist-confusion.light.svg"
    svg.unlink()
    os.mkfifo(svg)
    proc = _generate(data_root, warm, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "is damaged" in proc.stderr and "made: mnist-confusion" in proc.stdout


# 2 and 4. What a page shows is checked; results are read within bounds. -------------
# One generator run over a cache damaged in seven networks at once, each in one way,
# with the digests in their stamps updated as an attacker with write access would.

def _npz_with(entry: Path, **arrays: np.ndarray) -> bytes:
    import io

    with np.load(entry / "arrays.npz") as z:
        a = {k: z[k] for k in z.files}
    a.update(arrays)
    buf = io.BytesIO()
    np.savez(buf, **a)  # type: ignore[arg-type]
    return buf.getvalue()


def _huge_member(entry: Path) -> bytes:
    """An extra member of a few hundred bytes whose header declares 10**12 floats."""
    import io
    import zipfile

    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float64))
    header["shape"] = (10**12,)
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, header)
    buf = io.BytesIO((entry / "arrays.npz").read_bytes())
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("huge.npy", npy.getvalue() + b"\0" * 64)
    return buf.getvalue()


def _meta_with(entry: Path, field: str, value: object) -> bytes:
    meta = json.loads((entry / "meta.json").read_text())
    meta[field] = value
    return json.dumps(meta).encode()


DAMAGE = {  # network (small ones: each is retrained) -> how its entry is damaged
    "mnist-sweep-0": ("meta", "device", "<img src=x onerror=alert(1)>"),
    "mnist-sweep-30": ("meta", "train_seconds", "fast"),
    "mnist-sweep-10-seed1": ("meta", "test_accuracy", 7.5),
    "mnist-sweep-10-seed2": ("meta", "n_test", -1),
    "mnist-sweep-100": ("huge member",),
    "cifar-sweep-0": ("deep meta",),
    "mnist-sweep-10": ("hidden of the wrong shape",),
}


def test_crafted_summaries_and_unbounded_results_are_retrained(
        warm: Path, data_root: Path, tmp_path: Path, built_site: Path) -> None:
    """The summary the how-built page shows comes from the digested meta.json, checked
    field by field; an .npz member may not declare more than it holds; a meta.json
    nested 100,000 deep and arrays of the wrong shape are refused: each is a damaged
    entry, retrained, and the published files are those of a clean build."""
    for name, (how, *what) in DAMAGE.items():
        entry = _entry(warm, "results", name)
        if how == "meta":
            _restamp(entry, **{"meta.json": _meta_with(entry, *what)})
        elif how == "huge member":
            _restamp(entry, **{"arrays.npz": _huge_member(entry)})
        elif how == "deep meta":
            _restamp(entry, **{"meta.json": b"[" * 100_000 + b"]" * 100_000})
        else:
            with np.load(entry / "arrays.npz") as z:
                hidden = z["hidden"]
            _restamp(entry, **{"arrays.npz": _npz_with(entry, hidden=hidden[:, :5])})
    # The facts read every network: made again, they make every entry's arrays read.
    shutil.rmtree(warm / "facts")
    proc = _generate(data_root, warm, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    assert proc.stderr.count("could not be loaded") == len(DAMAGE), proc.stderr[-3000:]
    text = (tmp_path / "out" / MANIFEST).read_text()
    assert "onerror" not in text and '"fast"' not in text
    rows = {e["name"]: e for e in json.loads(text)["experiments"]}
    assert all(not rows[n]["cache_hit"] for n in DAMAGE)
    assert all(r["device"] == "cpu" and 0 <= r["test_accuracy"] <= 1 for r in rows.values())
    for rel, data in _published(tmp_path / "out").items():
        assert (built_site / rel).read_bytes() == data, rel


# 3. A product's entry holds exactly the files of its kind. ----------------------------

@pytest.mark.parametrize("case", ["extra page", "another figure's file", "facts missing",
                                  "only the data file", "no phone layout"])
def test_a_product_entry_with_the_wrong_files_is_rebuilt(warm: Path, data_root: Path,
                                                         tmp_path: Path, built_site: Path,
                                                         case: str) -> None:
    if case == "extra page":
        entry = _entry(warm, "figure", "mnist-confusion")
        _restamp(entry, **{"evil.html": b"<script>alert(1)</script>"})
    elif case == "another figure's file":
        entry = _entry(warm, "figure", "mnist-confusion")
        _restamp(entry, **{"mnist-weights-0.light.svg": b"<svg/>"})
    elif case == "facts missing":
        entry = _entry(warm, "facts", "facts")
        stamp = json.loads((entry / STAMP).read_text())
        stamp["files"] = {"other.json": stamp["files"].pop("facts.json")}
        (entry / "facts.json").rename(entry / "other.json")
        (entry / STAMP).write_text(json.dumps(stamp))
    elif case == "only the data file":
        entry = _entry(warm, "figure", "mnist-confusion")
        stamp = json.loads((entry / STAMP).read_text())
        stamp["files"] = {"mnist-confusion.csv": stamp["files"]["mnist-confusion.csv"]}
        (entry / STAMP).write_text(json.dumps(stamp))
    else:  # an entry made before the figure had a phone layout
        entry = _entry(warm, "figure", "mnist-weights-all")
        stamp = json.loads((entry / STAMP).read_text())
        for f in [f for f in stamp["files"] if ".narrow." in f]:
            del stamp["files"][f]
            (entry / f).unlink()
        (entry / STAMP).write_text(json.dumps(stamp))
    proc = _generate(data_root, warm, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "is damaged" in proc.stderr
    out = tmp_path / "out"
    assert not (out / "figures" / "evil.html").exists()
    for rel, data in _published(out).items():
        assert (built_site / rel).read_bytes() == data, rel


# 5. Children die with their parent; scratch folders of dead builds are swept. --------

def test_killing_mkdocs_while_figures_render_leaves_no_process(warm: Path, data_root: Path,
                                                               tmp_path: Path) -> None:
    """mkdocs -> generate -> a pool of workers: SIGKILL to mkdocs ends them all."""
    for kind in ("figure", "export", "facts"):
        shutil.rmtree(warm / kind)
    env = {**os.environ, "LOOKING_INSIDE_DATA": str(data_root),
           "LOOKING_INSIDE_CACHE": str(warm), "LOOKING_INSIDE_DOWNLOAD": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "mkdocs", "build", "--site-dir",
                             str(tmp_path / "site")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(descendants(proc.pid)) < 3:  # generate and two workers
        assert time.monotonic() < deadline and proc.poll() is None, "no pool started"
        time.sleep(0.02)
    kill_and_check_no_orphans(proc)


def test_a_dead_builds_scratch_folder_is_swept(tmp_path: Path) -> None:
    from looking_inside.cache import Cache

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    parent = tmp_path / "cache" / "figure" / "x"
    parent.mkdir(parents=True)
    (parent / f".tmp-{dead}-abc").mkdir()
    (parent / f".tmp-{os.getpid()}-def").mkdir()  # a live build's: kept
    Cache(tmp_path / "cache").put("figure", "x", "key", {"a.svg": b"<svg/>"})
    assert sorted(p.name for p in parent.glob(".tmp-*")) == [f".tmp-{os.getpid()}-def"]


# 6. A stalled mirror is one error line that names it. ---------------------------------

SITE_HOOK = """
import json, os
cfg = os.environ.get("LI_TEST_MIRROR")
if cfg:
    cfg = json.loads(cfg)
    import torchvision.datasets as tvd
    tvd.MNIST.mirrors = [cfg["mirror"]]
    import looking_inside.data.load as load
    load.NETWORK_TIMEOUT = 1.0
"""


def test_a_stalled_mirror_is_one_error_line(tmp_path: Path) -> None:
    """A local server that accepts the connection and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITE_HOOK)
    mirror = f"http://127.0.0.1:{srv.getsockname()[1]}/mnist/"
    try:
        t = time.monotonic()
        proc = _run(["-m", "looking_inside", "data"], {
            "LOOKING_INSIDE_DATA": str(tmp_path / "empty"), "LOOKING_INSIDE_DOWNLOAD": "1",
            "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT / "src")]),
            "LI_TEST_MIRROR": json.dumps({"mirror": mirror})}, timeout=120)
        assert time.monotonic() - t < 60
    finally:
        stop.set()
        srv.close()
        for c in held:
            c.close()
    line = _one_error_line(proc)
    assert mirror in line and "timed out" in line and "fix:" in line


# 7. The font's identity moves with an in-place rewrite that restores the mtime. ------

def test_a_font_rewritten_in_place_moves_the_figure_keys(tmp_path: Path, data_root: Path,
                                                         monkeypatch) -> None:
    font = tmp_path / "font.ttf"
    font.write_bytes(b"one font, some bytes")
    monkeypatch.setenv("LOOKING_INSIDE_FONT", str(font))
    settings_ = load_settings(data_root=data_root, cache_dir=tmp_path / "c")
    before = {p.name: Build(settings_).key(p) for p in Build(settings_).products}
    st_ = font.stat()
    time.sleep(0.01)
    font.write_bytes(b"two font, some bytes")  # same size
    os.utime(font, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    b = Build(settings_)
    after = {p.name: b.key(p) for p in b.products}
    assert {n for n in before if before[n] != after[n]} == \
        {p.name for p in b.products if p.kind == "figure"}


# 8. Roots the build should refuse. ----------------------------------------------------

@pytest.mark.parametrize("where", ["docs/cache", "site/cache"])
def test_a_cache_inside_the_site_is_refused(project_copy: Path, data_root: Path,
                                            where: str) -> None:
    project = project_copy
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project,
                          env={**os.environ, "LOOKING_INSIDE_DATA": str(data_root),
                               "LOOKING_INSIDE_CACHE": where}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("ERROR")]
    assert len(errors) == 1 and "is inside" in errors[0] and "fix:" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project / where / "results").exists(), "nothing trained before the refusal"


def test_a_font_file_that_is_not_a_font_is_one_line(warm: Path, data_root: Path,
                                                    tmp_path: Path) -> None:
    (tmp_path / "font.ttf").write_bytes(b"not a font at all")
    proc = _run(["-m", "looking_inside", "generate", "--out", str(tmp_path / "out")], {
        "LOOKING_INSIDE_DATA": str(data_root), "LOOKING_INSIDE_CACHE": str(warm),
        "LOOKING_INSIDE_FONT": str(tmp_path / "font.ttf")}, timeout=300)
    assert "not a font matplotlib can read" in _one_error_line(proc)


@pytest.mark.parametrize("case", ["data root loop", "cache root loop"])
def test_a_root_that_cannot_be_resolved_is_one_line(tmp_path: Path, data_root: Path,
                                                    case: str) -> None:
    env = {"LOOKING_INSIDE_DATA": str(data_root), "LOOKING_INSIDE_DOWNLOAD": "0",
           "LOOKING_INSIDE_CACHE": str(tmp_path / "cache")}
    loop = tmp_path / "loop"
    (tmp_path / "loop2").symlink_to(loop)
    loop.symlink_to(tmp_path / "loop2")
    env["LOOKING_INSIDE_DATA" if case == "data root loop" else "LOOKING_INSIDE_CACHE"] = \
        str(loop)
    line = _one_error_line(_run(["-m", "looking_inside", "data"], env))
    assert "cannot be resolved" in line and "fix:" in line


# 10. A full disk: each network is trained once, then the build says so and stops. -----

def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_a_full_disk_trains_each_network_once_and_says_so(data_root: Path,
                                                          tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "looking_inside", "train", "-v", "--only", "mnist-sweep-0",
         "--only", "mnist-sweep-10"], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "LOOKING_INSIDE_DATA": str(data_root),
             "LOOKING_INSIDE_CACHE": str(tmp_path / "cache"), "LOOKING_INSIDE_DOWNLOAD": "0"},
        preexec_fn=_small_files)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert errors and all("cannot write to the cache folder" in e for e in errors), proc.stderr
    assert len(errors) <= 2  # one per trainer, each for the network it trained
    trained = [ln for ln in proc.stderr.splitlines() if ": training on " in ln]
    assert len(trained) <= 2, "a network trained twice"
    assert not list((tmp_path / "cache").rglob(".tmp-*"))


# 12. Any single-field change to any product stamp: the same files, or a repair. --------

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=12),
                    st.lists(st.integers(0, 2), max_size=2),
                    st.dictionaries(st.text(max_size=6), st.integers(0, 2), max_size=2))


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(product=st.sampled_from(["figure/mnist-weights-0", "facts/facts",
                                "export/mnist-examples"]),
       field=st.sampled_from(["format", "kind", "name", "key", "files", "info", "extra"]),
       value=_VALUES)
def test_any_stamp_field_changed_publishes_the_same_or_repairs(
        warm: Path, data_root: Path, built_site: Path, tmp_path_factory, product: str,
        field: str, value: object) -> None:
    cache = tmp_path_factory.mktemp("prop")
    shutil.rmtree(cache)
    shutil.copytree(warm, cache)
    kind, name = product.split("/")
    entry = _entry(cache, kind, name)
    stamp = json.loads((entry / STAMP).read_text())
    stamp[field] = value
    (entry / STAMP).write_text(json.dumps(stamp))
    out = cache.parent / "out"
    build = Build(load_settings(data_root=data_root, cache_dir=cache))
    manifest = build.run(out)
    assert manifest.repaired in (0, 1)
    assert manifest.made == ([name] if manifest.repaired else [])
    for rel, data in _published(out).items():
        assert (built_site / rel).read_bytes() == data, rel
