"""Classification metrics: action accuracy, and per-error F1 / AP over per-action error slots.

Error targets come in per-action slots (slot j = the action's j-th FKG error), so different
actions share slot indices. Passing the action index as `group` scores each (action, slot) pair
on its own; without it (`num_groups=1`) a slot pools every action's j-th error.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchmetrics import Metric
from torchmetrics.functional.classification import binary_average_precision, binary_f1_score
from torchmetrics.utilities import dim_zero_cat

from fusion.constants import IGNORE_INDEX
from fusion.fkg.graph import FitnessKnowledgeGraph


class ActionAccuracy(Metric):
    """Fraction of samples whose predicted action is the true one; `ignore_index` targets skip."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, ignore_index: int = IGNORE_INDEX, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.add_state("correct", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Count hits; `preds` is (B, A) logits/probabilities or (B,) class indices."""
        if preds.ndim == 2:
            preds = preds.argmax(dim=-1)
        if preds.ndim != 1 or preds.shape != target.shape:
            raise ValueError(
                f"preds must be (B, A) scores or (B,) indices matching target (B,), got "
                f"{tuple(preds.shape)} and {tuple(target.shape)}"
            )
        kept = target != self.ignore_index
        self.correct += (preds[kept] == target[kept]).sum()
        self.total += kept.sum()

    def compute(self) -> torch.Tensor:
        """Accuracy in [0, 1]; NaN before any labelled sample."""
        if self.total == 0:
            return torch.tensor(float("nan"), device=self.device)
        return self.correct.float() / self.total


