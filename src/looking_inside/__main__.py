"""Command line: ``python -m looking_inside {generate,train,data}``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from looking_inside.config import Experiment, experiment_names, load_settings
from looking_inside.errors import BuildError


class _Progress:
    """One status line per experiment on stderr, redrawn as epochs finish."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def __call__(self, exp: Experiment, epoch: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        done = epoch + 1
        width = 24
        bar = "#" * (width * done // exp.epochs) + "-" * (width - width * done // exp.epochs)
        sys.stderr.write(f"\r{exp.name:<13} [{bar}] {done}/{exp.epochs} "
                         f"test {metrics['test_accuracy']:.3f}")
        if done == exp.epochs:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", help="data root (default: $LOOKING_INSIDE_DATA)")
    p.add_argument("--cache-dir", help="cache folder (default: $LOOKING_INSIDE_CACHE)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="training device")
    p.add_argument("-v", "--verbose", action="store_true", help="log every epoch")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m looking_inside", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train what is missing from the cache")
    _common(t)
    t.add_argument("--only", action="append", metavar="NAME",
                   help=f"train only this experiment ({', '.join(experiment_names())})")
    t.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    t.add_argument("--serial", action="store_true",
                   help="train here, one experiment after another (what each worker does)")
    g = sub.add_parser("generate", help="train and render what is missing; write every "
                       "figure, data file, the facts and the manifest into a folder")
    _common(g)
    g.add_argument("--out", type=Path,
                   help="output folder (default: 'generated' in the cache folder)")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object to stdout: the result, or the error")
    d = sub.add_parser("data", help="check the data sets (downloading them where allowed)")
    _common(d)
    return ap


def _table(rows: list[dict]) -> str:
    head = f"{'experiment':<14}{'data':<9}{'train':>7}{'test':>7}{'epochs':>7}" \
           f"{'accuracy':>10}{'seconds':>9}  cache"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['name']:<14}{r['dataset']:<9}{r['n_train']:>7}{r['n_test']:>7}"
                     f"{r['epochs']:>7}{r['test_accuracy']:>10.4f}{r['train_seconds']:>9.1f}"
                     f"  {'hit' if r['cache_hit'] else 'trained'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)-8s-  %(message)s", stream=sys.stderr)
    # Build logs live under mkdocs' namespace; make them visible here too.
    logging.getLogger("mkdocs.plugins.looking_inside").setLevel(
        logging.INFO if args.verbose or args.command == "generate" else logging.WARNING)
    try:
        settings = load_settings(args.data_root, args.cache_dir, args.device,
                                 getattr(args, "only", None))
        if args.command == "train":
            from looking_inside.training.pipeline import Pipeline

            pipe = Pipeline(settings)
            progress = _Progress(enabled=not args.json)
            missing = [e for e in settings.experiments if pipe.lookup(e) is None]
            try:
                if not args.serial and len(missing) > 1 and pipe.cache.writable():
                    from looking_inside.training.workers import train_in_workers

                    # Misses are looked up again below: the workers have filled them.
                    train_in_workers(settings, missing, pipe.cache.write_root,
                                     verbose=args.verbose)
                rows = []
                for exp in settings.experiments:
                    res = pipe.results(exp, progress)
                    rows.append({
                        "name": exp.name, "dataset": exp.dataset, "n_train": res.n_train,
                        "n_test": res.n_test, "epochs": exp.epochs, "seed": exp.seed,
                        "test_accuracy": res.test_accuracy,
                        "train_seconds": res.train_seconds,
                        "cache_hit": exp.name in pipe.hits and exp not in missing,
                    })
            finally:
                pipe.cache.close()
            if args.json:
                print(json.dumps({"experiments": rows}))
            else:
                print(_table(rows))
        elif args.command == "generate":
            from looking_inside.build import generate
            from looking_inside.machine import die_with_parent

            # Started by a site engine (gen/site.py): it must not outlive it.
            die_with_parent()
            t = time.perf_counter()
            out = args.out or settings.generated_dir
            manifest = generate(settings, out)
            summary = {"out": str(out), "figures": len(manifest.figures),
                       "made": manifest.made, "repaired": manifest.repaired,
                       "seconds": round(time.perf_counter() - t, 3)}
            if args.json:
                print(json.dumps(summary))
            else:
                print(f"{len(manifest.figures)} figures in {out} ({summary['seconds']:.1f} s); "
                      f"made: {', '.join(manifest.made) or 'nothing (all cached)'}")
        elif args.command == "data":
            from looking_inside.data.datasets import NAMES
            from looking_inside.data.load import load

            for dataset in NAMES:
                bundle = load(settings, dataset)
                print(f"{dataset}: {len(bundle.train):,} train / {len(bundle.test):,} test "
                      f"images in {settings.data_root}")
    except BuildError as exc:
        if getattr(args, "json", False) and args.command == "generate":
            print(json.dumps({"error": str(exc)}))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _exit(code: int) -> None:
    """End the process once its output is flushed, without the interpreter's clean-up:
    extension modules that torchvision loads print leak reports at exit, which would
    follow an error's one line."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(main())
