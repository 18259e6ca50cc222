"""`fusion bench lmm SPEC.yaml`: the LLaVA-Video Fitness-AQA study's table for our heads.

A spec (experiments/fitness_aqa_lmm.yaml) names the dataset to generate (`synth`), `base`
`fusion train` overrides shared by every run, `runs` (name -> more overrides: the structured AQA
head, the text head with each balancing strategy, ...), `seeds`, and the study's `errors`
(column name -> `<action id>/<error>`). An override's value `@<run>` is that earlier run's best
checkpoint of the same seed: `model.encoders_from=@aqa_head` starts the text head from the
structured head's trained encoders, as LLaVA starts from a pretrained vision tower. Every run x
seed trains with `fusion.train.train` on the same split. The table gives each error's F1 and
temporal AP at tIoU 0.5, their means, the action accuracy and, for text runs, the share of
answers that parsed. Above the runs it holds the trivial baselines (`fusion.bench.aqa_baselines`:
yes / no to every error, the training majority per exercise), scored on the same test answers,
and under the table a line says how far the best learned run is above the best of them.
"""

from __future__ import annotations

import csv
import functools
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from fusion.bench.aqa_baselines import baseline_metrics
from fusion.bench.spec import read_spec
from fusion.config import ConfigError, compose
from fusion.data.datamodule import FusionDataModule
from fusion.synth.generate import generate
from fusion.train import train

SPEC_KEYS = {"benchmark", "name", "synth", "base", "seeds", "runs", "errors"}
SYNTH_KEYS = {"preset", "format", "seed", "out"}
PRINT = functools.partial(print, flush=True)
BASELINE = "baseline"  # the `head` of a trivial baseline's row
BASELINE_HATCHES = ("//", "..", "xx")  # grey bars, one pattern per baseline, in f1.png


@dataclass
class LMMSpec:
    """A parsed study file."""

    path: Path
    name: str
    synth: dict[str, Any] | None
    base: list[str]
    seeds: list[int]
    runs: dict[str, list[str]]
    errors: dict[str, str]


def load_spec(path: str | Path) -> LMMSpec:
    """Read and check a study YAML; a missing or unknown key is a ConfigError naming it."""
    path = Path(path)
    raw = read_spec(path, SPEC_KEYS, value="lmm")
    runs = raw.get("runs")
    if not isinstance(runs, dict) or not runs:
        raise ConfigError(f"{path}: runs: expected a mapping of name -> list of key=value")
    for name, overrides in {"base": raw.get("base", []), **runs}.items():
        if not isinstance(overrides, list) or not all(
            isinstance(o, str) and "=" in o for o in overrides
        ):
            raise ConfigError(f"{path}: {name}: expected a list of key=value overrides")
    earlier: list[str] = []
    for name, overrides in runs.items():
        for item in overrides:
            value = item.split("=", 1)[1]
            if value.startswith("@") and value[1:] not in earlier:
                raise ConfigError(
                    f"{path}: runs.{name}: {item} needs run {value[1:]!r} before it; "
                    f"runs before it: {earlier}"
                )
        earlier.append(name)
    errors = raw.get("errors")
    if (
        not isinstance(errors, dict)
        or not errors
        or not all(isinstance(v, str) and v.count("/") == 1 for v in errors.values())
    ):
        raise ConfigError(f"{path}: errors: expected a mapping of column -> <action id>/<error>")
    synth = raw.get("synth")
    if synth is not None and (not isinstance(synth, dict) or set(synth) - SYNTH_KEYS):
        raise ConfigError(f"{path}: synth: expected a mapping with keys {sorted(SYNTH_KEYS)}")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ConfigError(f"{path}: seeds: expected a non-empty list of integers, got {seeds}")
    return LMMSpec(
        path=path,
        name=str(raw.get("name", path.stem)),
        synth=synth,
        base=list(raw.get("base", [])),
        seeds=seeds,
        runs={k: list(v) for k, v in runs.items()},
        errors=dict(errors),
    )


