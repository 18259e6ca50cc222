"""`fusion report RUN_DIR`: the command-line face of the report page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _count(text: str) -> int:
    """A card count: a whole number >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 0, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `report` subcommand."""
    report = subparsers.add_parser(
        "report",
        help="one self-contained HTML page about a finished run folder",
        description="Write one HTML page (images embedded, so it can be mailed) for a run "
        "folder: the run's headline and test metrics, learning curves, predicted against true "
        "scores, per-error F1, Video->EMG curves when the run has EMG predictions, and report "
        "cards of chosen test samples with frames from the run's dataset.",
    )
    report.add_argument("run", type=Path, metavar="RUN_DIR", help="a run folder")
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="HTML file (default: RUN_DIR/report.html)",
    )
    report.add_argument(
        "--samples",
        nargs="+",
        default=None,
        metavar="KEY",
        help="test samples to card, e.g. A01/031 (default: the first --cards of predictions.csv)",
    )
    report.add_argument(
        "--cards", type=_count, default=3, metavar="N", help="cards without --samples (default: 3)"
    )
    report.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from fusion.data.sample import DataError
    from fusion.fkg.loader import FKGError
    from fusion.reports.page import build_page, write_page
    from fusion.reports.run import ReportError, load_run

    try:
        run = load_run(args.run)
        page = build_page(run, args.samples, args.cards)
        path = write_page(page, args.out or args.run / "report.html")
    except (ReportError, DataError, FKGError, OSError) as exc:
        print(f"fusion report: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
