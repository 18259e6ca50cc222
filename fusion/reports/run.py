"""A run folder read back for a report: config, test metrics, predictions, log, EMG results.

Everything is checked on the way in, so a bad file is one `ReportError` naming it and what
was expected, never a traceback from deep inside the page.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fusion.report import COLUMNS, TEXT_COLUMNS, read_log
from fusion.reports.columns import PARSERS
from fusion.reports.emg import EMGResults, find_emg

KINDS = ("aqa", "text", "video2emg")
NUMBER_COLUMNS = ("score", "score_pred", "fkg_score")  # AQA columns that hold a number or ""


class ReportError(ValueError):
    """Unusable report input: names the file and what was expected."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class Run:
    """One run folder: `kind` is aqa, text or video2emg; `predictions` are predictions.csv's
    rows (none for Video->EMG), `log` metrics.csv's."""

    folder: Path
    config: dict[str, Any]
    kind: str
    metrics: dict[str, Any]
    predictions: list[dict[str, str]]
    log: list[dict[str, str]]
    emg: EMGResults | None

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.folder.name)

    def section(self, *keys: str) -> Any:
        """config[k1][k2]...; None where a level is missing."""
        value: Any = self.config
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value


def task_kind(config: dict[str, Any]) -> str:
    """aqa or text (task.kind), or video2emg (a task with an envelope, `fusion bench
    video2emg`'s runs)."""
    task = config.get("task")
    task = task if isinstance(task, dict) else {}
    if "envelope" in task:
        return "video2emg"
    return str(task.get("kind", "aqa"))


def read_config(path: Path) -> dict[str, Any]:
    """config.yaml: a mapping with data.reader.root and a task kind the report knows."""
    if not path.is_file():
        raise ReportError(path, "not found: expected a run folder written by `fusion train`")
    try:
        config = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ReportError(path, f"expected the run's YAML config: {error}") from None
    data = config.get("data") if isinstance(config, dict) else None
    reader = data.get("reader") if isinstance(data, dict) else None
    if not isinstance(reader, dict) or not reader.get("root"):
        raise ReportError(path, "expected a run config mapping with data.reader.root")
    kind = task_kind(config)
    if kind not in KINDS:
        raise ReportError(path, f"task.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return config


def read_metrics(path: Path) -> dict[str, Any]:
    """metrics.json: a JSON object of test metrics."""
    if not path.is_file():
        raise ReportError(path, "not found: expected the test metrics `fusion train` writes")
    try:
        metrics = json.loads(path.read_text())
    except ValueError as error:  # not JSON, or not text
        raise ReportError(path, f"expected a JSON object of metrics: {error}") from None
    if not isinstance(metrics, dict):
        raise ReportError(path, f"expected a JSON object of metrics, got {type(metrics).__name__}")
    return metrics


def read_predictions(path: Path, kind: str) -> list[dict[str, str]]:
    """predictions.csv with the columns of its task kind and a value in every field."""
    if not path.is_file():
        raise ReportError(path, "not found: expected the per-sample test predictions")
    expected = TEXT_COLUMNS if kind == "text" else COLUMNS
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in expected if c not in (reader.fieldnames or ())]
            if missing:
                raise ReportError(
                    path, f"expected the {kind} columns {', '.join(expected)}; missing {missing}"
                )
            rows = []
            for row in reader:
                line = reader.line_num
                if None in row or None in row.values():
                    raise ReportError(
                        path, f"line {line}: expected {len(reader.fieldnames)} fields"
                    )
                _check_row(path, line, row, kind)
                rows.append(row)
    except (csv.Error, UnicodeDecodeError) as error:
        raise ReportError(path, f"expected a CSV file: {error}") from None
    if not rows:
        raise ReportError(path, "expected one row per test sample, found none")
    return rows


def _check_row(path: Path, line: int, row: dict[str, str], kind: str) -> None:
    """Numbers where an AQA row holds numbers, and packed columns that parse."""
    if kind == "aqa":
        for column in NUMBER_COLUMNS:
            _number(path, line, column, row[column])
    for column, parse in PARSERS[kind].items():
        try:
            parse(row[column])
        except ValueError as error:
            raise ReportError(path, f"line {line}: {column}: {error}") from None


def _number(path: Path, line: int, column: str, text: str) -> None:
    """A numeric field (or an empty one); anything else is a ReportError naming the line."""
    try:
        if text:
            float(text)
    except ValueError:
        raise ReportError(path, f"line {line}: {column}: expected a number, got {text!r}") from None


def read_training_log(path: Path) -> list[dict[str, str]]:
    """metrics.csv (absent: no rows), with numbers in every filled field."""
    try:
        records = read_log(path)
    except (csv.Error, UnicodeDecodeError) as error:
        raise ReportError(path, f"expected Lightning's CSV log: {error}") from None
    for n, record in enumerate(records, start=2):
        if None in record:
            raise ReportError(path, f"line {n}: more fields than the header names")
        for column, text in record.items():
            if text:
                _number(path, n, column, text)
    return records


def load_run(folder: Path) -> Run:
    """Read and check a run folder; a Video->EMG run needs no metrics.json or predictions.csv,
    its figures come from its benchmark's prediction files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(folder, "not a folder: expected a run folder written by `fusion train`")
    config = read_config(folder / "config.yaml")
    kind = task_kind(config)
    emg = find_emg(folder, config)
    if kind == "video2emg":
        if emg is None:
            raise ReportError(
                folder.parent.parent / "predictions" / f"{folder.name}.npz",
                "not found: a Video->EMG run is reported from its benchmark's predictions",
            )
        metrics = {f"test/{k}": v for k, v in emg.figures.items()}
        predictions: list[dict[str, str]] = []
    else:
        metrics = read_metrics(folder / "metrics.json")
        predictions = read_predictions(folder / "predictions.csv", kind)
    return Run(
        folder=folder,
        config=config,
        kind=kind,
        metrics=metrics,
        predictions=predictions,
        log=read_training_log(folder / "metrics.csv"),
        emg=emg,
    )


def is_number(value: Any) -> bool:
    """A metric value the table prints (a float or int, NaN included), not a path or a list."""
    return isinstance(value, int | float) and not isinstance(value, bool)
