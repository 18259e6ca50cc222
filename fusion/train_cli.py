"""`fusion train` and `fusion eval`: the command-line face of the AQA and text tasks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fusion.config import ConfigError, compose, split_config_arg
from fusion.data.sample import DataError
from fusion.fkg.loader import FKGError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` and `eval` subcommands."""
    train = subparsers.add_parser(
        "train",
        help="train an AQA or text model (default: configs/train.yaml on the small dataset)",
        description="Compose a run config from configs/<group>/ files and key=value overrides, "
        "train with Lightning, test the best checkpoint and write a run folder.",
    )
    train.add_argument(
        "config", nargs="?", default=None, help="run YAML (default: configs/train.yaml)"
    )
    train.add_argument(
        "overrides", nargs="*", help="key=value, e.g. trainer.max_epochs=2 data=flex"
    )
    train.add_argument(
        "--resume",
        default=None,
        help="a last.ckpt to continue from, or auto (the same as the override resume=...)",
    )
    train.set_defaults(func=run_train)
    evaluate = subparsers.add_parser(
        "eval",
        help="evaluate a checkpoint: metrics.json and predictions.csv",
        description="Load a checkpoint (its config travels inside it) and evaluate one split.",
    )
    evaluate.add_argument("checkpoint", type=Path, help="a .ckpt written by fusion train")
    evaluate.add_argument(
        "overrides", nargs="*", help="data.KEY=VALUE, e.g. data.reader.root=/data/FLEX"
    )
    evaluate.add_argument("--split", default="test", choices=("val", "test"))
    evaluate.add_argument("--out", type=Path, default=None, help="folder (default: beside the run)")
    evaluate.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from fusion.summary import format_metrics
    from fusion.train import train

    config_path, overrides = split_config_arg(args)
    try:
        config = compose(config_path, overrides)
        folder, metrics = train(config, resume=args.resume)
    except (ConfigError, DataError, FKGError, ValueError, KeyError) as exc:
        print(f"fusion train: {exc}", file=sys.stderr)
        return 2
    if metrics:  # rank 0 tests and reports; the other ranks of a distributed run end quietly
        print(format_metrics(metrics))
        print(f"run folder: {folder}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from fusion.evaluate import evaluate

    try:
        folder, metrics = evaluate(args.checkpoint, args.split, args.out, args.overrides)
    except (ConfigError, DataError, FKGError, ValueError, KeyError, FileNotFoundError) as exc:
        print(f"fusion eval: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(metrics, indent=1))
    print(f"wrote {folder / 'metrics.json'} and {folder / 'predictions.csv'}")
    return 0