def run_study(spec: LMMSpec, out: Path, progress: bool = True) -> list[dict[str, Any]]:
    """Score the baselines, train every run x seed, write results.csv, results.md and f1.png
    under `out`; returns the table's rows, baselines first."""
    out.mkdir(parents=True, exist_ok=True)
    if spec.synth is not None:
        options = {"preset": "small", "format": "fitness-aqa", "seed": 0, **spec.synth}
        generate(
            options["preset"],
            Path(options["out"]),
            int(options["seed"]),
            options["format"],
            progress=progress,
        )
    rows = baseline_rows(spec, progress)
    for seed in spec.seeds:
        best: dict[str, str] = {}
        for name, overrides in spec.runs.items():
            config = compose(
                None,
                [
                    *spec.base,
                    *(_resolve(item, best) for item in overrides),
                    f"seed={seed}",
                    f"name={name}-s{seed}",
                    f"out={out / 'runs'}",
                    f"trainer.enable_progress_bar={str(progress).lower()}",
                ],
            )
            started = time.perf_counter()
            PRINT(f"[{spec.name}] {name} seed {seed}: training ({config.task.kind})")
            folder, metrics = train(config)
            best[name] = metrics["best_checkpoint"] or str(folder / "checkpoints" / "last.ckpt")
            rows.append(study_row(spec, name, seed, config.task.kind, metrics, folder, started))
            PRINT(f"[{spec.name}] {name} seed {seed}: {_summary(rows[-1], spec)}")
    write_results(spec, rows, out)
    PRINT(f"[{spec.name}] {baseline_margin(rows)}")
    return rows


def _resolve(item: str, best: dict[str, str]) -> str:
    """`key=@run` -> `key=<that run's best checkpoint>`; other overrides as they are."""
    key, value = item.split("=", 1)
    return f"{key}={best[value[1:]]}" if value.startswith("@") else item


def shared_data(spec: LMMSpec) -> DictConfig:
    """The data config of the base, after checking that no run changes its reader or split:
    the baselines are scored once, on the test answers every run is scored on."""
    placeholders = {name: f"runs/{name}/checkpoints/best.ckpt" for name in spec.runs}
    base = compose(None, spec.base).data
    for name, overrides in spec.runs.items():
        data = compose(None, [*spec.base, *(_resolve(o, placeholders) for o in overrides)]).data
        for part in ("reader", "split"):
            if data[part] != base[part]:
                raise ConfigError(
                    f"{spec.path}: runs.{name}: changes data.{part}; expected the base's, as "
                    f"the trivial baselines are scored on the base's test split"
                )
    return base


def baseline_rows(spec: LMMSpec, progress: bool) -> list[dict[str, Any]]:
    """One table row per trivial baseline, on the runs' data and split (its cache is built
    here, and the runs reuse it)."""
    datamodule = FusionDataModule(shared_data(spec), progress=progress)
    datamodule.prepare_data()
    rows = []
    for name, metrics in baseline_metrics(datamodule).items():
        row = table_row(spec, name, None, BASELINE, metrics) | {"minutes": math.nan, "folder": ""}
        PRINT(f"[{spec.name}] baseline {name}: {_summary(row, spec)}")
        rows.append(row)
    return rows


def study_row(
    spec: LMMSpec,
    run: str,
    seed: int,
    kind: str,
    metrics: dict[str, Any],
    folder: Path,
    started: float,
) -> dict[str, Any]:
    """One table row from a run's test metrics: per-error F1 and AP, their means, and more."""
    row = table_row(spec, run, seed, kind, metrics)
    row["minutes"] = round((time.perf_counter() - started) / 60, 2)
    row["folder"] = str(folder)
    return row


def table_row(
    spec: LMMSpec, run: str, seed: int | None, head: str, metrics: dict[str, Any]
) -> dict[str, Any]:
    """The metric columns of a row: a missing metric (a baseline's AP) is NaN."""
    row: dict[str, Any] = {"run": run, "seed": seed, "head": head}
    for column, error in spec.errors.items():
        row[f"f1_{column}"] = _get(metrics, f"test/f1/{error}")
        row[f"ap_{column}"] = _get(metrics, f"test/ap/{error}")
    row["macro_f1"] = _mean([row[f"f1_{c}"] for c in spec.errors])
    row["mAP"] = _mean([row[f"ap_{c}"] for c in spec.errors])
    row["action_acc"] = _get(metrics, "test/action_acc")
    row["parse_rate"] = _get(metrics, "test/parse_rate")
    return row


