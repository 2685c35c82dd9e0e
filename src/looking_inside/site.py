"""The site glue: what ``gen/`` scripts and the macros module call.

The mkdocs process never trains or renders itself. A warm build answers from the
cache (a few milliseconds); anything missing is made by ``python -m looking_inside
figures`` in a child process, so that under ``mkdocs serve`` an edit to ``src/``
runs the *edited* code (the server's own imports would be stale), and torch is never
imported into the server.
"""

from __future__ import annotations

import html
import json
import logging
import os
import posixpath
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from looking_inside.build import Builder, Manifest
from looking_inside.config import Settings, load_settings
from looking_inside.errors import BuildError

log = logging.getLogger("mkdocs.plugins.looking_inside.site")

FIGURE_DIR = "figures"
DATA_DIR = "assets/data"
HOW_BUILT = "how-built.md"

_current: Manifest | None = None
_scratch: tempfile.TemporaryDirectory[str] | None = None


def settings_for(config_file: str | None) -> Settings:
    """Settings with relative paths taken from the folder of mkdocs.yml."""
    base = Path(config_file).resolve().parent if config_file else Path.cwd()
    return load_settings(base_dir=base)


def prepare(settings: Settings) -> Manifest:
    """The build's outputs: from the cache, else made in a child process."""
    global _current, _scratch
    t = time.perf_counter()
    manifest = Builder(settings).lookup()
    if manifest is None:
        log.info("looking_inside: training and rendering what is missing (cache: %s)",
                 settings.cache_dir)
        _scratch = tempfile.TemporaryDirectory(prefix="looking-inside-")
        out = Path(_scratch.name)
        _run_child(settings, out)
        manifest = Manifest.read(out)
        log.info("looking_inside: made in %.1f s", time.perf_counter() - t)
    else:
        log.debug("looking_inside: everything cached (%.3f s)", time.perf_counter() - t)
    _current = manifest
    return manifest


def _run_child(settings: Settings, out: Path) -> None:
    cmd = [sys.executable, "-m", "looking_inside", "figures", "--verbose", "--out", str(out),
           "--data-root", str(settings.data_root), "--cache-dir", str(settings.cache_dir),
           "--device", settings.device]
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # Fresh .pyc files under src/ would trigger `mkdocs serve`'s watcher again.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, bufsize=1)
    assert proc.stdout is not None
    errors = []
    for line in proc.stdout:
        line = line.rstrip()
        if line.startswith("error: "):
            errors.append(line[len("error: "):])
        elif errors and line:
            errors.append(line)  # continuation lines of a multi-line error
        elif line:
            # Relay progress (one line per epoch) so `mkdocs serve` shows it.
            log.info("looking_inside: %s", line.split("-  ", 1)[-1])
    if proc.wait() != 0:
        detail = "\n".join(errors) or f"`{' '.join(cmd)}` exited with {proc.returncode}"
        raise BuildError(detail)


def current() -> Manifest:
    if _current is None:
        raise BuildError(
            "the figures and facts are not ready: gen/site.py has not run. Fix: keep "
            "`gen-files` (with `scripts: [gen/site.py]`) in the plugins of mkdocs.yml"
        )
    return _current


def write_outputs(manifest: Manifest, open_file: Callable[..., IO[Any]]) -> None:
    """Write figures, exports and the generated page through mkdocs-gen-files."""
    for fig in manifest.figures:
        for f in fig["files"]:
            with open_file(f"{FIGURE_DIR}/{f}", "wb") as fh:
                fh.write(manifest.paths[f].read_bytes())
    for exp in manifest.exports:
        for f in exp["files"]:
            with open_file(f"{DATA_DIR}/{f}", "wb") as fh:
                fh.write(manifest.paths[f].read_bytes())
    with open_file(f"{DATA_DIR}/manifest.json", "w") as fh:
        fh.write(manifest_json(manifest))
    with open_file(HOW_BUILT, "w") as fh:
        fh.write(how_built_page(manifest))


# --- what chapters call (through gen/macros.py) ----------------------------------

