"""What one AQA prediction says in the FKG's words: the action, errors above the threshold,
their spans, points lost and feedback. Shared by predictions.csv (`fusion train`/`eval`) and
`fusion predict`, so a sample reads the same whichever of them scored it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.scoring import ScoreBreakdown, breakdown
from fusion.metrics.temporal import spans_from_frame_probs

# Per-clip outputs that a sample's clips average (the rest are taken from its first clip).
CLIP_AVERAGED = ("action_logits", "pred_score", "fkg_score", "error_probs", "frame_probs")


def merge_clips(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One sample's clip rows as one: CLIP_AVERAGED outputs averaged, `clips` counted."""
    merged = dict(rows[0])
    for name in CLIP_AVERAGED:
        merged[name] = torch.stack([torch.as_tensor(r[name]) for r in rows]).mean(0)
    merged["clips"] = len(rows)
    return merged


@dataclass(frozen=True)
class Readout:
    """One sample's prediction: scores, each error slot's probability, spans, breakdown."""

    action_id: str
    action_name: str
    score: float  # the direct score head's, 0-100
    fkg_score: float  # 100 (1 - sum p w / sum w) of the action
    errors: list[tuple[str, float]]  # (error name, probability) per error of the action
    spans: list[tuple[str, float, float, float]]  # (error name, start s, end s, confidence)
    breakdown: ScoreBreakdown  # the errors at or above the threshold, costliest first

    def columns(self) -> dict[str, str]:
        """The predictions.csv cells of this readout."""
        return {
            "action_pred": self.action_id,
            "score_pred": f"{self.score:.2f}",
            "fkg_score": f"{self.fkg_score:.2f}",
            "errors_pred": ";".join(f"{n}:{p:.2f}" for n, p in self.errors),
            "spans_pred": ";".join(f"{n}@{s:.2f}-{e:.2f}s" for n, s, e, _ in self.spans),
            "points_lost": ";".join(f"{i.name}:{i.points_lost:.1f}" for i in self.breakdown.items),
            "feedback": " | ".join(i.feedback for i in self.breakdown.items),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the scores, errors with probabilities, spans and the FKG breakdown."""
        return {
            "action": {"id": self.action_id, "name": self.action_name},
            "score": self.score,
            "fkg_score": self.fkg_score,
            "errors": [{"name": n, "probability": p} for n, p in self.errors],
            "spans": [
                {"error": n, "start_s": s, "end_s": e, "confidence": c} for n, s, e, c in self.spans
            ],
            "breakdown": self.breakdown.to_dict(),
        }


def read_out(
    fkg: FitnessKnowledgeGraph,
    row: dict[str, Any],
    error_threshold: float,
    span_threshold: float,
) -> Readout:
    """The readout of a (clip-merged) prediction row: action_used, pred_score, fkg_score,
    error_probs (slots,), frame_probs (bins, slots), bin_times (bins,) and bin_width."""
    action = fkg.action(fkg.action_ids[int(row["action_used"])])
    names = [e.name for e in action.errors]
    probs = torch.as_tensor(row["error_probs"]).tolist()[: len(names)]
    observed = [action.errors[j].id for j, p in enumerate(probs) if p >= error_threshold]
    starts = torch.as_tensor(row["bin_times"]) - torch.as_tensor(row["bin_width"]) / 2
    spans = spans_from_frame_probs(
        torch.as_tensor(row["frame_probs"])[:, : len(names)], starts, span_threshold
    )
    return Readout(
        action_id=action.id,
        action_name=action.name,
        score=float(row["pred_score"]),
        fkg_score=float(row["fkg_score"]),
        errors=list(zip(names, probs, strict=True)),
        spans=[(names[c], s, e, conf) for c, s, e, conf in spans],
        breakdown=breakdown(action, observed),
    )
