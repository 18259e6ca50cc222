"""`fusion bench video2emg SPEC.yaml`: every model x protocol x seed of a benchmark file, scored
the same way, written as results.csv, a Markdown table (mean ± std over seeds) and plots.

A spec (see experiments/video2emg.yaml) names a data config, a `base` of run-config overrides,
`protocols` and `models` (each a mapping of overrides onto `Video2EMGRunConfig`), `seeds`, and
optionally `external` rows scored from predictions files (`fusion.emg_predictions`). The split
seed stays fixed, so every model and seed of a protocol meets the same test clips; seeds change
the training. Non-learned baselines do not depend on the seed and run once per protocol.
"""

from __future__ import annotations

import csv
import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint

from fusion.bench.spec import read_spec
from fusion.config import (
    ConfigError,
    Video2EMGRunConfig,
    load_group,
    merge_config,
    to_container,
)
from fusion.data.video2emg import Video2EMGDataModule
from fusion.emg_predictions import read_predictions, score, write_predictions, write_targets
from fusion.models.emg_baselines import baseline_predictions, build_baseline, target_record
from fusion.train import make_trainer

SPEC_KEYS = {"benchmark", "name", "data", "base", "seeds", "protocols", "models", "external"}
METRICS: tuple[str, ...] = ("mae", "rmse", "r", "clip_r", "contribution_mae")
Record = dict[str, Any]
PRINT = functools.partial(print, flush=True)  # a progress line shows at once, even in a log


@dataclass
class BenchSpec:
    """A parsed benchmark file: data config name, overrides, protocols, models, seeds."""

    path: Path
    name: str
    data: str
    base: dict[str, Any]
    seeds: list[int]
    protocols: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]
    external: list[dict[str, Any]] = field(default_factory=list)


def load_spec(path: str | Path) -> BenchSpec:
    """Read and check a benchmark YAML; a missing or unknown key is a ConfigError naming it."""
    path = Path(path)
    raw = read_spec(path, SPEC_KEYS, value="video2emg")
    for key in ("protocols", "models"):
        if not isinstance(raw.get(key), dict) or not raw[key]:
            raise ConfigError(f"{path}: {key}: expected a non-empty mapping of name -> overrides")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ConfigError(f"{path}: seeds: expected a non-empty list of integers, got {seeds}")
    external = raw.get("external") or []
    for n, row in enumerate(external):
        missing = {"name", "protocol", "predictions"} - set(row or {})
        if missing:
            raise ConfigError(f"{path}: external[{n}]: needs {sorted(missing)}")
        if row["protocol"] not in raw["protocols"]:
            raise ConfigError(
                f"{path}: external[{n}]: protocol {row['protocol']!r} is not one of "
                f"{sorted(raw['protocols'])}"
            )
    return BenchSpec(
        path=path,
        name=str(raw.get("name", path.stem)),
        data=str(raw.get("data", "small")),
        base=raw.get("base") or {},
        seeds=seeds,
        protocols={k: v or {} for k, v in raw["protocols"].items()},
        models={k: v or {} for k, v in raw["models"].items()},
        external=external,
    )


def run_config(spec: BenchSpec, protocol: str, model: str, seed: int) -> DictConfig:
    """The full run config of one cell: schema <- data file <- base <- protocol <- model.

    A model entry's `task` and `trainer` keys override those sections (a video model may want
    fewer epochs than a pose one) and its `loader` key `data.loader` (the protocol's split and
    cache are shared by every model); its other keys are the `model` section.
    """
    entry = dict(spec.models[model])
    model_overrides = {key: entry.pop(key) for key in ("task", "trainer") if key in entry}
    if "loader" in entry:
        model_overrides["data"] = {"loader": entry.pop("loader")}
    model_overrides["model"] = entry
    name = {"name": f"{model}-{protocol}-s{seed}", "seed": seed}
    return merge_config(
        Video2EMGRunConfig,
        {"data": load_group("data", spec.data)},
        spec.base,
        spec.protocols[protocol],
        model_overrides,
        name,
    )


def datamodule_for(config: DictConfig, progress: bool) -> Video2EMGDataModule:
    """The set-up DataModule of a run config (its cache is shared by every cell)."""
    envelope = OmegaConf.to_object(config.task.envelope)
    datamodule = Video2EMGDataModule(config.data, envelope, progress=progress)
    datamodule.prepare_data()
    datamodule.setup()
    return datamodule


def evaluation_clips(datamodule: Video2EMGDataModule, part: str) -> list[Record]:
    """Every clip of a part once, as evaluation sees it (no jitter or augmentation)."""
    datamodule.item_modalities = None
    dataset = datamodule.dataset(part, evaluation=True)
    return [item for item in (dataset[i] for i in range(len(dataset))) if item is not None]


def train_learned(
    config: DictConfig, datamodule: Video2EMGDataModule, folder: Path
) -> list[Record]:
    """Fit one learned model, test its best checkpoint, return its per-clip test records."""
    from fusion.tasks.video2emg import Video2EMGTask

    pl.seed_everything(config.seed, workers=True)
    datamodule.item_modalities = tuple(config.model.modalities)
    datamodule.config.loader = OmegaConf.to_object(config.data.loader)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(config))
    task = Video2EMGTask(to_container(config))
    checkpoint = ModelCheckpoint(
        dirpath=str(folder / "checkpoints"), filename="best", monitor="val/loss", mode="min"
    )
    trainer = make_trainer(config, folder, [checkpoint])
    trainer.fit(task, datamodule=datamodule)
    best = checkpoint.best_model_path or None
    trainer.test(task, datamodule=datamodule, ckpt_path=best, verbose=False)
    return task.predictions


