"""`fusion bench`: measured figures for BENCHMARKS.md, printed and written as JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fusion.data.sample import DataError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `bench` command and its `data`, `train`, `video2emg` and `lmm` subcommands."""
    bench = subparsers.add_parser("bench", help="measure throughput (see BENCHMARKS.md)")
    benches = bench.add_subparsers(title="benchmarks", metavar="BENCH")
    data = benches.add_parser(
        "data",
        help="samples/s of a reference-style reader against the cached loader",
        description="Build a fresh cache of a FLEX-layout dataset, then time a naive per-sample "
        "reader (PIL per frame, pandas per CSV, batch size 1) and the cached DataModule on the "
        "same samples with the same number of workers.",
    )
    data.add_argument("--root", type=Path, default=Path("data/synth-small"), help="FLEX folder")
    data.add_argument("--samples", type=int, default=240, help="samples to time (default: 240)")
    data.add_argument("--workers", type=int, default=2, help="loader workers (default: 2)")
    data.add_argument("--batch-size", type=int, default=32, help="cached batch size (default: 32)")
    data.add_argument(
        "--out", type=Path, default=Path("runs/bench/data.json"), help="JSON result file"
    )
    data.set_defaults(func=run_data)
    train = benches.add_parser(
        "train",
        help="training throughput of a run config: samples/s, step times, memory, FLOPs",
        description="Build a run's DataModule and task as `fusion train` does, make --warmup "
        "then --steps optimiser steps with the run's accelerator, devices and precision (no "
        "validation, checkpoints or logs), and report samples/s, step times, data wait, peak "
        "memory, FLOPs per sample and, on a known GPU, the share of its dense bf16 peak.",
    )
    train.add_argument(
        "config", nargs="?", default=None, help="run YAML (default: configs/train.yaml)"
    )
    train.add_argument("overrides", nargs="*", help="key=value, e.g. trainer=cpu model.dim=64")
    train.add_argument("--steps", type=int, required=True, help="optimiser steps to time")
    train.add_argument(
        "--warmup", type=int, default=3, help="untimed steps first; the first counts FLOPs (3)"
    )
    train.add_argument(
        "--out", type=Path, default=Path("runs/bench/train.json"), help="JSON result file"
    )
    train.set_defaults(func=run_train)
    v2e = benches.add_parser(
        "video2emg",
        help="train and score every Video->EMG model x protocol x seed of a benchmark file",
        description="Run a Video->EMG benchmark file (experiments/video2emg.yaml): learned "
        "models and baselines on each split protocol and seed, scored on the normalised "
        "envelope; writes results.csv, results.md, plots and per-run predictions.",
    )
    v2e.add_argument("spec", type=Path, help="benchmark YAML (benchmark: video2emg)")
    v2e.add_argument(
        "--out", type=Path, default=None, help="folder (default: runs/bench/<name>-<time>)"
    )
    v2e.add_argument("--quiet", action="store_true", help="no progress bars")
    v2e.set_defaults(func=run_video2emg)
    lmm = benches.add_parser(
        "lmm",
        help="the LLaVA-Video Fitness-AQA study: text head strategies beside the AQA head",
        description="Run a study file (experiments/fitness_aqa_lmm.yaml): generate its "
        "dataset if missing, score the trivial baselines (yes / no to every error, the "
        "training majority per exercise), train every run x seed with `fusion train`, and "
        "print F1 and temporal AP per error with their means and the best run's margin over "
        "the baselines; writes results.csv, results.md and f1.png.",
    )
    lmm.add_argument("spec", type=Path, help="study YAML (benchmark: lmm)")
    lmm.add_argument(
        "--out", type=Path, default=None, help="folder (default: runs/bench/<name>-<time>)"
    )
    lmm.add_argument("--quiet", action="store_true", help="no progress bars")
    lmm.set_defaults(func=run_lmm)
    visibility = benches.add_parser(
        "visibility",
        help="lifter pixels, cm per pixel and each FKG error's movement in pixels per view",
        description="Simulate a preset's repetitions with and without each kinematic FKG error "
        "(no rendering): the lifter's height and cm per pixel in every view, and how far each "
        "error moves the joints in cm and in pixels; with --root, how well person_crop's "
        "background boxes agree with the projected skeleton's on that FLEX-layout dataset.",
    )
    visibility.add_argument("--preset", default="small", help="generator preset (small)")
    visibility.add_argument("--root", type=Path, default=None, help="FLEX folder with cameras")
    visibility.add_argument("--samples", type=int, default=60, help="samples for --root (60)")
    visibility.add_argument(
        "--out", type=Path, default=Path("runs/bench/visibility.json"), help="JSON result file"
    )
    visibility.set_defaults(func=run_visibility)
    bench.set_defaults(func=lambda args: bench.print_help() or 2)


