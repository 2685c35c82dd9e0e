"""Command line: ``python -m looking_inside {generate,train,data}``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from looking_inside.config import Settings, experiment_names, load_settings
from looking_inside.errors import BuildError, Reported


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m looking_inside", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="train and render what is missing; write every "
                       "figure, data file, the facts and the manifest into a folder")
    g.add_argument("--out", type=Path,
                   help="output folder (default: 'generated' in the cache folder)")
    t = sub.add_parser("train", help="train what is missing from the cache")
    t.add_argument("--only", action="append", metavar="NAME",
                   help=f"train only this experiment ({', '.join(experiment_names())})")
    t.add_argument("--claims", type=Path, help=argparse.SUPPRESS)  # workers' shared folder
    d = sub.add_parser("data", help="check the data sets (downloading them where allowed)")
    for p in (g, t, d):
        p.add_argument("--data-root", help="data root (default: $LOOKING_INSIDE_DATA)")
        p.add_argument("--cache-dir", help="cache folder (default: $LOOKING_INSIDE_CACHE)")
        p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="training device")
        p.add_argument("-v", "--verbose", action="store_true", help="log every epoch")
        p.add_argument("--json", action="store_true",
                       help="print one JSON object to stdout: the result, or the error")
    return ap


def _generate(settings: Settings, out: Path | None) -> dict:
    from looking_inside.build import generate
    from looking_inside.machine import die_with_parent

    die_with_parent()  # started by a site engine (gen/site.py): never outlive it
    t = time.perf_counter()
    out = out or settings.generated_dir
    manifest = generate(settings, out)
    return {"out": str(out), "figures": len(manifest.figures), "made": manifest.made,
            "repaired": manifest.repaired, "seconds": round(time.perf_counter() - t, 3)}


def _train(settings: Settings, claims: Path | None) -> dict:
    """Train what is missing, in one worker process per CPU; a worker (``claims``: the
    folder the workers share) trains here, one network after another."""
    from looking_inside.machine import claim, train_in_workers
    from looking_inside.training.pipeline import Pipeline

    pipe = Pipeline(settings)
    missing = [e for e in settings.experiments if pipe.lookup(e) is None]
    if missing:
        pipe.cache.check_writable()
    trained = []
    if claims is None and len(missing) > 1:
        train_in_workers(settings, missing)
    else:  # one network gains nothing from a worker
        for exp in missing:  # claimed one at a time: the next that no worker has taken
            if claims is None or claim(claims, exp):
                pipe.train(exp)
                trained.append(exp)
    # A worker shows what it trained: the other workers' networks may still be training.
    shown = settings.experiments if claims is None else trained
    return {"experiments": [{**pipe.summary(e), "cache_hit": e not in missing}
                            for e in shown]}


def _table(rows: list[dict]) -> str:
    head = f"{'experiment':<22}{'train':>7}{'test':>7}{'epochs':>7}{'accuracy':>10}" \
           f"{'seconds':>9}  cache"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['name']:<22}{r['n_train']:>7}{r['n_test']:>7}{r['epochs']:>7}"
                     f"{r['test_accuracy']:>10.4f}{r['train_seconds']:>9.1f}"
                     f"  {'hit' if r['cache_hit'] else 'trained'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)-8s-  %(message)s", stream=sys.stderr)
    # Build logs live under mkdocs' namespace; a build shows its progress.
    logging.getLogger("mkdocs.plugins.looking_inside").setLevel(
        logging.INFO if args.verbose or args.command == "generate" else logging.WARNING)
    try:
        settings = load_settings(args.data_root, args.cache_dir, args.device,
                                 getattr(args, "only", None))
        if args.command == "generate":
            result = _generate(settings, args.out)
            text = (f"{result['figures']} figures in {result['out']} "
                    f"({result['seconds']:.1f} s); made: "
                    f"{', '.join(result['made']) or 'nothing (all cached)'}")
        elif args.command == "train":
            result = _train(settings, args.claims)
            text = _table(result["experiments"])
        else:
            from looking_inside.data.datasets import NAMES
            from looking_inside.data.load import load

            lines = []
            for dataset in NAMES:
                bundle = load(settings, dataset)
                lines.append(f"{dataset}: {len(bundle.train):,} train / "
                             f"{len(bundle.test):,} test images in {settings.data_root}")
            result, text = {}, "\n".join(lines)
        print(json.dumps(result) if args.json else text)
    except BuildError as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}))
        elif not isinstance(exc, Reported):
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    # End once the output is flushed, without the interpreter's clean-up: extension
    # modules that torchvision loads print leak reports at exit, which would follow an
    # error's one line.
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
