"""Loading both data sets: the real subsets, full-size synthetic files, bad files."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from looking_inside.config import load_settings
from looking_inside.data.load import load
from looking_inside.data.readers import CifarUnpickler, read_cifar_batch
from looking_inside.errors import BuildError

from helpers import data_counts, read_cifar_pickle, write_cifar, write_idx_labels, write_mnist


def settings(root: Path, tmp_path: Path):
    return load_settings(data_root=root, cache_dir=tmp_path / "cache")


def test_real_data_load_with_their_true_counts(data_root: Path, tmp_path: Path) -> None:
    """Any real root (the shared subsets, the full sets the workflow downloads, the tiled
    ones of `make ci-full`): as many images as the files themselves say (IDX headers,
    the pickles read by the plain unpickler), never a count written here."""
    counts = data_counts(data_root)
    s = settings(data_root, tmp_path)
    mnist = load(s, "mnist")
    assert (len(mnist.train), len(mnist.test)) == counts["mnist"]
    assert mnist.train.images.shape[1:] == (28, 28) and mnist.train.images.dtype == np.uint8
    assert set(np.unique(mnist.test.labels)) == set(range(10))
    cifar = load(s, "cifar10")
    assert (len(cifar.train), len(cifar.test)) == counts["cifar10"]
    assert cifar.test.images.shape == (counts["cifar10"][1], 3, 32, 32)
    # torchvision's reference reader agrees with ours on the real test batch.
    ref = read_cifar_pickle(data_root / "cifar-10-batches-py" / "test_batch")
    assert np.array_equal(ref["data"].reshape(-1, 3, 32, 32), cifar.test.images)
    assert list(cifar.test.labels) == ref["labels"]


def test_full_size_files_load(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_mnist(root, 60000, 10000)
    write_cifar(root, 10000)
    s = settings(root, tmp_path)
    mnist, cifar = load(s, "mnist"), load(s, "cifar10")
    assert (len(mnist.train), len(mnist.test)) == (60000, 10000)
    assert (len(cifar.train), len(cifar.test)) == (50000, 10000)


def test_fingerprint_moves_with_the_data(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_mnist(root, 50, 20, seed=1)
    s = settings(root, tmp_path)
    first = load(s, "mnist").fingerprint
    assert load(s, "mnist").fingerprint == first
    write_mnist(root, 50, 20, seed=2)
    assert load(s, "mnist").fingerprint != first


def test_wrong_magic_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_mnist(root, 50, 20)
    bad = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x1f\x8b" + bad.read_bytes()[2:])  # looks like gzip
    with pytest.raises(BuildError, match=r"train-images-idx3-ubyte: wrong magic number"):
        load(settings(root, tmp_path), "mnist")


def test_truncated_file_names_the_file_and_both_sizes(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_mnist(root, 50, 20)
    bad = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[: 16 + 28 * 28 * 5 + 100])  # mid-image
    with pytest.raises(BuildError, match=r"t10k-images-idx3-ubyte: header says 20 images.*"
                                          r"truncated"):
        load(settings(root, tmp_path), "mnist")


def test_image_and_label_counts_must_match(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_mnist(root, 50, 20)
    raw = root / "MNIST" / "raw"
    write_idx_labels(raw / "train-labels-idx1-ubyte", np.zeros(49, dtype=np.uint8))
    with pytest.raises(BuildError) as err:
        load(settings(root, tmp_path), "mnist")
    msg = str(err.value)
    assert "train-images-idx3-ubyte holds 50 images" in msg
    assert "train-labels-idx1-ubyte holds 49 labels" in msg


def test_wrong_image_size_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_mnist(root, 5, 5)
    path = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    import struct

    path.write_bytes(struct.pack(">IIII", 2051, 5, 32, 32) + bytes(5 * 32 * 32))
    with pytest.raises(BuildError, match="32x32, MNIST's are 28x28"):
        load(settings(root, tmp_path), "mnist")


class _Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def test_hostile_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_cifar(root, 10)
    marker = tmp_path / "pwned"
    batch = root / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(pickle.dumps({"data": _Hostile(marker), "labels": [0]}, protocol=2))
    # Sanity: the payload does run under plain pickle (in a child process).
    check = tmp_path / "check"
    subprocess.run([sys.executable, "-c", "import pickle,sys; pickle.load(open(sys.argv[1],'rb'))",
                    str(batch)], check=True)
    assert marker.exists(), "the test payload should work against plain pickle"
    marker.unlink()
    with pytest.raises(BuildError, match=r"data_batch_3: not a valid CIFAR-10 batch "
                                          r"\(refused global posix.system"):
        load(settings(root, tmp_path), "cifar10")
    assert not marker.exists() and not check.exists()


@pytest.mark.parametrize("payload", [
    pickle.dumps(np.array([object()], dtype=object), protocol=2),
    b"\x80\x02cbuiltins\neval\nq\x00X\x06\x00\x00\x001+1+1q\x01\x85q\x02Rq\x03.",
    b"\x80\x02c_codecs\nencode\nq\x00X\x01\x00\x00\x00aX\x04\x00\x00\x00zlibq\x01\x86q\x02R.",
])
def test_unpickler_admits_only_plain_batches(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "batch"
    path.write_bytes(payload)
    with pytest.raises(BuildError, match="not a valid CIFAR-10 batch"):
        read_cifar_batch(path)


def test_unpickler_reads_a_real_batch(data_root: Path) -> None:
    raw = (data_root / "cifar-10-batches-py" / "data_batch_1").read_bytes()
    obj = CifarUnpickler(io.BytesIO(raw), budget=len(raw)).load()
    ref = read_cifar_pickle(data_root / "cifar-10-batches-py" / "data_batch_1")
    assert obj["data"].shape == (len(ref["labels"]), 3072)
    assert np.array_equal(obj["data"], ref["data"]) and obj["labels"] == ref["labels"]


def test_missing_offline_data_is_one_clear_error(tmp_path: Path) -> None:
    env = dict(os.environ, LOOKING_INSIDE_DATA=str(tmp_path / "nowhere"),
               LOOKING_INSIDE_CACHE=str(tmp_path / "cache"), LOOKING_INSIDE_DOWNLOAD="0")
    proc = subprocess.run([sys.executable, "-m", "looking_inside", "train", "--json"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == ""  # with --json, the error is the one object on stdout
    err = json.loads(proc.stdout)["error"]
    assert "mnist: data files not found" in err
    assert "LOOKING_INSIDE_DATA" in err and "MNIST/raw/" in err
    assert "train-images-idx3-ubyte" in err


def test_missing_data_with_download_failing_is_the_same_clear_error(tmp_path: Path,
                                                                    monkeypatch) -> None:
    import torchvision.datasets.utils as tvu

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(tvu, "download_and_extract_archive", offline)
    monkeypatch.setenv("LOOKING_INSIDE_DOWNLOAD", "1")  # CI switches downloads off
    with pytest.raises(BuildError, match=r"download failed: .*Temporary failure"):
        load(settings(tmp_path / "empty", tmp_path), "mnist")