def run_data(args: argparse.Namespace) -> int:
    from fusion.data.bench import bench_data, write_report

    try:
        result = bench_data(args.root, args.samples, args.workers, args.batch_size)
    except (DataError, ValueError) as exc:
        print(f"fusion bench data: {exc}", file=sys.stderr)
        return 2
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"wrote {write_report(result, args.out)}")
    return 0


def run_visibility(args: argparse.Namespace) -> int:
    from fusion.bench.visibility import crop_agreement, error_visibility, format_visibility
    from fusion.data.bench import write_report
    from fusion.synth.presets import PRESETS

    if args.preset not in PRESETS:
        print(f"fusion bench visibility: unknown preset {args.preset!r}", file=sys.stderr)
        return 2
    try:
        result = error_visibility(args.preset)
        if args.root is not None:
            result["crops"] = crop_agreement(args.root, args.samples)
    except (DataError, ValueError) as exc:
        print(f"fusion bench visibility: {exc}", file=sys.stderr)
        return 2
    print(format_visibility(result))
    print(f"wrote {write_report(result, args.out)}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from pytorch_lightning.utilities import rank_zero_only
    from pytorch_lightning.utilities.exceptions import MisconfigurationException

    from fusion.bench.train import bench_train
    from fusion.config import ConfigError, compose, split_config_arg
    from fusion.data.bench import write_report
    from fusion.fkg.loader import FKGError

    config_path, overrides = split_config_arg(args)
    try:
        config = compose(config_path, overrides)
        result = bench_train(config, args.steps, args.warmup)
    except (
        ConfigError,
        DataError,
        FKGError,
        MisconfigurationException,
        ValueError,
        KeyError,
    ) as exc:
        print(f"fusion bench train: {exc}", file=sys.stderr)
        return 2
    if rank_zero_only.rank != 0:
        return 0
    result = {"config": config_path or "configs/train.yaml", "overrides": overrides, **result}
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"wrote {write_report(result, args.out)}")
    return 0


def run_video2emg(args: argparse.Namespace) -> int:
    import time

    from fusion.bench.video2emg import load_spec, run_benchmark
    from fusion.config import ConfigError

    try:
        spec = load_spec(args.spec)
        out = args.out or Path("runs/bench") / f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        run_benchmark(spec, out, progress=not args.quiet)
    except (ConfigError, DataError, ValueError, KeyError) as exc:
        print(f"fusion bench video2emg: {exc}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text())
    print(f"wrote {out / 'results.csv'}, {out / 'results.md'} and plots in {out}")
    return 0


def run_lmm(args: argparse.Namespace) -> int:
    import time

    from fusion.bench.lmm import load_spec, run_study
    from fusion.config import ConfigError
    from fusion.fkg.loader import FKGError
    from fusion.synth.generate import SynthError

    try:
        spec = load_spec(args.spec)
        out = args.out or Path("runs/bench") / f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        run_study(spec, out, progress=not args.quiet)
    except (ConfigError, DataError, FKGError, SynthError, ValueError, KeyError) as exc:
        print(f"fusion bench lmm: {exc}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text())
    print(f"wrote {out / 'results.csv'}, {out / 'results.md'} and {out / 'f1.png'}")
    return 0
