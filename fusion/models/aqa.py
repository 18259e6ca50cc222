"""The AQA model: one encoder per modality, a fuser and the AQA head, built from a config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from fusion.encoders.base import Tokens
from fusion.heads.aqa import AQAHead
from fusion.models.backbone import build_backbone, encode


class AQAModel(nn.Module):
    """Batch dict -> encoders (present modalities only) -> fuser -> AQA head outputs."""

    def __init__(
        self,
        modalities: list[str],
        encoders: Mapping[str, Mapping[str, Any]],
        fuser: Mapping[str, Any],
        head: Mapping[str, Any],
        dim: int,
        weight_table: torch.Tensor,
        slot_names: torch.Tensor,
        num_names: int,
    ) -> None:
        super().__init__()
        self.modalities = tuple(sorted(modalities))
        self.encoders, self.fuser = build_backbone(modalities, encoders, fuser, dim)
        dims = {m: e.out_dim for m, e in self.encoders.items()}
        self.head = AQAHead(dim, weight_table, slot_names, num_names, encoder_dims=dims, **head)

    def encode(self, batch: Mapping[str, torch.Tensor]) -> dict[str, Tokens]:
        """Tokens of every configured modality the batch has."""
        return encode(self.encoders, batch)

    def forward(
        self, batch: Mapping[str, torch.Tensor], action: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        encoded = self.encode(batch)
        fused = self.fuser(encoded)
        return self.head(fused.pooled, fused.tokens, action, encoded, fused.present)
