"""FLEX repetition score from observed errors: S = (1 − ΣW_observed / ΣW_max) × 100.

W are the severity weights of one action's error types; ΣW_max sums all of them, so a
repetition without errors scores 100 and one showing every error scores 0. Each error counts
once however often it is listed (the score is defined on error indicators).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from fusion.fkg.graph import Action, ErrorType


def observed_errors(action: Action, observed: Iterable[str]) -> list[ErrorType]:
    """Resolve error ids or names to this action's errors, once each, in the order given."""
    if isinstance(observed, str):
        observed = [observed]
    errors: dict[str, ErrorType] = {}
    for key in observed:
        try:
            err = action.error(key)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        errors.setdefault(err.id, err)
    return list(errors.values())


def score(action: Action, observed: Iterable[str]) -> float:
    """Score of one repetition of `action` showing the `observed` errors (ids or names)."""
    lost = sum(e.weight for e in observed_errors(action, observed))
    total = action.max_weight
    return 100.0 if total <= 0 else (1.0 - lost / total) * 100.0


def expected_score(error_probs: Tensor, weights: Tensor) -> Tensor:
    """Expected score [B] from per-error probabilities [B, E] and weights [B, E] or [E].

    S is linear in the error indicators, so E[S] = (1 − Σ p·W / ΣW) × 100 is the exact
    expectation for any joint distribution with these marginals, not an approximation; with
    0/1 indicators it is the score itself. Zero-weight padding columns contribute nothing, a
    row whose weights are all zero scores 100, and the result is differentiable in both inputs.
    """
    if error_probs.dim() != 2:
        raise ValueError(f"error_probs must be [B, E], got shape {tuple(error_probs.shape)}")
    if weights.dim() not in (1, 2) or weights.shape[-1] != error_probs.shape[-1]:
        raise ValueError(
            f"weights must be [E] or [B, E] with E={error_probs.shape[-1]}, "
            f"got shape {tuple(weights.shape)}"
        )
    weights = weights.to(error_probs.dtype).expand_as(error_probs)
    lost = (error_probs * weights).sum(-1)
    total = weights.sum(-1)
    safe_total = torch.where(total > 0, total, torch.ones_like(total))
    return (1.0 - lost / safe_total) * 100.0


@dataclass(frozen=True)
class BreakdownItem:
    """One observed error and the points it costs: 100 · W / ΣW_max."""

    error_id: str
    name: str
    phase: str
    severity: str
    weight: float
    points_lost: float
    feedback: str


@dataclass(frozen=True)
class ScoreBreakdown:
    """A score with the observed errors that explain it, costliest first."""

    action_id: str
    action_name: str
    score: float
    max_weight: float
    items: list[BreakdownItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def breakdown(action: Action, observed: Iterable[str]) -> ScoreBreakdown:
    """Explain a score: each observed error with its weight, points lost and feedback."""
    errors = observed_errors(action, observed)
    total = action.max_weight
    items = [
        BreakdownItem(
            error_id=e.id,
            name=e.name,
            phase=e.phase,
            severity=e.severity,
            weight=e.weight,
            points_lost=100.0 * e.weight / total if total > 0 else 0.0,
            feedback=e.feedback.text,
        )
        for e in errors
    ]
    items.sort(key=lambda item: (-item.points_lost, item.error_id))
    return ScoreBreakdown(
        action_id=action.id,
        action_name=action.name,
        score=score(action, [e.id for e in errors]),
        max_weight=total,
        items=items,
    )
