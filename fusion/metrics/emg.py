"""Video->EMG metrics on the normalised envelope: MAE, RMSE and Pearson r per muscle channel.

Every model (learned, baseline or an external predictions file) is scored by this one metric,
on the rows the target mask marks real. MAE, RMSE and r pool every real row of every clip per
channel, as FLEX reports them; `clip_r` is the mean over clips of the within-clip r, which only
a model that follows the envelope's shape in time (not just each action's level) scores well
on. The left/right contribution error is the MAE of FLEX's L / (L + R) share per muscle pair.
"""

from __future__ import annotations

import torch
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric, PearsonCorrCoef
from torchmetrics.functional import pearson_corrcoef


class EnvelopeMetrics(Metric):
    """Accumulates (B, T, C) predicted and true envelopes with a (B, T) mask of real rows.

    The pooled statistics are torchmetrics' own (sum states, DDP-safe); the per-clip r is a sum
    and a count per channel. `compute` returns per-channel tensors and their means.
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False

    def __init__(self, channels: int, pairs: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.channels, self.pairs = channels, pairs
        self.mae = MeanAbsoluteError(num_outputs=channels)
        self.rmse = MeanSquaredError(squared=False, num_outputs=channels)
        self.pearson = PearsonCorrCoef(num_outputs=channels)
        self.contribution = MeanAbsoluteError(num_outputs=max(pairs, 1))
        self.add_state("clip_r_sum", torch.zeros(channels, dtype=torch.float64), "sum")
        self.add_state("clip_r_count", torch.zeros(channels, dtype=torch.float64), "sum")
        self.add_state("pairs_seen", torch.zeros((), dtype=torch.long), "sum")

    def update(
        self,
        preds: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        contribution: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        """Add a batch; `contribution` is (predicted, true) (B, P) shares, or None."""
        if preds.shape != target.shape or preds.ndim != 3 or preds.shape[-1] != self.channels:
            raise ValueError(
                f"preds and target must both be (B, T, {self.channels}), got "
                f"{tuple(preds.shape)} and {tuple(target.shape)}"
            )
        if mask.shape != preds.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be bool of shape {tuple(preds.shape[:2])}, got {mask.dtype} "
                f"{tuple(mask.shape)}"
            )
        kept_preds, kept_target = preds[mask].float(), target[mask].float()
        if len(kept_preds):
            self.mae.update(kept_preds, kept_target)
            self.rmse.update(kept_preds, kept_target)
        if len(kept_preds) >= 2:
            self.pearson.update(kept_preds, kept_target)
        for row in range(len(preds)):
            real = mask[row]
            if int(real.sum()) < 2:
                continue
            r = pearson_corrcoef(preds[row][real].double(), target[row][real].double())
            defined = torch.isfinite(r)
            self.clip_r_sum += torch.where(defined, r, 0.0)
            self.clip_r_count += defined.double()
        if contribution is not None and self.pairs:
            predicted, true = contribution
            self.contribution.update(predicted.float(), true.float())
            self.pairs_seen += len(true)

    def reset(self) -> None:
        """Forget every state, the child metrics' included (Metric.reset leaves them)."""
        super().reset()
        for child in (self.mae, self.rmse, self.pearson, self.contribution):
            child.reset()

    def compute(self) -> dict[str, torch.Tensor]:
        """mae, rmse, r, clip_r and contribution_mae: each averaged, and per channel (`*_ch`)."""
        per_channel = {
            "mae": self.mae.compute(),
            "rmse": self.rmse.compute(),
            "r": self.pearson.compute(),
            "clip_r": (self.clip_r_sum / self.clip_r_count).float(),
        }
        out: dict[str, torch.Tensor] = {}
        for name, values in per_channel.items():
            values = values.reshape(self.channels)
            out[name] = values.nanmean()
            out[f"{name}_ch"] = values
        nan = torch.tensor(float("nan"))
        if self.pairs and int(self.pairs_seen) > 0:
            shares = self.contribution.compute().reshape(self.pairs)
            out["contribution_mae"], out["contribution_mae_pair"] = shares.mean(), shares
        else:
            out["contribution_mae"] = nan
        return out
