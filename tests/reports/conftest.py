"""Run folders written file by file (no training), on the tiny FLEX and Fitness-AQA fixtures."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from fusion.config import compose, to_container
from fusion.report import COLUMNS, TEXT_COLUMNS

AQA_METRICS = {
    "test/loss": 0.98,
    "test/threshold": 0.5,
    "test/rho": 0.8123,
    "test/rho_fkg": 0.8567,
    "test/mae": 12.4234,
    "test/error_f1": 0.7915,
    "test/f1/A01/rounded_lower_back": 0.6667,
    "test/f1/A01/knees_inward": float("nan"),
    "test/extra_metric": 4.5678,
    "best_checkpoint": "runs/x/checkpoints/best.ckpt",
    "epochs": 2,
}


def aqa_row(key: str, **values: str) -> dict[str, str]:
    """A predictions.csv row of an A01 sample with no error, changed by `values`."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(key=key, action="A01", action_pred="A01", score="100.00", score_pred="97.50")
    row.update(fkg_score="96.00", errors_pred="knees_inward:0.10;rounded_lower_back:0.20")
    row.update(values)
    return row


AQA_ROWS = [
    aqa_row(
        "A01/001",
        score="79.55",
        errors_true="rounded_lower_back",
        errors_pred="knees_inward:0.70;rounded_lower_back:0.90",
        spans_pred="rounded_lower_back@1.00-1.60s;rounded_lower_back@2.50-2.70s;"
        "knees_inward@0.20-0.40s",
        points_lost="rounded_lower_back:20.5;knees_inward:22.7",
        feedback="Keep a neutral spine. | Push your knees out over your toes.",
    ),
    aqa_row("A01/002"),
    aqa_row("A01/008", score="85.23", errors_true="knees_forward"),
]

LOG = [
    {"epoch": "0", "step": "4", "train/total_epoch": "3.0", "val/loss": "", "val/rho": ""},
    {"epoch": "0", "step": "4", "train/total_epoch": "", "val/loss": "2.5", "val/rho": "0.3"},
    {"epoch": "1", "step": "9", "train/total_epoch": "2.0", "val/loss": "", "val/rho": ""},
    {"epoch": "1", "step": "9", "train/total_epoch": "", "val/loss": "1.5", "val/rho": "0.6"},
]


def write_csv(
    path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] | None = None
) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_run(
    folder: Path,
    config: dict,
    metrics: dict,
    rows: list[dict[str, str]],
    columns: tuple[str, ...],
) -> Path:
    """config.yaml, metrics.json, predictions.csv and metrics.csv, as `fusion train` leaves them."""
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    write_csv(folder / "predictions.csv", rows, columns)
    write_csv(folder / "metrics.csv", LOG)
    return folder


@pytest.fixture()
def aqa_run(flex_root, tmp_path) -> Callable[..., Path]:
    """Makes an AQA run folder on the FLEX fixture (`root=` points it elsewhere)."""

    def make(root: Path = flex_root) -> Path:
        config = to_container(compose(None, [f"data.reader.root={root}", "name=tiny-aqa"]))
        return write_run(tmp_path / "runs" / "aqa-1", config, AQA_METRICS, AQA_ROWS, COLUMNS)

    return make


@pytest.fixture()
def text_run(faqa_root, tmp_path) -> Path:
    """A text-task run folder on the Fitness-AQA fixture: two questions of its first clip."""
    key = "BackSquat_S01_001"
    config = to_container(
        compose(None, ["task=text", f"data.reader.root={faqa_root}", "model.modalities=[video]"])
    )
    rows = []
    for turn, reference, generated in (
        ("temporal", "No errors are visible.", "Errors: knees forward, from 1.00s to 1.50s."),
        ("score", "It scores 90.", "It scores 80."),
    ):
        row = dict.fromkeys(TEXT_COLUMNS, "")
        row.update(key=key, action="Barbell Back Squat", turn=turn, question=f"Q {turn}?",
                   reference=reference, generated=generated, parsed="1",
                   action_pred="Barbell Back Squat")  # fmt: skip
        if turn == "temporal":
            row.update(errors_pred="knees_forward", spans_pred="knees_forward@1.00-1.50s")
        rows.append(row)
    metrics = {"test/parse_rate": 1.0, "test/bleu": 61.25, "test/f1/A01/knees_forward": 0.5}
    return write_run(tmp_path / "runs" / "text-1", config, metrics, rows, TEXT_COLUMNS)