class _SlotMetric(Metric):
    """Per-(group, slot) binary metric over the masked-in entries, with a macro average.

    AP ranks all scores of a slot at once, so the masked-in entries are kept in "cat" list
    states (one flat row per entry: score, target, slot, group) that a DDP sync concatenates
    across processes; F1 shares this storage to stay comparable entry for entry.
    As with every torchmetrics result, a one-element `per_error` comes back 0-dim.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, num_errors: int, num_groups: int = 1, **kwargs) -> None:
        if num_errors < 1 or num_groups < 1:
            raise ValueError(
                f"need num_errors >= 1 and num_groups >= 1, got {num_errors}, {num_groups}"
            )
        super().__init__(**kwargs)
        self.num_errors = num_errors
        self.num_groups = num_groups
        for name in ("scores", "target", "slot", "group"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def _score(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The binary metric of one (group, slot) pair."""
        raise NotImplementedError

    def update(
        self,
        probs: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor | None = None,
        group: torch.Tensor | None = None,
    ) -> None:
        """Keep the masked-in entries of probs/target (B, E); `group` (B,) is the action index."""
        batch = probs.shape[0]
        if probs.shape != (batch, self.num_errors) or target.shape != probs.shape:
            raise ValueError(
                f"probs and target must be (B, {self.num_errors}), got {tuple(probs.shape)} and "
                f"{tuple(target.shape)}"
            )
        if mask is None:
            mask = torch.ones_like(probs, dtype=torch.bool)
        if mask.shape != probs.shape or mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be a bool tensor of shape {tuple(probs.shape)}, got {mask.dtype} "
                f"{tuple(mask.shape)}"
            )
        groups = self._groups(group, batch, probs.device)
        rows, slots = mask.nonzero(as_tuple=True)
        if ((groups[rows] < 0) | (groups[rows] >= self.num_groups)).any():
            raise ValueError(
                f"group must lie in [0, {self.num_groups}) wherever the mask has an entry, got "
                f"{sorted(set(groups[rows].tolist()))}"
            )
        kept_target = target[rows, slots]
        if not ((kept_target == 0) | (kept_target == 1)).all():
            raise ValueError("target must be 0 or 1 wherever the mask is True")
        kept_probs = probs[rows, slots].float()
        if not ((kept_probs >= 0) & (kept_probs <= 1)).all():
            # torchmetrics would silently apply a sigmoid to scores outside [0, 1]
            raise ValueError("probs must be probabilities in [0, 1]; apply a sigmoid to logits")
        self.scores.append(kept_probs)
        self.target.append(kept_target.long())
        self.slot.append(slots)
        self.group.append(groups[rows])

    def _groups(self, group: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
        """The (B,) group of each row: all 0 when groups are off, else the given tensor."""
        if self.num_groups == 1:
            return torch.zeros(batch, dtype=torch.long, device=device)
        if group is None or group.shape != (batch,):
            got = None if group is None else tuple(group.shape)
            raise ValueError(
                f"num_groups={self.num_groups} needs group of shape ({batch},), got {got}"
            )
        return group.long()

    def compute(self) -> dict[str, torch.Tensor]:
        """{"macro": mean over pairs with a positive, "per_error": (E,) or (G, E), NaN if none}."""
        per_error = torch.full((self.num_groups, self.num_errors), float("nan"), device=self.device)
        if len(self.scores):
            scores, target = dim_zero_cat(self.scores), dim_zero_cat(self.target)
            slot, group = dim_zero_cat(self.slot), dim_zero_cat(self.group)
            pair = group * self.num_errors + slot
            for index in pair[target == 1].unique().tolist():
                kept = pair == index
                per_error.view(-1)[index] = self._score(scores[kept], target[kept])
        return {
            "macro": per_error.nanmean(),
            "per_error": per_error[0] if self.num_groups == 1 else per_error,
        }


class ErrorF1(_SlotMetric):
    """F1 of `probs > threshold` per error slot (and per action with groups), macro-averaged."""

    def __init__(
        self, num_errors: int, threshold: float = 0.5, num_groups: int = 1, **kwargs
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        super().__init__(num_errors, num_groups, **kwargs)
        self.threshold = float(threshold)

    def _score(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return binary_f1_score(scores, target, threshold=self.threshold)


class ErrorAP(_SlotMetric):
    """Average precision per error slot (and per action with `num_groups`), macro-averaged."""

    def _score(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return binary_average_precision(scores, target)


def best_threshold(
    probs: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    group: torch.Tensor,
    num_groups: int,
    grid: torch.Tensor | None = None,
) -> float:
    """The threshold of `grid` (default 0.05, 0.10, ..., 0.95) with the best macro `ErrorF1`.

    Error probabilities of rare errors stay well below 0.5 on a few hundred samples, so 0.5
    misses most positives; ties go to the threshold closest to 0.5.
    """

    def macro_f1(threshold: float) -> float:
        metric = ErrorF1(probs.shape[1], threshold=threshold, num_groups=num_groups)
        metric.update(probs, target, mask, group)
        return float(metric.compute()["macro"])

    return best_on_grid(macro_f1, grid)


def best_on_grid(quality: Callable[[float], float], grid: torch.Tensor | None = None) -> float:
    """The threshold of `grid` (default 0.05, 0.10, ..., 0.95) where `quality` is highest;
    ties go to the threshold closest to 0.5."""
    grid = torch.linspace(0.05, 0.95, 19) if grid is None else grid
    best, best_value = 0.5, -float("inf")
    for threshold in sorted(grid.tolist(), key=lambda t: abs(t - 0.5)):
        value = quality(threshold)
        if value > best_value:
            best, best_value = threshold, value
    return best


def named_per_error(
    fkg: FitnessKnowledgeGraph, prefix: str, table: torch.Tensor
) -> dict[str, torch.Tensor]:
    """`<prefix>/<action id>/<error>` for each cell of an (actions, slots) table with a value
    (a per-error F1 or AP; NaN where the error had no positive)."""
    out = {}
    for a, action_id in enumerate(fkg.action_ids):
        for j, error in enumerate(fkg.action(action_id).errors):
            if torch.isfinite(table[a, j]):
                out[f"{prefix}/{action_id}/{error.name}"] = table[a, j]
    return out