def fact_html(name: str, page: str) -> str:
    facts = current().facts
    if name not in facts:
        near = sorted(k for k in facts if k.split(".")[0] == name.split(".")[0])
        raise BuildError(f"{page}: unknown fact {name!r}"
                         + (f"; facts with that prefix: {', '.join(near)}" if near else "")
                         + ". Fix the name in the chapter, or add the fact in "
                           "src/looking_inside/facts.py")
    text = html.escape(str(facts[name]["text"]))
    return f'<span class="li-fact" data-fact="{html.escape(name)}">{text}</span>'


def figure_markdown(name: str, page: str) -> str:
    """A figure block with both palettes, caption and alt text from the registry."""
    by_name = {f["name"]: f for f in current().figures}
    if name not in by_name:
        raise BuildError(f"{page}: unknown figure {name!r}; known figures: "
                         + ", ".join(sorted(by_name))
                         + ". Fix the name, or register the figure in "
                           "src/looking_inside/figures/registry.py")
    fig = by_name[name]
    rel = posixpath.relpath(FIGURE_DIR, posixpath.dirname(page) or ".")
    alt = fig["alt"].replace("[", "（").replace("]", "）")
    width = f" width={fig['width']}" if fig.get("width") else ""
    imgs = []
    for f in fig["files"]:
        theme = f.split(".")[-2]
        imgs.append(f'![{alt}]({rel}/{f}#only-{theme}){{ loading=lazy{width} }}')
    return (f'<figure markdown="span" class="li-figure" id="fig-{name}">\n'
            + "\n".join(imgs)
            + f"\n<figcaption>{html.escape(fig['caption'])}</figcaption>\n</figure>")


TABLE_HEAD = (
    "| 网络 | 结构 | 训练 / 测试图像 | 轮数 | 种子 | 测试准确率 | 训练用时 | 本次 |\n"
    "|---|---|--:|--:|--:|--:|--:|---|"
)


def how_built_page(m: Manifest) -> str:
    rows = []
    for e in m.experiments:
        arch = " → ".join(["784" if e["dataset"] == "mnist" else "3072",
                           *map(str, e["hidden"]), "10"])
        rows.append(
            f"| `{e['name']}` | {arch} | {e['n_train']:,} / {e['n_test']:,} "
            f"| {e['epochs']} | {e['seed']} | {100 * e['test_accuracy']:.1f}% "
            f"| {e['train_seconds']:.1f} 秒（{e['device']}） "
            f"| {'沿用缓存' if e['cache_hit'] else '重新训练'} |"
        )
    subset = [d for d, s in m.data["subset"].items() if s]
    names = {"mnist": "MNIST（完整训练集 60,000 张）",
             "cifar10": "CIFAR-10（完整训练集 50,000 张）"}
    note = ""
    if subset:
        note = ("!!! note \"这一版用的是数据子集\"\n    "
                + "、".join(names[d] for d in subset)
                + " 在这次构建中只用了下表所列数量的训练图像（都是真实数据，只是少一些），"
                  "所以准确率会比用完整数据集时略低。\n\n")
    versions = "\n".join(f"| {k} | {v} |" for k, v in sorted(m.versions.items()))
    return f"""<!-- Generated by gen/site.py from the build's manifest; edits here are lost. -->
# 本站是如何构建的

本站的每一张图、正文里的每一个数字，都来自构建网站时真正训练出来的模型。
这一页列出了这一版网站背后的训练记录。

{note}## 训练的网络

{TABLE_HEAD}
{chr(10).join(rows)}

“本次”一栏写着“沿用缓存”，表示这次构建时网络的全部输入（配置、训练代码、数据、库版本）
都没有变，于是直接用了之前训练好的结果；训练用时是当初训练时测得的。
结构一栏从输入像素数写到 10 个输出；轮数是把训练集完整过一遍的次数。

## 图

本站共有 {len(m.figures)} 幅由模型生成的图，每幅都有浅色和深色两个版本，随页面配色切换。

## 软件版本

| 软件包 | 版本 |
|---|---|
{versions}
"""


def manifest_json(m: Manifest) -> str:
    return json.dumps(m.to_json(), ensure_ascii=False, indent=1, sort_keys=True)
