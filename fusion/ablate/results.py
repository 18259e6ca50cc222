"""A study's results: `results.csv` (a row per run), `results.md` (mean ± std over seeds, and
the study's checks) and a bar chart per axis with the seed spread as error bars."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fusion.ablate.runner import Outcome
from fusion.ablate.spec import AblationSpec, Check
from fusion.config import ConfigError

OK = ("done", "finished")


def result_rows(spec: AblationSpec, outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """One row per run: its axes, seed, status, the study's metrics, then every other scalar
    test metric any run has (blank where a run lacks it)."""
    others = sorted(
        {
            name
            for outcome in outcomes
            for name, value in outcome.metrics.items()
            if name.startswith("test/") and isinstance(value, int | float)
        }
        - set(spec.metrics)
    )
    rows = []
    for outcome in outcomes:
        job = outcome.job
        row: dict[str, Any] = {"run": job.run.label, **job.run.axes, "seed": job.run.seed}
        row["status"] = outcome.status
        row["minutes"] = round(outcome.minutes, 3)
        row.update({m: outcome.metrics.get(m) for m in [*spec.metrics, *others]})
        row.update(key=job.key, folder=str(job.folder or ""), error=outcome.error)
        rows.append(row)
    return rows


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """The rows (the first row's columns), written through a temporary file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["run"])
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def read_results(path: Path, spec: AblationSpec) -> pd.DataFrame:
    """results.csv as a frame; it must have the study's axes, seed, status and metrics."""
    if not path.is_file():
        raise ConfigError(f"{path}: no results file; run the study first")
    frame = pd.read_csv(path, dtype={axis: str for axis in spec.axes})
    needed = [*spec.axes, "seed", "status", *spec.metrics]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: lacks column(s) {missing} that {spec.path} needs")
    return frame


def aggregate(frame: pd.DataFrame, axes: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Per grid point (seeds pooled) of the runs that ended well: `seeds`, and for each metric
    `<metric> mean` and `<metric> std` (sample std, ddof 1; NaN for one seed)."""
    ok = frame[frame["status"].isin(OK)].copy()
    for metric in metrics:
        ok[metric] = pd.to_numeric(ok[metric], errors="coerce")
    groups = ok.groupby(list(axes), sort=False, dropna=False)
    table = groups.size().rename("seeds").to_frame()
    for metric in metrics:
        table[f"{metric} mean"] = groups[metric].mean()
        table[f"{metric} std"] = groups[metric].std(ddof=1)
    return table.reset_index()


def _cell(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "—"
    return f"{mean:.3f}" if math.isnan(std) else f"{mean:.3f} ± {std:.3f}"


def _select(table: pd.DataFrame, point: dict[str, str]) -> pd.DataFrame:
    chosen = table
    for axis, value in point.items():
        chosen = chosen[chosen[axis] == value]
    return chosen


def check_lines(spec: AblationSpec, table: pd.DataFrame) -> list[str]:
    """One line per check and value of the axes it leaves free: holds or not, with numbers."""
    lines = []
    for check in spec.checks:
        free = [a for a in spec.axes if a not in check.better and a not in check.worse]
        contexts = table[free].drop_duplicates().to_dict("records") if free else [{}]
        for context in contexts:
            lines.append(_check_line(check, table, context))
    return lines


def _check_line(check: Check, table: pd.DataFrame, context: dict[str, str]) -> str:
    better = _select(table, {**context, **check.better})
    worse = _select(table, {**context, **check.worse})
    where = f" ({_name(context)})" if context else ""
    names = (_name(check.better), _name(check.worse))
    if len(better) != 1 or len(worse) != 1:
        return f"- {check.metric}{where}: {names[0]} vs {names[1]}: no result to compare"
    b_mean, b_std = (float(better[f"{check.metric} {s}"].iloc[0]) for s in ("mean", "std"))
    w_mean, w_std = (float(worse[f"{check.metric} {s}"].iloc[0]) for s in ("mean", "std"))
    spread = (0.0 if math.isnan(b_std) else b_std) + (0.0 if math.isnan(w_std) else w_std)
    if b_mean - w_mean > spread:
        verdict = "holds"
    elif b_mean > w_mean:
        verdict = "does not hold beyond the seed spread"
    else:
        verdict = "does not hold"
    return (
        f"- {check.metric}{where}: {names[0]} {_cell(b_mean, b_std)} > {names[1]} "
        f"{_cell(w_mean, w_std)}: **{verdict}**"
    )


def _name(point: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def markdown(spec: AblationSpec, frame: pd.DataFrame) -> str:
    """The study's table (a row per grid point), its checks and its failed runs."""
    table = aggregate(frame, list(spec.axes), spec.metrics)
    header = [*spec.axes, "seeds", *spec.metrics]
    lines = [f"# {spec.name}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for _, row in table.iterrows():
        cells = [str(row[a]) for a in spec.axes] + [str(int(row["seeds"]))]
        cells += [_cell(float(row[f"{m} mean"]), float(row[f"{m} std"])) for m in spec.metrics]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Mean ± sample standard deviation over seeds, on the test split."]
    checks = check_lines(spec, table)
    if checks:
        lines += ["", "## Checks (mean − std of the better above mean + std of the worse)", ""]
        lines += checks
    failed = frame[~frame["status"].isin(OK)]
    if len(failed):
        lines += ["", "## Runs without a result", ""]
        lines += [
            f"- {r['run']}: {r['status']}: {r.get('error', '')}" for _, r in failed.iterrows()
        ]
    return "\n".join(lines)


def plot_axes(spec: AblationSpec, frame: pd.DataFrame, out: Path) -> list[Path]:
    """plot_<axis>.png for every axis with two or more values: a panel per metric, a bar per
    value (grouped by the other axes' values), error bars one std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = aggregate(frame, list(spec.axes), spec.metrics)
    written = []
    for axis in spec.axes:
        values = list(dict.fromkeys(table[axis]))
        if len(values) < 2:
            continue
        others = [a for a in spec.axes if a != axis]
        combos = table[others].drop_duplicates().to_dict("records") if others else [{}]
        fig, axes = plt.subplots(
            1, len(spec.metrics), figsize=(4 * len(spec.metrics), 3.6), squeeze=False
        )
        width = 0.8 / len(combos)
        for panel, metric in zip(axes[0], spec.metrics, strict=True):
            for c, combo in enumerate(combos):
                part = _select(table, combo)
                heights, errors = [], []
                for value in values:
                    row = part[part[axis] == value]
                    found = len(row) > 0  # an excluded or failed point gets no bar
                    heights.append(float(row[f"{metric} mean"].iloc[0]) if found else math.nan)
                    std = float(row[f"{metric} std"].iloc[0]) if found else 0.0
                    errors.append(0.0 if math.isnan(std) else std)
                positions = [i + (c - (len(combos) - 1) / 2) * width for i in range(len(values))]
                panel.bar(positions, heights, width, yerr=errors, capsize=3, label=_name(combo))
            panel.set_xticks(range(len(values)), values, rotation=30, ha="right")
            panel.set(title=metric, xlabel=axis)
        if others:
            axes[0][-1].legend(fontsize=7)
        fig.suptitle(f"{spec.name}: by {axis} (mean ± std over seeds)")
        fig.tight_layout()
        path = out / f"plot_{axis.replace('.', '_')}.png"
        tmp = path.with_name(f".{path.stem}.tmp.png")
        fig.savefig(tmp, dpi=100)
        plt.close(fig)
        tmp.replace(path)
        written.append(path)
    return written


def write_tables(spec: AblationSpec, out: Path) -> list[Path]:
    """results.md and the plots from `out/results.csv`."""
    frame = read_results(out / "results.csv", spec)
    path = out / "results.md"
    tmp = path.with_name(".results.md.tmp")
    tmp.write_text(markdown(spec, frame) + "\n")
    tmp.replace(path)
    return [path, *plot_axes(spec, frame, out)]
