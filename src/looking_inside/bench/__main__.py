"""``python -m looking_inside.bench [--out DIR] [--quick]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from looking_inside.config import load_settings
from looking_inside.errors import BuildError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m looking_inside.bench",
                                 description="measure training and build speed")
    ap.add_argument("--data-root", help="data root (default: $LOOKING_INSIDE_DATA)")
    ap.add_argument("--device", choices=["auto", "cpu"], help="training device")
    ap.add_argument("--out", type=Path, default=Path("bench-out"), help="folder for the JSON")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (for tests)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)-8s-  %(message)s",
                        stream=sys.stderr)
    try:
        from looking_inside.bench.run import run_bench

        settings = load_settings(args.data_root, None, args.device)
        run_bench(settings, args.out, quick=args.quick)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
