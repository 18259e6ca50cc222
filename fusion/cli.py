"""`fusion <command>`: one entry point; each command lives beside the code it drives."""

from __future__ import annotations

import argparse
import sys

from fusion import __version__
from fusion.ablate import cli as ablate_cli
from fusion.bench import cli as bench_cli
from fusion.data import cli as data_cli
from fusion.data.synth import cli as synth_cli
from fusion.export import cli as export_cli
from fusion.fkg import cli as fkg_cli
from fusion.predict import cli as predict_cli
from fusion.reports import cli as report_cli
from fusion.tasks import cli as task_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fusion",
        description="Multimodal fusion training for fitness Action Quality Assessment.",
    )
    parser.add_argument("--version", action="version", version=f"fusion {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (
        synth_cli,
        data_cli,
        task_cli,
        ablate_cli,
        fkg_cli,
        bench_cli,
        report_cli,
        export_cli,
        predict_cli,
    ):
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
