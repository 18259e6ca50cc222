"""Score metrics for AQA: Spearman rho, FLEX's relative L2 and mean absolute error, with masks.

Every `update` takes `preds (B,)`, `target (B,)` and an optional `mask (B,)` (True = the sample
has a score); masked-out samples are dropped before they reach any state, so a NaN target under
a False mask is harmless.
"""

from __future__ import annotations

import torch
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric
from torchmetrics.functional import spearman_corrcoef
from torchmetrics.utilities import dim_zero_cat


def kept_scores(
    preds: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (preds, target) pairs of the samples whose mask is True, as float tensors."""
    if preds.ndim != 1 or preds.shape != target.shape:
        raise ValueError(
            f"preds and target must both be (B,), got {tuple(preds.shape)} and "
            f"{tuple(target.shape)}"
        )
    if mask is None:
        return preds.float(), target.float()
    if mask.shape != preds.shape or mask.dtype != torch.bool:
        raise ValueError(
            f"mask must be a bool tensor of shape {tuple(preds.shape)}, got {mask.dtype} "
            f"{tuple(mask.shape)}"
        )
    return preds[mask].float(), target[mask].float()


class SpearmanRho(Metric):
    """Spearman rank correlation between predicted and true scores over all kept samples.

    Ranks need every sample at once, so preds and targets are kept in "cat" list states that a
    DDP sync concatenates across processes before `compute` ranks them.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")

    def update(
        self, preds: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> None:
        """Keep the scores of the samples whose mask is True."""
        preds, target = kept_scores(preds, target, mask)
        self.preds.append(preds)
        self.target.append(target)

    def compute(self) -> torch.Tensor:
        """rho over every kept sample; NaN with fewer than two samples."""
        nan = torch.tensor(float("nan"), device=self.device)
        if len(self.preds) == 0:
            return nan
        preds, target = dim_zero_cat(self.preds), dim_zero_cat(self.target)
        return spearman_corrcoef(preds, target) if preds.numel() >= 2 else nan


class RelativeL2(MeanSquaredError):
    """FLEX's R-l2 = mean(((pred - y) / (max - min))^2) x 100, the x100 as FLEX reports it.

    This is the mean squared error of scores divided by the score range, so it reuses
    torchmetrics' `MeanSquaredError` (sum states, DDP-safe) on the rescaled scores.
    """

    higher_is_better = False

    def __init__(self, score_min: float = 0.0, score_max: float = 100.0, **kwargs) -> None:
        if not score_max > score_min:
            raise ValueError(f"score_max ({score_max}) must exceed score_min ({score_min})")
        super().__init__(**kwargs)
        self.score_range = float(score_max - score_min)

    def update(
        self, preds: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> None:
        """Add the squared range-relative errors of the samples whose mask is True."""
        preds, target = kept_scores(preds, target, mask)
        super().update(preds / self.score_range, target / self.score_range)

    def compute(self) -> torch.Tensor:
        """R-l2 x 100; NaN before any kept sample."""
        return super().compute() * 100.0


class ScoreMAE(MeanAbsoluteError):
    """Mean absolute error of predicted scores, in score points, over the kept samples."""

    def update(
        self, preds: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> None:
        """Add the absolute errors of the samples whose mask is True."""
        super().update(*kept_scores(preds, target, mask))
