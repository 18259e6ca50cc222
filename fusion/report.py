"""What a run leaves for people: per-sample predictions with the FKG breakdown, and plots."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torchmetrics.functional.classification import binary_f1_score  # noqa: E402

from fusion.readout import read_out  # noqa: E402

COLUMNS = (
    "key", "action", "action_pred", "score", "score_pred", "fkg_score", "errors_true",
    "errors_pred", "spans_pred", "points_lost", "feedback",
)  # fmt: skip


def prediction_rows(task: Any) -> list[dict[str, Any]]:
    """One row per test sample: scores, errors with probabilities and spans, FKG breakdown."""
    action_ids = task.fkg.action_ids
    rows = []
    for row in getattr(task, "last_predictions", []):
        readout = read_out(task.fkg, row, task.error_threshold, task.span_threshold)
        true_action = int(row["action"])
        truth = []
        if true_action >= 0:
            true_names = [e.name for e in task.fkg.action(action_ids[true_action]).errors]
            truth = [n for j, n in enumerate(true_names) if row["errors"][j] > 0.5]
        rows.append(
            {
                "key": row["key"],
                "action": action_ids[true_action] if true_action >= 0 else "",
                "score": f"{float(row['score']):.2f}" if row["score_mask"] else "",
                "errors_true": ";".join(truth),
                **readout.columns(),
            }
        )
    return rows


def text_prediction_rows(task: Any) -> list[dict[str, Any]]:
    """One row per test sample and question: the reference and generated answers, and what
    the generated one was parsed to."""
    rows = []
    for row in getattr(task, "last_predictions", []):
        parsed = task.parsed(row)
        for turn in row["turns"]:
            said = parsed[turn.kind]
            rows.append(
                {
                    "key": row["key"],
                    "action": turn.truth.action,
                    "turn": turn.kind,
                    "question": turn.question,
                    "reference": turn.answer,
                    "generated": row["generated"][turn.kind],
                    "parsed": int(said.parsed),
                    "action_pred": said.action or "",
                    "errors_true": ";".join(turn.truth.errors),
                    "errors_pred": ";".join(said.errors),
                    "spans_pred": ";".join(
                        f"{n}@{s:.2f}-{e:.2f}s" for n, (s, e) in said.spans.items()
                    ),
                    "score_pred": "" if said.score is None else f"{said.score:.0f}",
                }
            )
    return rows


TEXT_COLUMNS = (
    "key", "action", "turn", "question", "reference", "generated", "parsed", "action_pred",
    "errors_true", "errors_pred", "spans_pred", "score_pred",
)  # fmt: skip


def write_predictions(task: Any, path: Path) -> Path:
    """predictions.csv (per sample for AQA, per question for the text task), written through a
    temporary file."""
    text = hasattr(task, "parsed")
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TEXT_COLUMNS if text else COLUMNS)
        writer.writeheader()
        writer.writerows(text_prediction_rows(task) if text else prediction_rows(task))
    os.replace(tmp, path)
    return path


LEARNING_CURVES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "aqa": (("train/total_epoch", "val/loss"), "val/rho", "Spearman rho"),
    "text": (("train/loss_epoch", "train/loss", "val/loss"), "val/error_f1", "error macro-F1"),
    "video2emg": (("train/loss_epoch", "val/loss"), "val/r", "Pearson r"),
    "pose_distill": (("train/loss_epoch", "val/loss"), "val/mpjpe_mm", "MPJPE (mm)"),
}  # task kind -> (losses, validation metric, its label) drawn from metrics.csv


def read_log(path: Path) -> list[dict[str, str]]:
    """Lightning's metrics.csv as rows of strings; no rows when the file is absent."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def epoch_curve(records: list[dict[str, str]], name: str) -> list[tuple[int, float]]:
    """(epoch, mean of the values logged for `name` in it), for the epochs that logged it."""
    by_epoch: dict[int, list[float]] = {}
    for record in records:
        if record.get(name) and record.get("epoch"):
            by_epoch.setdefault(int(float(record["epoch"])), []).append(float(record[name]))
    return [(epoch, sum(v) / len(v)) for epoch, v in sorted(by_epoch.items())]


