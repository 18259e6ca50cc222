"""The AQA head: action, per-error probabilities, per-time-bin error logits, two scores.

Error outputs use the FKG's per-action slots (the rows of `weight_table()`). The head predicts
one logit per error *name* (knees_inward, hip_shift, ...), shared by every action that can
show it, and reads each sample's slots from its action's names: on a few hundred samples an
error seen in several actions is learnt from all of them. The FKG score
S = 100 (1 - sum_j p_j w_aj / sum_j w_aj) comes from the same probabilities the error loss
trains; the direct regressor's score is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from fusion.encoders.base import Tokens, masked_mean
from fusion.fkg.scoring import expected_score
from fusion.heads.deviation import DEVIATION_SOURCES, ActionStandardizer, modality_timelines

# The direct score is linear around the FLEX mean in units of its spread (about 68 +- 20
# points), clamped to 0-100 only for reporting: a sigmoid over 0-100 saturated at 100 on
# samples with a perfect score and stopped learning.
SCORE_CENTRE = 70.0
SCORE_SPREAD = 20.0


def _mlp(dim: int, hidden: int, out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, out)
    )


class AQAHead(nn.Module):
    """Heads over fused features.

    `weight_table` (A, E) holds the FKG's error weights per action; `slot_names` (A, E) the
    index of each slot's error name in a vocabulary of `num_names` (any index where the weight
    is 0). The deviation path (`deviation=True`) reads either the head's time bins of the
    fused tokens (`deviation_source="fused"`) or every modality's own encoder tokens resampled
    over the repetition (`"encoders"`, widths `encoder_dims`), before fusion mixes them.
    """

    def __init__(
        self,
        dim: int,
        weight_table: torch.Tensor,
        slot_names: torch.Tensor,
        num_names: int,
        hidden: int = 128,
        dropout: float = 0.1,
        time_bins: int = 16,
        deviation: bool = False,
        deviation_source: str = "fused",
        encoder_dims: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        if deviation_source not in DEVIATION_SOURCES:
            raise ValueError(
                f"model.head.deviation_source: unknown {deviation_source!r}; known: "
                f"{', '.join(DEVIATION_SOURCES)}"
            )
        self.deviation_source = deviation_source if deviation else None
        self.encoder_dims = dict(sorted((encoder_dims or {}).items()))
        if self.deviation_source == "encoders" and not self.encoder_dims:
            raise ValueError("model.head.deviation_source=encoders needs the encoders' widths")
        self.register_buffer("weights", weight_table.float(), persistent=False)
        self.register_buffer("slot_names", slot_names.long(), persistent=False)
        self.num_actions, self.max_errors = weight_table.shape
        self.time_bins = time_bins
        self.action = _mlp(dim, hidden, self.num_actions, dropout)
        self.action_embedding = nn.Embedding(self.num_actions, dim)
        self.errors = _mlp(dim, hidden, num_names, dropout)
        self.score = _mlp(dim, hidden, 1, dropout)
        self.frames = _mlp(2 * dim, hidden, num_names, dropout)
        width = time_bins * (
            sum(self.encoder_dims.values()) if self.deviation_source == "encoders" else dim
        )
        self.deviation = (
            nn.ModuleDict(
                {
                    "norm": ActionStandardizer(self.num_actions, width),
                    "errors": nn.Linear(width, num_names),
                    "score": nn.Linear(width, 1),
                }
            )
            if deviation
            else None
        )
        if self.deviation is not None:
            # Silent at the start: while an action's statistics come from a few near-constant
            # random-init features, standardising amplifies their gradient ~100x, and a random
            # map then swamps the encoders (video alone stayed at chance; BENCHMARKS.md).
            for name in ("errors", "score"):
                nn.init.zeros_(self.deviation[name].weight)
                nn.init.zeros_(self.deviation[name].bias)

    def forward(
        self,
        pooled: torch.Tensor,
        tokens: Tokens,
        action: torch.Tensor | None = None,
        encoded: Mapping[str, Tokens] | None = None,
        present: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Outputs for a batch; `action` (B,) picks the error rows (default: the predicted one).

        `encoded` (each modality's encoder tokens) and `present` (which samples kept each
        modality through fusion) feed the deviation path when it reads the encoders.
        """
        action_logits = self.action(pooled)
        if action is None:
            action = action_logits.argmax(-1)
        rows = action.clamp_min(0)
        # What counts as a deviation depends on the exercise: the rest reads pooled + action.
        pooled = pooled + self.action_embedding(rows)
        error_logits = self._rows(self.errors(pooled), rows)
        bins, centres, width = self._bins(tokens)
        score = self.score(pooled)[:, 0]
        if self.deviation is not None:
            features, known = self._deviation_input(bins, encoded, present)
            z = self.deviation["norm"](features, rows, known)
            error_logits = error_logits + self._rows(self.deviation["errors"](z), rows)
            score = score + self.deviation["score"](z)[:, 0]
        context = pooled.unsqueeze(1).expand(-1, bins.shape[1], -1)
        frame_logits = self.frames(torch.cat([bins, context], dim=-1))
        frame_logits = torch.stack(
            [self._rows(frame_logits[:, k], rows) for k in range(frame_logits.shape[1])], dim=1
        )
        weights = self.weights[rows]
        score = SCORE_CENTRE + SCORE_SPREAD * score
        return {
            "action_logits": action_logits,
            "action_used": rows,
            "error_logits": error_logits,
            "error_valid": weights > 0,
            "frame_logits": frame_logits,
            "bin_times": centres,
            "bin_width": width,
            "score": score.clamp(0.0, 100.0),
            "score_unclamped": score,
            "fkg_score": expected_score(torch.sigmoid(error_logits), weights),
        }

    def _deviation_input(
        self,
        bins: torch.Tensor,
        encoded: Mapping[str, Tokens] | None,
        present: Mapping[str, torch.Tensor] | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The deviation path's (B, F) features and their presence mask (None: all present)."""
        if self.deviation_source == "fused":
            return bins.flatten(1), None
        if not encoded:
            raise ValueError("the deviation path reads the encoders: pass their tokens")
        return modality_timelines(encoded, present or {}, self.encoder_dims, self.time_bins)

    def _rows(self, logits: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """(B, names) -> the (B, E) logits of each sample's action slots."""
        return torch.gather(logits, 1, self.slot_names[rows])

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
