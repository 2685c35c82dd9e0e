"""The install routes: uv takes torch and torchvision from PyTorch's CPU index in CI,
pip takes everything from PyPI elsewhere, and the pins stay a matched pair."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins() -> dict[str, Version]:
    out = {}
    for dep in pyproject()["project"]["dependencies"]:
        req = Requirement(dep)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{dep}: pin it exactly"
        out[req.name] = Version(spec.version)
    return out


def test_only_torch_and_torchvision_come_from_the_cpu_index() -> None:
    uv = pyproject()["tool"]["uv"]
    assert uv["sources"] == {"torch": [{"index": "pytorch-cpu"}],
                             "torchvision": [{"index": "pytorch-cpu"}]}
    (index,) = uv["index"]
    assert index == {"name": "pytorch-cpu", "url": CPU_INDEX, "explicit": True}


def test_torch_pins_are_a_matched_pair() -> None:
    p = pins()
    # torchvision's own metadata names the torch it works with; the installed one is
    # the pinned one (a +cpu build counts as the same release).
    for name in ("torch", "torchvision"):
        assert Version(importlib.metadata.version(name)).public == str(p[name])
    needs = [Requirement(r) for r in importlib.metadata.requires("torchvision") or []]
    (torch_req,) = [r for r in needs if r.name == "torch" and not r.marker]
    assert torch_req.specifier.contains(p["torch"])
    # "2.15.0+cpu" is what the CPU index serves: the exact pin admits it.
    assert Requirement(f"torch=={p['torch']}").specifier.contains(f"{p['torch']}+cpu")


def test_ci_installs_with_uv_and_keeps_its_cache() -> None:
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())
    steps = wf["jobs"]["build"]["steps"]
    uv = [s for s in steps if str(s.get("uses", "")).startswith("astral-sh/setup-uv@")]
    assert len(uv) == 1 and uv[0]["with"]["enable-cache"] is True
    runs = "\n".join(s.get("run", "") for s in steps)
    assert re.search(r"uv pip install .*-e '\.\[test\]'", runs)
    assert "pip install" not in runs.replace("uv pip install", ""), \
        "torch must not come from PyPI in CI"
    assert "torch.version.cuda is None" in runs


def test_local_ci_keeps_pip_from_pypi() -> None:
    make = (ROOT / "Makefile").read_text()
    assert "-m pip install --quiet -e '.[test]'" in make
    assert "download.pytorch.org" not in (ROOT / ".ci" / "run").read_text()
