"""`fusion predict ARTIFACT SAMPLE_PATH... [--out DIR] [--runtime R] [--views ...]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fusion.predict.artifact import RUNTIMES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `predict` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="run an exported model on FLEX sample folders or mp4 videos",
        description="Run a `fusion export` folder (TorchScript or ONNX Runtime, no training "
        "code) on samples: an AQA model prints and writes each score, errors with spans, FKG "
        "breakdown and feedback; a Video->EMG model writes each predicted envelope as CSV.",
    )
    parser.add_argument("artifact", type=Path, help="an export folder, or its model.pt/.onnx")
    parser.add_argument(
        "samples", type=Path, nargs="+", metavar="SAMPLE_PATH",
        help="FLEX sample folders (ROOT/A01/002) or .mp4 videos",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("predictions"), help="output folder")
    parser.add_argument(
        "--runtime", choices=list(RUNTIMES), default=None,
        help="default: the file named, else torchscript when exported, else onnx",
    )  # fmt: skip
    parser.add_argument(
        "--views", type=int, nargs="+", default=None,
        help="view ids to show the model (default: the model's data.clip.views, else all)",
    )  # fmt: skip
    parser.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from fusion.data.sample import DataError
    from fusion.fkg.loader import FKGError
    from fusion.predict.artifact import ArtifactError, open_artifact
    from fusion.predict.report import summary_lines
    from fusion.predict.run import predict

    try:
        artifact = open_artifact(args.artifact, args.runtime)
        folder, records = predict(artifact, args.samples, args.out, args.views)
    except (ArtifactError, DataError, FKGError) as error:
        print(f"fusion predict: {error}", file=sys.stderr)
        return 2
    for line in summary_lines(artifact.task, records):
        print(line)
    print(f"wrote {folder} ({', '.join(sorted(p.name for p in folder.iterdir()))})")
    return 0