def reads_video(config: DictConfig) -> bool:
    """Whether a model sees frames: a learned one with video input, or nearest-by-video."""
    model = config.model
    if model.kind == "learned":
        return "video" in model.modalities
    return model.kind == "nearest" and model.features == "video"


def tests_views_only(config: DictConfig) -> bool:
    """A cross-view protocol: the same clips as `random`, with other views at test time."""
    return config.data.split.protocol == "cross-view"


def shapes(clips: Sequence[Record]) -> dict[str, Any]:
    """Channel and pair counts and exercise names of the data, which a model is built for."""
    first = clips[0]
    return {
        "channels": int(first["envelope"].shape[1]),
        "pairs": len(first["contribution"]),
        "actions": sorted({c["action"] for c in clips}),
    }


def run_benchmark(
    spec: BenchSpec,
    out: Path,
    progress: bool = True,
    report: Callable[[str], None] = PRINT,
) -> list[dict[str, Any]]:
    """Run every cell of the spec into `out`; returns the result rows (also written)."""
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    records_of: dict[tuple[str, str, int], list[Record]] = {}
    targets_of: dict[str, list[Record]] = {}
    started = time.monotonic()
    for protocol in spec.protocols:
        first = run_config(spec, protocol, next(iter(spec.models)), spec.seeds[0])
        datamodule = datamodule_for(first, progress)
        train_clips = evaluation_clips(datamodule, "train")
        test_clips = evaluation_clips(datamodule, "test")
        dims = shapes([*train_clips, *test_clips])
        for model in spec.models:
            resolved = run_config(spec, protocol, model, spec.seeds[0])
            if tests_views_only(resolved) and not reads_video(resolved):
                report(f"{'':11} {model:<18} {protocol:<14} skipped: reads no video, so its "
                       "cross-view scores are its random ones")  # fmt: skip
                continue
            kind = resolved.model.kind
            for seed in spec.seeds if kind == "learned" else spec.seeds[:1]:
                config = run_config(spec, protocol, model, seed)
                OmegaConf.update(config, "model", dims, merge=True)
                clock = time.monotonic()
                if kind == "learned":
                    folder = out / "runs" / f"{model}-{protocol}-s{seed}"
                    records = train_learned(config, datamodule, folder)
                else:
                    baseline = build_baseline(kind, config.model.features, config.model.grid)
                    records = baseline_predictions(baseline.fit(train_clips), test_clips)
                write_predictions(records, out / "predictions" / f"{model}-{protocol}-s{seed}.npz")
                figures = score(records)
                records_of[(model, protocol, seed)] = records
                rows.append(_row(model, kind, protocol, seed, figures, time.monotonic() - clock))
                report(_line(rows[-1], time.monotonic() - started))
        targets_of[protocol] = [target_record(clip) for clip in test_clips]
        write_targets(targets_of[protocol], out / f"targets-{protocol}.npz")
    for row in spec.external:
        records = read_predictions(Path(row["predictions"]), targets_of[row["protocol"]])
        seed = int(row.get("seed", 0))
        rows.append(_row(row["name"], "external", row["protocol"], seed, score(records), 0.0))
        records_of[(row["name"], row["protocol"], seed)] = records
        report(_line(rows[-1], time.monotonic() - started))
    write_results(rows, out)
    from fusion.emg_plots import plot_envelopes, plot_per_muscle_r

    plot_per_muscle_r(rows, out / "per_muscle_r.png")
    plot_envelopes(records_of, targets_of, out / "envelopes.png")
    return rows


def _row(
    model: str, kind: str, protocol: str, seed: int, figures: dict[str, Any], seconds: float
) -> dict[str, Any]:
    row = {"model": model, "kind": kind, "protocol": protocol, "seed": seed}
    row.update({m: figures[m] for m in METRICS})
    row["r_ch"] = figures["r_ch"]
    row["seconds"] = round(seconds, 1)
    return row


def _line(row: dict[str, Any], elapsed: float) -> str:
    figures = "  ".join(f"{m} {row[m]:.3f}" for m in METRICS)
    return (
        f"[{elapsed / 60:5.1f} min] {row['model']:<18} {row['protocol']:<14} s{row['seed']}  "
        f"{figures}  ({row['seconds']:.0f} s)"
    )


def write_results(rows: Sequence[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    """results.csv (one row per cell, per-muscle r included) and results.md (mean ± std)."""
    csv_path = out / "results.csv"
    columns = ["model", "kind", "protocol", "seed", *METRICS, "seconds", "r_per_muscle"]
    temporary = csv_path.with_suffix(".csv.tmp")
    with temporary.open("w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        for row in rows:
            values = {k: row[k] for k in columns if k in row}
            values["r_per_muscle"] = " ".join(f"{r:.3f}" for r in row["r_ch"])
            writer.writerow(values)
    temporary.replace(csv_path)
    md_path = out / "results.md"
    md_path.write_text(markdown_table(rows))
    return csv_path, md_path


def _mean_std(values: Sequence[float]) -> str:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return "–"
    mean = sum(finite) / len(finite)
    if len(finite) < 2:
        return f"{mean:.4f}"
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))
    return f"{mean:.4f} ± {std:.4f}"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """One line per (protocol, model): each metric as mean ± std over its seeds."""
    header = ["protocol", "model", "seeds", *METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["protocol"], row["model"]), []).append(row)
    for (protocol, model), cells in groups.items():
        figures = [_mean_std([float(c[m]) for c in cells]) for m in METRICS]
        lines.append("| " + " | ".join([protocol, model, str(len(cells)), *figures]) + " |")
    return "\n".join(lines) + "\n"
