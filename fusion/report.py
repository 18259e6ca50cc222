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

from fusion.fkg.scoring import breakdown  # noqa: E402
from fusion.metrics.temporal import spans_from_frame_probs  # noqa: E402

COLUMNS = (
    "key", "action", "action_pred", "score", "score_pred", "fkg_score", "errors_true",
    "errors_pred", "spans_pred", "points_lost", "feedback",
)  # fmt: skip


def prediction_rows(task: Any) -> list[dict[str, Any]]:
    """One row per test sample: scores, errors with probabilities and spans, FKG breakdown."""
    threshold = task.error_threshold
    action_ids = task.fkg.action_ids
    rows = []
    for row in getattr(task, "last_predictions", []):
        used = int(row["action_used"])
        action = task.fkg.action(action_ids[used])
        names = [e.name for e in action.errors]
        probs = row["error_probs"].tolist()
        observed = [
            action.errors[j].id for j, p in enumerate(probs[: len(names)]) if p >= threshold
        ]
        report = breakdown(action, observed)
        spans = spans_from_frame_probs(
            row["frame_probs"][:, : len(names)],
            row["bin_times"] - row["bin_width"] / 2,
            task.span_threshold,
        )
        true_action = int(row["action"])
        truth = []
        if true_action >= 0:
            true_names = [e.name for e in task.fkg.action(action_ids[true_action]).errors]
            truth = [n for j, n in enumerate(true_names) if row["errors"][j] > 0.5]
        rows.append(
            {
                "key": row["key"],
                "action": action_ids[true_action] if true_action >= 0 else "",
                "action_pred": action.id,
                "score": f"{float(row['score']):.2f}" if row["score_mask"] else "",
                "score_pred": f"{float(row['pred_score']):.2f}",
                "fkg_score": f"{float(row['fkg_score']):.2f}",
                "errors_true": ";".join(truth),
                "errors_pred": ";".join(f"{n}:{p:.2f}" for n, p in zip(names, probs, strict=False)),
                "spans_pred": ";".join(f"{names[c]}@{s:.2f}-{e:.2f}s" for c, s, e, _ in spans),
                "points_lost": ";".join(f"{i.name}:{i.points_lost:.1f}" for i in report.items),
                "feedback": " | ".join(i.feedback for i in report.items),
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


def _learning_curves(folder: Path, loss: str, metric: str, label: str) -> None:
    """Training and validation loss beside one validation metric, per epoch."""
    log = folder / "metrics.csv"
    if not log.is_file():
        return
    with log.open() as handle:
        records = list(csv.DictReader(handle))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, ax in ((loss, axes[0]), ("val/loss", axes[0]), (metric, axes[1])):
        points = [(int(r["epoch"]), float(r[name])) for r in records if r.get(name)]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=name)
    axes[0].set(xlabel="epoch", ylabel="loss", title="losses")
    axes[1].set(xlabel="epoch", ylabel=label, title=f"validation {label}")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "learning_curves.png", dpi=100)
    plt.close(fig)


def _scores(folder: Path, rows: list[dict[str, Any]]) -> None:
    known = [r for r in rows if r["score_mask"]]
    if not known:
        return
    true = [float(r["score"]) for r in known]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(true, [float(r["pred_score"]) for r in known], s=12, label="direct")
    ax.scatter(true, [float(r["fkg_score"]) for r in known], s=12, label="FKG", alpha=0.7)
    ax.plot([0, 100], [0, 100], color="gray", linewidth=1)
    ax.set(xlabel="true score", ylabel="predicted score", title="test scores", xlim=(0, 100))
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "scores.png", dpi=100)
    plt.close(fig)


def per_error_f1(task: Any, rows: list[dict[str, Any]]) -> dict[str, float]:
    """F1 per FKG error name over the test samples where it was labelled and has a positive."""
    threshold = task.error_threshold
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
    return {
        name: float(binary_f1_score(torch.tensor(p), torch.tensor(y), threshold=threshold))
        for name, (p, y) in sorted(by_name.items())
        if any(y)
    }


def _error_f1(folder: Path, scores: dict[str, float]) -> None:
    if not scores:
        return
    fig, ax = plt.subplots(figsize=(8, max(3, 0.22 * len(scores))))
    ax.barh(list(scores), list(scores.values()))
    ax.set(xlabel="F1", xlim=(0, 1), title="per-error F1 (test)")
    fig.tight_layout()
    fig.savefig(folder / "error_f1.png", dpi=100)
    plt.close(fig)


def write_plots(folder: Path, task: Any) -> None:
    """learning_curves.png, and for AQA scores.png and error_f1.png, in the run folder."""
    if hasattr(task, "parsed"):
        _learning_curves(folder, "train/loss_epoch", "val/error_f1", "error macro-F1")
        return
    rows = getattr(task, "last_predictions", [])
    _learning_curves(folder, "train/total_epoch", "val/rho", "Spearman rho")
    _scores(folder, rows)
    _error_f1(folder, per_error_f1(task, rows))
