"""The download path, for real: full-size official archives from a local HTTP server.

The real subsets are tiled to full size and written in the official formats (gzipped
IDX files; CIFAR-10's python ``.tar.gz`` with ``cifar-10-batches-py/`` inside), served
from 127.0.0.1, and torchvision's mirrors, URL and md5s are pointed at them in the
child process by a ``sitecustomize`` module. ``python -m looking_inside data`` then
runs on an empty data root, as a user's first build would.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SITECUSTOMIZE = '''
import json, os
cfg = os.environ.get("LI_TEST_MIRROR")
if cfg:
    cfg = json.loads(cfg)
    import torchvision.datasets as tvd
    tvd.MNIST.mirrors = [cfg["mirror"]]
    tvd.MNIST.resources = [tuple(r) for r in cfg["resources"]]
    tvd.CIFAR10.url = cfg["cifar_url"]
    tvd.CIFAR10.tgz_md5 = cfg["cifar_md5"]
'''
MNIST_GZ = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def tile(a: np.ndarray, n: int) -> np.ndarray:
    return a[np.arange(n) % len(a)]


def make_archives(real: Path, out: Path) -> dict[str, Any]:
    """Full-size MNIST and CIFAR-10 in their official download formats."""
    raw = real / "MNIST" / "raw"
    expect: dict[str, Any] = {}
    for prefix, n in (("train", 60000), ("t10k", 10000)):
        img = np.fromfile(raw / f"{prefix}-images-idx3-ubyte", np.uint8, offset=16)
        lbl = np.fromfile(raw / f"{prefix}-labels-idx1-ubyte", np.uint8, offset=8)
        img, lbl = tile(img.reshape(-1, 784), n), tile(lbl, n)
        expect[f"mnist-{prefix}"] = lbl
        for name, body in ((f"{prefix}-images-idx3-ubyte",
                            struct.pack(">IIII", 2051, n, 28, 28) + img.tobytes()),
                           (f"{prefix}-labels-idx1-ubyte",
                            struct.pack(">II", 2049, n) + lbl.tobytes())):
            with gzip.open(out / f"{name}.gz", "wb", compresslevel=1) as f:
                f.write(body)
    stage = out / "stage" / "cifar-10-batches-py"
    stage.mkdir(parents=True)
    src = real / "cifar-10-batches-py"
    for name in CIFAR_FILES:
        with open(src / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")  # trusted input: the shared subset
        if name != "batches.meta":
            batch["data"] = tile(batch["data"], 10000)
            batch["labels"] = [int(v) for v in tile(np.array(batch["labels"]), 10000)]
            batch.pop("filenames", None)
            expect[f"cifar-{name}"] = batch["labels"]
        (stage / name).write_bytes(pickle.dumps(batch, protocol=2))
    # Level 0 is still gzip (stored blocks): the format is what matters, not the ratio.
    with tarfile.open(out / "cifar-10-python.tar.gz", "w:gz", compresslevel=0) as tar:
        tar.add(stage, arcname="cifar-10-batches-py")
    shutil.rmtree(out / "stage")
    # The real subset as it is, for the steps where the size does not matter.
    with tarfile.open(out / "cifar-subset.tar.gz", "w:gz", compresslevel=0) as tar:
        tar.add(src, arcname="cifar-10-batches-py")
    return expect


class Server(http.server.ThreadingHTTPServer):
    files: Path
    rules: dict[str, tuple[str, int]]  # one-shot: file name -> ("cut"|"stall", bytes)
    stalled: threading.Event
    release: threading.Event
    served: list[str]


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        name = self.path.rsplit("/", 1)[-1]
        path = self.server.files / name
        if "/" in name or not path.is_file():
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        if self.headers.get("Method") == "HEAD":  # torchvision's redirect probe
            return
        self.server.served.append(name)
        rule = self.server.rules.pop(name, None)
        try:
            with path.open("rb") as f:
                if rule is None:
                    shutil.copyfileobj(f, self.wfile)
                    return
                self.wfile.write(f.read(rule[1]))
                self.wfile.flush()
                if rule[0] == "stall":  # mid-file, until the test has killed the client
                    self.server.stalled.set()
                    self.server.release.wait(120)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def mirror(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    files = tmp_path_factory.mktemp("mirror")
    expect = make_archives(data_root, files)
    good_md5 = md5(files / "cifar-10-python.tar.gz")
    tampered = bytearray((files / "train-labels-idx1-ubyte.gz").read_bytes())
    tampered[len(tampered) // 2] ^= 0xFF
    (files / "tampered.gz").write_bytes(bytes(tampered))
    site = tmp_path_factory.mktemp("site-hook")
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.files, srv.rules, srv.served = files, {}, []
    srv.stalled, srv.release = threading.Event(), threading.Event()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    cfg = {"mirror": base, "resources": [(f"{n}.gz", md5(files / f"{n}.gz")) for n in MNIST_GZ],
           "cifar_url": base + "cifar-10-python.tar.gz", "cifar_md5": good_md5}
    subset = {"cifar_url": base + "cifar-subset.tar.gz",
              "cifar_md5": md5(files / "cifar-subset.tar.gz")}
    yield {"server": srv, "cfg": cfg, "site": site, "expect": expect, "base": base,
           "subset": subset, "real": data_root}
    srv.release.set()
    srv.shutdown()
    srv.server_close()


def child_env(m: dict, root: Path, cache: Path, **cfg: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env.update(PYTHONPATH=os.pathsep.join([str(m["site"]), src]),
               LI_TEST_MIRROR=json.dumps({**m["cfg"], **cfg}),
               LOOKING_INSIDE_DATA=str(root), LOOKING_INSIDE_CACHE=str(cache),
               LOOKING_INSIDE_DOWNLOAD="1", no_proxy="127.0.0.1,localhost")
    return env


def run_data(m: dict, root: Path, cache: Path, **cfg: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "looking_inside", "data"],
                          env=child_env(m, root, cache, **cfg), capture_output=True,
                          text=True, timeout=300)


def leftovers(root: Path) -> list[str]:
    """Anything in the data root that is not a complete data set's folder."""
    return sorted(p.name for p in root.iterdir() if p.name not in ("MNIST", "cifar-10-batches-py"))


