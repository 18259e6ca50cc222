"""The AQA head: action, per-error probabilities, per-time-bin error logits, two scores.

Error outputs use the FKG's per-action slots (the rows of `weight_table()`): the head predicts
a logit for every (action, slot) pair and keeps the row of the sample's action, so the FKG
score S = 100 (1 - sum_j p_j w_aj / sum_j w_aj) is computed from the same probabilities the
error loss trains. The direct regressor's score is reported beside it.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from fusion.encoders.base import Tokens, masked_mean
from fusion.fkg.scoring import expected_score


def _mlp(dim: int, hidden: int, out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, out)
    )


class AQAHead(nn.Module):
    """Heads over fused features; `weight_table` (A, E) is the FKG's error weights per action."""

    def __init__(
        self,
        dim: int,
        weight_table: torch.Tensor,
        hidden: int = 128,
        dropout: float = 0.1,
        time_bins: int = 16,
    ) -> None:
        super().__init__()
        self.register_buffer("weights", weight_table.float(), persistent=False)
        self.num_actions, self.max_errors = weight_table.shape
        self.time_bins = time_bins
        pairs = self.num_actions * self.max_errors
        self.action = _mlp(dim, hidden, self.num_actions, dropout)
        self.errors = _mlp(dim, hidden, pairs, dropout)
        self.score = _mlp(dim, hidden, 1, dropout)
        self.frames = _mlp(2 * dim, hidden, pairs, dropout)

    def forward(
        self, pooled: torch.Tensor, tokens: Tokens, action: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Outputs for a batch; `action` (B,) picks the error rows (default: the predicted one)."""
        action_logits = self.action(pooled)
        if action is None:
            action = action_logits.argmax(-1)
        rows = action.clamp_min(0)
        error_logits = self._rows(self.errors(pooled), rows)
        bins, centres, width = self._bins(tokens)
        context = pooled.unsqueeze(1).expand(-1, bins.shape[1], -1)
        frame_logits = self.frames(torch.cat([bins, context], dim=-1))
        frame_logits = torch.stack(
            [self._rows(frame_logits[:, k], rows) for k in range(frame_logits.shape[1])], dim=1
        )
        weights = self.weights[rows]
        return {
            "action_logits": action_logits,
            "action_used": rows,
            "error_logits": error_logits,
            "error_valid": weights > 0,
            "frame_logits": frame_logits,
            "bin_times": centres,
            "bin_width": width,
            "score": 100.0 * torch.sigmoid(self.score(pooled)[:, 0]),
            "fkg_score": expected_score(torch.sigmoid(error_logits), weights),
        }

    def _rows(self, logits: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """(B, A*E) -> the (B, E) logits of each sample's action."""
        table = rearrange(logits, "b (a e) -> b a e", a=self.num_actions)
        return table[torch.arange(len(rows), device=rows.device), rows]

    def _bins(self, tokens: Tokens) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Tokens pooled into `time_bins` equal bins over each sample's [0, last token time]."""
        times = tokens.times.masked_fill(~tokens.mask, 0.0)
        end = times.amax(dim=1).clamp_min(1e-3) * (1.0 + 1e-4)
        width = end / self.time_bins
        index = (times / width.unsqueeze(1)).floor().long().clamp(0, self.time_bins - 1)
        one_hot = nn.functional.one_hot(index, self.time_bins).bool() & tokens.mask.unsqueeze(-1)
        pooled = torch.stack(
            [masked_mean(tokens.values, one_hot[..., k]) for k in range(self.time_bins)], dim=1
        )
        steps = torch.arange(self.time_bins, device=end.device, dtype=end.dtype) + 0.5
        return pooled, steps.unsqueeze(0) * width.unsqueeze(1), width