def learning_curves_figure(
    records: list[dict[str, str]], losses: tuple[str, ...], metric: str, label: str
) -> plt.Figure | None:
    """Training and validation losses beside one validation metric, per epoch; None if the
    log holds none of them."""
    curves = {name: epoch_curve(records, name) for name in (*losses, metric)}
    if not any(curves.values()):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, points in curves.items():
        if points:
            ax = axes[1] if name == metric else axes[0]
            ax.plot(*zip(*points, strict=True), marker="o", label=name)
    axes[0].set(xlabel="epoch", ylabel="loss", title="losses")
    axes[1].set(xlabel="epoch", ylabel=label, title=f"validation {label}")
    for ax in axes:
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    return fig


def scores_figure(true: list[float], direct: list[float], fkg: list[float]) -> plt.Figure | None:
    """Predicted (direct and FKG) against true scores of the scored test samples; None if
    no sample has a true score."""
    if not true:
        return None
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(true, direct, s=12, label="direct")
    ax.scatter(true, fkg, s=12, label="FKG", alpha=0.7)
    ax.plot([0, 100], [0, 100], color="gray", linewidth=1)
    ax.set(xlabel="true score", ylabel="predicted score", title="test scores", xlim=(0, 100))
    ax.legend()
    fig.tight_layout()
    return fig


def f1_per_name(
    labelled: dict[str, tuple[list[float], list[int]]], threshold: float
) -> dict[str, float]:
    """F1 per error name from its (probabilities, 0/1 labels), for names with a positive."""
    return {
        name: float(binary_f1_score(torch.tensor(p), torch.tensor(y), threshold=threshold))
        for name, (p, y) in sorted(labelled.items())
        if any(y)
    }


def per_error_f1(task: Any, rows: list[dict[str, Any]]) -> dict[str, float]:
    """F1 per FKG error name over the test samples where it was labelled and has a positive."""
    by_name: dict[str, tuple[list[float], list[int]]] = {}
    for row in rows:
        action = int(row["action"])
        if action < 0:
            continue
        errors = task.fkg.action(task.fkg.action_ids[action]).errors
        for j, error in enumerate(errors):
            if row["errors_mask"][j]:
                probs, labels = by_name.setdefault(error.name, ([], []))
                probs.append(float(row["error_probs"][j]))
                labels.append(int(row["errors"][j] > 0.5))
    return f1_per_name(by_name, task.error_threshold)


def error_f1_figure(
    scores: dict[str, float], title: str = "per-error F1 (test)"
) -> plt.Figure | None:
    """Horizontal bars of F1 per error; None when there is none."""
    if not scores:
        return None
    fig, ax = plt.subplots(figsize=(8, max(3, 0.22 * len(scores))))
    ax.barh(list(scores), list(scores.values()))
    ax.set(xlabel="F1", xlim=(0, 1), title=title)
    fig.tight_layout()
    return fig


def save_figure(fig: plt.Figure | None, path: Path) -> None:
    """Write a figure as PNG (nothing when there is no figure) and free it."""
    if fig is None:
        return
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_plots(folder: Path, task: Any, kind: str) -> None:
    """learning_curves.png, and for AQA scores.png and error_f1.png, in the run folder."""
    records = read_log(folder / "metrics.csv")
    save_figure(
        learning_curves_figure(records, *LEARNING_CURVES[kind]), folder / "learning_curves.png"
    )
    if kind != "aqa":
        return
    rows = getattr(task, "last_predictions", [])
    known = [r for r in rows if r["score_mask"]]
    figure = scores_figure(
        [float(r["score"]) for r in known],
        [float(r["pred_score"]) for r in known],
        [float(r["fkg_score"]) for r in known],
    )
    save_figure(figure, folder / "scores.png")
    save_figure(error_f1_figure(per_error_f1(task, rows)), folder / "error_f1.png")
