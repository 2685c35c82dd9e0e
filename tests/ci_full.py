"""The published path, here: ``python tests/ci_full.py`` (``make ci-full``).

The GitHub workflow downloads the full MNIST and CIFAR-10, trains, builds the site and
tests what it built. This runs the same steps on full-size files made from the real
subsets (``$LOOKING_INSIDE_DATA``, else ``../shared/data``): each split tiled to the full
set's size (60,000 / 10,000 MNIST, 50,000 / 10,000 CIFAR-10) in torchvision's layout,
written once into ``--data`` (default ``.cache/full-data``) and reused while the subsets
do not change. The tiled sets have the full sets' sizes, not their variety: the numbers
differ from a real full build, which is the point (the site must be right for both).

The steps run on a snapshot of the working tree, as a checkout would hold it (the files
``git ls-files --cached --others --exclude-standard`` lists), copied into
``<out>/tree`` first, with copies of the ignored ``node_modules`` folders npm installed:
edits made while it runs (it takes a while) do not mix into it, and
its ``site/`` is not the working tree's. They are read from the snapshot's
``.github/workflows/site.yml`` (the ``run:`` lines of the steps in ``STEPS``), each line
run as it stands in the snapshot, with this Python first on PATH and the snapshot's
``src`` first on PYTHONPATH, ``$GITHUB_ENV`` emulated, downloads off and a fresh
``LOOKING_INSIDE_CACHE`` in ``--out`` (default ``.cache/ci-full``). Each step's time and
result go to stdout as a table and to ``<out>/report.md`` (and ``report.json``); each
step's output to ``<out>/logs/``. Exit status 1 when a step failed; a failed step before
the tests ends the run there. Never imported by the package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import read_root, tile, write_root  # noqa: E402 - after sys.path

WORKFLOW = Path(".github") / "workflows" / "site.yml"
# The workflow's steps that make and check the site, in order (set-up, caches, lint and
# upload are GitHub's business).
STEPS = ("Download data and train", "Build the site (strict)", "Tests")
FULL = {"mnist": (60000, 10000), "cifar10": (50000, 10000)}
STAMP = "ci-full.json"  # in the tiled data folder, written last
TILING = 1  # bump when the tiling changes: the folder is rebuilt


def say(what: str) -> None:
    print(f"ci-full: {what}", flush=True)


def source_root() -> Path:
    env = os.environ.get("LOOKING_INSIDE_DATA")
    return Path(env).resolve() if env else (ROOT.parent / "shared" / "data").resolve()


def _identity(root: Path) -> dict:
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".gz"))
    return {str(p.relative_to(root)): [p.stat().st_size, p.stat().st_mtime_ns] for p in files}


def full_data(source: Path, target: Path) -> tuple[str, float]:
    """The tiled full-size root at ``target``: reused if its stamp names these subsets,
    else written beside it and moved into place (a killed run leaves no half folder)."""
    started = time.perf_counter()
    want = {"tiling": TILING, "sizes": FULL, "source": str(source),
            "files": _identity(source)}
    try:
        if json.loads((target / STAMP).read_text()) == json.loads(json.dumps(want)):
            return "reused " + str(target.relative_to(ROOT) if target.is_relative_to(ROOT)
                                   else target), time.perf_counter() - started
    except (OSError, ValueError):
        pass
    say(f"tiling {source} to full size in {target}")
    real = read_root(source)
    data = {ds: {split: tile(real[ds][split], n)
                 for split, n in zip(("train", "test"), FULL[ds], strict=True)}
            for ds in FULL}
    part = target.with_name(target.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    write_root(part, data)
    (part / STAMP).write_text(json.dumps(want, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    part.rename(target)
    return "written", time.perf_counter() - started


def snapshot(tree: Path) -> str:
    """Copy the working tree as a checkout would hold it into ``tree``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        sys.exit(f"ci-full: `git ls-files` failed in {ROOT}: {listed.stderr.decode()}")
    n = 0
    for rel in filter(None, listed.stdout.split(b"\0")):
        src = ROOT / os.fsdecode(rel)
        if src.is_file() or src.is_symlink():  # a deleted but tracked file is skipped
            (tree / os.fsdecode(rel)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tree / os.fsdecode(rel), follow_symlinks=False)
            n += 1
    # What an install step puts in place and git ignores (npm's node_modules): copied,
    # never linked (the workflow's own `npm ci` would empty the working tree's).
    ignored = subprocess.run(["git", "ls-files", "-z", "--others", "--ignored",
                              "--exclude-standard", "--directory"], cwd=ROOT,
                             capture_output=True).stdout.split(b"\0")
    copied = [os.fsdecode(d).rstrip("/") for d in ignored
              if os.fsdecode(d).rstrip("/").endswith("node_modules")]
    for rel in copied:
        shutil.copytree(ROOT / rel, tree / rel, symlinks=True)
    where = tree.relative_to(ROOT) if tree.is_relative_to(ROOT) else tree
    return f"{n} files in {where}" + (f" (+ {', '.join(copied)})" if copied else "")


def workflow_commands(tree: Path = ROOT) -> list[tuple[str, str]]:
    """(step name, command) for every line of the ``run:`` of each step in STEPS."""
    steps = yaml.safe_load((tree / WORKFLOW).read_text())["jobs"]["build"]["steps"]
    named = {s.get("name"): s for s in steps}
    out = []
    for name in STEPS:
        if name not in named or "run" not in named[name]:
            sys.exit(f"ci-full: {WORKFLOW} has no step {name!r} with a "
                     "`run:`; update STEPS in tests/ci_full.py to follow the workflow")
        for line in named[name]["run"].splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("echo ") and out and out[-1][0] == name:
                # Bookkeeping ($GITHUB_ENV, $GITHUB_PATH) belongs to the command before.
                out[-1] = (name, f"{out[-1][1]}\n{line}")
            else:
                out.append((name, line))
    return out


