"""`fusion synth`: the command-line face of the generator."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fusion.fkg.loader import FKGError
from fusion.synth.generate import FORMATS, SynthError, generate
from fusion.synth.presets import PRESETS
from fusion.synth.summary import format_summary


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `synth` subcommand."""
    p = subparsers.add_parser(
        "synth",
        help="generate a synthetic dataset in the FLEX or Fitness-AQA layout",
        description="Simulate subjects performing the FKG's actions and write a dataset "
        "(video frames, skeleton, sEMG, physio, labels) in the FLEX or Fitness-AQA layout.",
    )
    p.add_argument(
        "--preset", default="small", help=f"dataset size: {', '.join(PRESETS)} (default: small)"
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (created atomically)")
    p.add_argument(
        "--seed", type=int, default=0, help="random seed; same seed, same bytes (default: 0)"
    )
    p.add_argument(
        "--format", default="flex", choices=FORMATS, help="folder layout (default: flex)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a different or damaged dataset at --out (never a folder of other files)",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="parallel processes, >= 1 (default: all cores)"
    )
    p.add_argument(
        "--limit", type=int, default=None, help="only the first N >= 1 samples (for benchmarks)"
    )
    p.add_argument("--fkg", default=None, help="FKG YAML (default: configs/fkg/flex.yaml)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _stamp(path: Path) -> tuple[int, int] | None:
    """A file's identity and change time (None when absent): tells a reused dataset.json from
    a rewritten one."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns


def run(args: argparse.Namespace) -> int:
    before = _stamp(args.out / "dataset.json")
    try:
        meta = generate(
            args.preset,
            args.out,
            args.seed,
            args.format,
            force=args.force,
            workers=args.workers,
            limit=args.limit,
            fkg_path=args.fkg,
            progress=not args.quiet,
        )
    except (SynthError, FKGError) as exc:
        print(f"fusion synth: {exc}", file=sys.stderr)
        return 2
    reused = before is not None and before == _stamp(args.out / "dataset.json")
    print(f"{args.out} is up to date" if reused else f"wrote {args.out}")
    print(format_summary(meta))
    return 0
