"""`fusion export CKPT --format ... --out DIR`: the command-line face of `fusion.export.run`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fusion.export.checkpoint import ExportError
from fusion.export.formats import FORMATS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `export` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint as TorchScript, ONNX or safetensors, with model.json",
        description="Write a checkpoint's model behind positional tensor inputs and masks "
        "(TorchScript, ONNX) or as weights (safetensors), with model.json: config, FKG, input "
        "and output specs, preprocessing and metrics. A text model exports its LM with "
        "save_pretrained and its projector as safetensors.",
    )
    parser.add_argument("checkpoint", type=Path, help="a .ckpt written by fusion train or bench")
    parser.add_argument(
        "--format",
        dest="formats",
        nargs="+",
        default=[],
        metavar="FORMAT",
        help=f"one or more of {', '.join(FORMATS)} (default: every one the task supports)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="folder (default: export/ beside the run)"
    )
    parser.set_defaults(func=run_export)


def _formats_in(folder: Path) -> list[str]:
    """The formats an earlier export in `folder` holds (none when there is no readable one)."""
    try:
        return list(json.loads((folder / "model.json").read_text())["formats"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def run_export(args: argparse.Namespace) -> int:
    from fusion.export.run import export

    out = args.out or args.checkpoint.resolve().parent.parent / "export"
    earlier = _formats_in(out)
    try:
        folder = export(args.checkpoint, args.formats, out)
    except ExportError as error:
        print(f"fusion export: {error}", file=sys.stderr)
        return 2
    print(f"wrote {folder} ({', '.join(sorted(p.name for p in folder.iterdir()))})")
    dropped = [f for f in earlier if f not in _formats_in(folder)]
    if dropped:
        print(
            f"fusion export: replaced the earlier export in {folder}; its {', '.join(dropped)} "
            "is gone (name every format you need in one --format)",
            file=sys.stderr,
        )
    return 0