def _github_env(path: Path) -> dict[str, str]:
    """What the step wrote to $GITHUB_ENV (the KEY=VALUE form), as Actions reads it."""
    out = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out[key.strip()] = value
    path.write_text("")
    return out


def run(command: str, cwd: Path, env: dict[str, str], log: Path) -> tuple[int, float, str]:
    """One command through bash in ``cwd``, its output both shown and logged; the last
    line that looks like a summary (pytest's, or the last line) comes back."""
    started = time.perf_counter()
    last, summary = "", ""
    with open(log, "w") as f:
        proc = subprocess.Popen(["bash", "-eo", "pipefail", "-c", command], cwd=cwd, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            f.write(line)
            if line.strip():
                last = line.strip()
            if re.search(r"\d+ (passed|failed)", line) and " in " in line:
                summary = line.strip(" =\n")
        rc = proc.wait()
    return rc, time.perf_counter() - started, summary or last


def table(rows: list[dict]) -> str:
    lines = ["| step | time | result |", "|---|--:|---|"]
    for r in rows:
        lines.append(f"| `{r['command'].splitlines()[0]}` | {r['seconds']:.0f} s "
                     f"| {r['result']} |")
    total = sum(r["seconds"] for r in rows)
    lines.append(f"| total | {total:.0f} s ({total / 60:.1f} min) | "
                 f"{'ok' if all(r['ok'] for r in rows) else 'FAILED'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / ".cache" / "full-data",
                    help="where the tiled full-size data are kept between runs")
    ap.add_argument("--out", type=Path, default=ROOT / ".cache" / "ci-full",
                    help="the fresh cache, logs and report (emptied first)")
    args = ap.parse_args()
    out, data = args.out.resolve(), args.data.resolve()
    workflow_commands()  # the workflow still has the steps, before anything is made
    source = source_root()
    if not (source / "MNIST" / "raw").is_dir():
        sys.exit(f"ci-full: no real data at {source}; set LOOKING_INSIDE_DATA")

    rows = []
    how, seconds = full_data(source, data)
    rows.append({"command": "tile the real subsets to full size", "seconds": seconds,
                 "ok": True, "result": how})
    shutil.rmtree(out, ignore_errors=True)
    (out / "logs").mkdir(parents=True)
    tree = out / "tree"
    started = time.perf_counter()
    rows.append({"command": "snapshot the working tree", "ok": True,
                 "result": snapshot(tree), "seconds": time.perf_counter() - started})
    commands = workflow_commands(tree)
    github_env = out / "github-env"
    github_env.write_text("")
    python_path = os.pathsep.join(filter(None, [str(tree / "src"),
                                                os.environ.get("PYTHONPATH")]))
    env = dict(os.environ,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=python_path,
               LOOKING_INSIDE_DATA=str(data), LOOKING_INSIDE_CACHE=str(out / "cache"),
               LOOKING_INSIDE_DOWNLOAD="0", GITHUB_ENV=str(github_env),
               GITHUB_WORKSPACE=str(tree), NO_MKDOCS_2_WARNING="1",
               DISABLE_MKDOCS_2_WARNING="true",
               # Which tests cost what, in the log (the workflow's own run prints none).
               PYTEST_ADDOPTS=(os.environ.get("PYTEST_ADDOPTS", "") + " --durations=15"))
    env.pop("LOOKING_INSIDE_SITE", None)  # the build step says where its site is
    probe = subprocess.run([sys.executable, "-c", "import looking_inside; "
                            "print(looking_inside.__file__)"], cwd=tree, env=env,
                           capture_output=True, text=True)
    if not Path(probe.stdout.strip()).is_relative_to(tree):
        sys.exit(f"ci-full: the snapshot's package is not the one imported "
                 f"({probe.stdout.strip() or probe.stderr.strip()})")
    for i, (step, command) in enumerate(commands, start=1):
        say(f"[{step}] {command.splitlines()[0]}")
        slug = re.sub(r"[^a-z0-9]+", "-", command.splitlines()[0].lower())[:40]
        log = out / "logs" / f"{i}-{slug}.log"
        rc, seconds, summary = run(command, tree, env, log)
        env.update(_github_env(github_env))
        ok = rc == 0
        result = ("ok" if ok else f"FAILED (exit {rc})") + (
            f": {summary}" if "pytest" in command or not ok else "")
        rows.append({"step": step, "command": command, "seconds": seconds, "ok": ok,
                     "result": result})
        if not ok and step != "Tests":  # nothing after a failed build is worth waiting for
            break

    report, cpus = table(rows), len(os.sched_getaffinity(0))
    print("\n" + report)
    (out / "report.md").write_text(
        f"# make ci-full, {time.strftime('%Y-%m-%d %H:%M')}, {cpus} CPUs\n\n"
        f"Data: {data} (tiled from {source}).\n\n{report}\n")
    (out / "report.json").write_text(json.dumps({"cpus": cpus, "data": str(data),
                                                 "source": str(source), "steps": rows},
                                                indent=1))
    say(f"report in {out / 'report.md'}")
    sys.exit(0 if all(r["ok"] for r in rows) and len(rows) == len(commands) + 2 else 1)


if __name__ == "__main__":
    main()
