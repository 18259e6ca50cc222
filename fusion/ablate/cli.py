"""`fusion ablate STUDY.yaml`: run a study's grid (resuming what a crash left), then tabulate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fusion.config import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ablate` subcommand."""
    parser = subparsers.add_parser(
        "ablate",
        help="run an ablation study file: every grid point x seed, then the table and plots",
        description="Expand a study file (experiments/<study>.yaml) into runs keyed by the hash "
        "of their resolved config. A rerun skips finished runs and resumes interrupted ones. "
        "Writes OUT/results.csv, OUT/results.md and OUT/plot_<axis>.png.",
    )
    parser.add_argument("spec", type=Path, help="a study file with `ablation: <name>`")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="study folder (default: the file's `out`, else runs/ablate/<name>)",
    )
    parser.add_argument(
        "--parallel", type=int, default=1, help="runs at a time, each in its own process"
    )
    parser.add_argument(
        "--set",
        dest="extra",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="overrides for every run (part of each run's hash)",
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="only rebuild results.md and the plots from "
        "OUT/results.csv (after editing the file's metrics or checks)",
    )
    parser.set_defaults(func=run_ablate)


def run_ablate(args: argparse.Namespace) -> int:
    from fusion.ablate.results import result_rows, write_csv, write_tables
    from fusion.ablate.runner import run_study
    from fusion.ablate.spec import load_spec
    from fusion.outputs import OutputError, writer_lock

    try:
        spec = load_spec(args.spec)
        out = args.out or Path(spec.out or Path("runs") / "ablate" / spec.name)
        if args.parallel < 1:
            raise ConfigError(f"--parallel: expected a count >= 1, got {args.parallel}")
        with writer_lock(out, "ablate"):
            if not args.table:
                out.mkdir(parents=True, exist_ok=True)
                outcomes = run_study(spec, out, tuple(args.extra), args.parallel)
                write_csv(result_rows(spec, outcomes), out / "results.csv")
            written = write_tables(spec, out)
    except (ConfigError, OutputError) as exc:
        print(f"fusion ablate: {exc}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text())
    print("wrote " + ", ".join(str(p) for p in [out / "results.csv", *written]))
    if args.table:
        return 0
    bad = [o for o in outcomes if o.status in ("failed", "busy")]
    for outcome in bad:
        print(f"{outcome.status}: {outcome.job.run.label}: {outcome.error}", file=sys.stderr)
    if bad:
        print(
            f"{len(bad)} of {len(outcomes)} runs have no result; rerun to retry them",
            file=sys.stderr,
        )
    return 1 if bad else 0
