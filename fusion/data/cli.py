"""`fusion data …`: inspect dataset folders (FLEX or Fitness-AQA) before training on them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fusion.data.check import check_dataset, format_report
from fusion.data.config import ReaderConfig
from fusion.data.readers import READERS, open_reader
from fusion.data.sample import DataError


def register(subparsers: Any) -> None:
    """Add the `data` command and its `check` sub-command."""
    parser = subparsers.add_parser(
        "data",
        help="inspect dataset folders",
        description="Inspect FLEX and Fitness-AQA dataset folders.",
    )
    commands = parser.add_subparsers(dest="data_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="read every sample and report problems (exit 1 if any)",
        description="Read every sample, count samples per action, subject, split and modality, "
        "and list every problem as `file: row/field: what was expected`. Exit 0 when clean, "
        "1 when a sample is broken, 2 when ROOT is not a dataset.",
    )
    check.add_argument("root", type=Path, help="dataset folder")
    check.add_argument(
        "--set",
        dest="overrides",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="reader options for what the files do not say, e.g. video_fps=10 modalities=[pose]",
    )
    check.add_argument(
        "--format", default="auto", choices=("auto", *READERS), help="layout (default: auto)"
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--limit", type=_positive_int, default=None, help="only the first N samples")
    check.add_argument(
        "--workers", type=_positive_int, default=1, help="parallel processes (default: 1)"
    )
    check.add_argument(
        "--deep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="decode every frame of every view and check the frame numbering (default: on)",
    )
    check.add_argument("--quiet", action="store_true", help="no progress bar")
    check.set_defaults(func=_run_check)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _reader_config(args: argparse.Namespace) -> ReaderConfig:
    """ReaderConfig for ROOT and --format, with KEY=VALUE overrides checked against its schema."""
    base = OmegaConf.structured(ReaderConfig(root=str(args.root), format=args.format))
    return OmegaConf.to_object(OmegaConf.merge(base, OmegaConf.from_dotlist(args.overrides)))


def _run_check(args: argparse.Namespace) -> int:
    try:
        reader = open_reader(_reader_config(args))
    except (
        OmegaConfBaseException,
        ValueError,
    ) as exc:  # a bad option, or a DataError: not a dataset
        print(f"fusion data check: {exc}", file=sys.stderr)
        return 2
    try:
        report = check_dataset(
            reader, args.limit, args.workers, progress=not args.quiet, deep=args.deep
        )
    except DataError as exc:
        print(f"fusion data check: {exc}", file=sys.stderr)
        return 2
    print(
        json.dumps(report.to_dict(), indent=1, ensure_ascii=False)
        if args.json
        else format_report(report)
    )
    return 0 if report.ok else 1