def test_download_checksum_and_interruption(mirror: dict, tmp_path: Path) -> None:
    srv: Server = mirror["server"]
    expect = mirror["expect"]

    # 1. An empty data root: both data sets come down, full size, and load.
    root = tmp_path / "fresh"
    proc = run_data(mirror, root, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mnist: 60,000 train / 10,000 test images" in proc.stdout
    assert "cifar10: 50,000 train / 10,000 test images" in proc.stdout
    assert leftovers(root) == []
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(MNIST_GZ)
    assert sorted(p.name for p in (root / "cifar-10-batches-py").iterdir()) == \
        sorted(CIFAR_FILES)
    labels = np.fromfile(root / "MNIST" / "raw" / "train-labels-idx1-ubyte", np.uint8,
                         offset=8)
    assert np.array_equal(labels, expect["mnist-train"])
    from looking_inside.data.readers import read_cifar_batch

    batch = read_cifar_batch(root / "cifar-10-batches-py" / "test_batch")
    assert batch["labels"] == expect["cifar-test_batch"]

    def with_mnist(name: str) -> Path:
        r = tmp_path / name
        shutil.copytree(root / "MNIST", r / "MNIST")
        return r

    # 2. A tampered file (the labels, after the images were fetched and extracted):
    # a clear checksum error, and nothing half-extracted left in the data root.
    r2 = tmp_path / "tampered"
    resources = [list(r) for r in mirror["cfg"]["resources"]]
    resources[1][0] = "tampered.gz"  # served bytes differ from the declared md5
    resources[1][1] = mirror["cfg"]["resources"][1][1]
    proc = run_data(mirror, r2, tmp_path / "cache", resources=resources)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "error: mnist: data files not found" in proc.stderr
    assert "download failed: tampered.gz:" in proc.stderr
    assert "File not found or corrupted" in proc.stderr
    assert leftovers(r2) == [] and not (r2 / "MNIST").exists()

    # 3. The server drops the connection mid-file: an error, nothing left behind...
    # (steps 3 to 5 fetch the real subset's archive: only step 1 needs the full size)
    subset = mirror["subset"]
    r3 = with_mnist("interrupted")
    srv.rules["cifar-subset.tar.gz"] = ("cut", 5_000_000)
    proc = run_data(mirror, r3, tmp_path / "cache", **subset)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "download failed" in proc.stderr and "Traceback" not in proc.stderr
    assert leftovers(r3) == [] and not (r3 / "cifar-10-batches-py").exists()

    # 4. ...and the client is killed mid-file: its temp folder stays (nothing can
    # run on SIGKILL), outside the data set's folder, so nothing reads it...
    srv.rules["cifar-subset.tar.gz"] = ("stall", 5_000_000)
    srv.stalled.clear()
    child = subprocess.Popen([sys.executable, "-m", "looking_inside", "data"],
                             env=child_env(mirror, r3, tmp_path / "cache", **subset),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert srv.stalled.wait(120), "the child never reached the stalled download"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        srv.release.set()
    stale = leftovers(r3)
    assert len(stale) == 1 and stale[0].startswith(f".download-{child.pid}-"), stale
    assert not (r3 / "cifar-10-batches-py").exists()

    # 5. ...and the next run recovers: a whole download, the stale folder removed.
    srv.release.clear()
    proc = run_data(mirror, r3, tmp_path / "cache", **subset)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The data root's own batches (the shared subsets, or their full-size tiling).
    served = {n: read_cifar_batch(mirror["real"] / "cifar-10-batches-py" / n)["labels"]
              for n in CIFAR_FILES[:-1]}
    n_train = sum(len(v) for k, v in served.items() if k != "test_batch")
    assert f"cifar10: {n_train:,} train / {len(served['test_batch']):,} test images" \
        in proc.stdout
    assert leftovers(r3) == []
    batch = read_cifar_batch(r3 / "cifar-10-batches-py" / "data_batch_5")
    assert batch["labels"] == served["data_batch_5"]
