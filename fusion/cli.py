"""`fusion <command>`: one entry point; each command lives beside the code it drives."""

from __future__ import annotations

import argparse
import signal
import sys

from fusion import __version__, train_cli
from fusion.ablate import cli as ablate_cli
from fusion.bench import cli as bench_cli
from fusion.data import cli as data_cli
from fusion.export import cli as export_cli
from fusion.fkg import cli as fkg_cli
from fusion.predict import cli as predict_cli
from fusion.reports import cli as report_cli
from fusion.synth import cli as synth_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fusion",
        description="Multimodal fusion training for fitness Action Quality Assessment.",
    )
    parser.add_argument("--version", action="version", version=f"fusion {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for module in (
        synth_cli,
        data_cli,
        train_cli,
        ablate_cli,
        fkg_cli,
        bench_cli,
        report_cli,
        export_cli,
        predict_cli,
    ):
        module.register(subparsers)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised where the command is so that its cleanup (`finally`, `except
    BaseException`) removes its temporary output, as on Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit code (130 after
    SIGINT, 143 after SIGTERM, with one line and no traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except (KeyboardInterrupt, Terminated) as stop:
        name, code = ("SIGINT", 130) if isinstance(stop, KeyboardInterrupt) else ("SIGTERM", 143)
        print(f"fusion {args.command}: stopped by {name}", file=sys.stderr)
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