def write_results(spec: LMMSpec, rows: Sequence[dict[str, Any]], out: Path) -> None:
    """results.csv (every row), results.md (the table) and f1.png, each written atomically."""
    columns = list(rows[0])
    tmp = out / ".results.csv.tmp"
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out / "results.csv")
    tmp = out / ".results.md.tmp"
    tmp.write_text(markdown_table(spec, rows) + "\n")
    tmp.replace(out / "results.md")
    _plot_f1(spec, rows, out / "f1.png")


def markdown_table(spec: LMMSpec, rows: Sequence[dict[str, Any]]) -> str:
    """The study's table: F1 and AP per error, mAP, with exercise accuracy and parse rate;
    baselines in italics, and under the table the learned runs' margin over them."""
    names = list(spec.errors)
    header = ["run", "seed", *(f"F1 {n}" for n in names), "F1 mean"]
    header += [*(f"AP {n}" for n in names), "mAP", "action acc", "parsed", "min"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [_run_name(row), "—" if row["seed"] is None else str(row["seed"])]
        cells += [_fmt(row[f"f1_{n}"]) for n in names] + [_fmt(row["macro_f1"])]
        cells += [_fmt(row[f"ap_{n}"]) for n in names] + [_fmt(row["mAP"])]
        cells += [_fmt(row["action_acc"]), _fmt(row["parse_rate"]), _minutes(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", baseline_margin(rows)])


def baseline_margin(rows: Sequence[dict[str, Any]]) -> str:
    """One line: the best learned run's F1 mean (averaged over its seeds, so one lucky seed
    does not decide) minus the best trivial baseline's."""
    seeds: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if not _is_baseline(row):
            seeds[row["run"]].append(row["macro_f1"])
    learned = {run: _mean(values) for run, values in seeds.items()}
    learned = {run: value for run, value in learned.items() if not math.isnan(value)}
    trivial = {
        row["run"]: row["macro_f1"]
        for row in rows
        if _is_baseline(row) and not math.isnan(row["macro_f1"])
    }
    if not learned or not trivial:
        return "No learned run and baseline with an F1 mean to compare."
    run = max(learned, key=learned.__getitem__)
    baseline = max(trivial, key=trivial.__getitem__)
    return (
        f"Best learned run: {run}, F1 mean {_fmt(learned[run])} over {len(seeds[run])} "
        f"seed(s); best trivial baseline: {baseline}, {_fmt(trivial[baseline])}; margin "
        f"{learned[run] - trivial[baseline]:+.3f}."
    )


def _plot_f1(spec: LMMSpec, rows: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(spec.errors)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(rows)
    hatches = iter(BASELINE_HATCHES)
    for i, row in enumerate(rows):
        values = [0.0 if math.isnan(row[f"f1_{n}"]) else row[f"f1_{n}"] for n in names]
        style = (
            {"color": "0.85", "hatch": next(hatches, "//"), "edgecolor": "0.35"}
            if _is_baseline(row)
            else {}
        )
        ax.bar(
            [j + i * width for j in range(len(names))], values, width, label=_label(row), **style
        )
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(names))], names)
    ax.set(ylabel="test F1", ylim=(0, 1), title=f"{spec.name}: F1 per error")
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def _is_baseline(row: dict[str, Any]) -> bool:
    return row["head"] == BASELINE


def _run_name(row: dict[str, Any]) -> str:
    return f"*baseline: {row['run']}*" if _is_baseline(row) else row["run"]


def _label(row: dict[str, Any]) -> str:
    return f"baseline: {row['run']}" if _is_baseline(row) else f"{row['run']} (seed {row['seed']})"


def _minutes(row: dict[str, Any]) -> str:
    return "—" if math.isnan(row["minutes"]) else f"{row['minutes']:.1f}"


def _summary(row: dict[str, Any], spec: LMMSpec) -> str:
    f1 = ", ".join(f"{n} {_fmt(row[f'f1_{n}'])}" for n in spec.errors)
    return (
        f"F1 {f1}; mean {_fmt(row['macro_f1'])}, mAP {_fmt(row['mAP'])}, action "
        f"{_fmt(row['action_acc'])}, parsed {_fmt(row['parse_rate'])}, {_minutes(row)} min"
    )


def _get(metrics: dict[str, Any], key: str) -> float:
    value = metrics.get(key)
    return float("nan") if value is None else float(value)


def _mean(values: Sequence[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else float("nan")


def _fmt(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"
