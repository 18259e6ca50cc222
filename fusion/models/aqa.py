"""The AQA model: one encoder per modality, a fuser and the AQA head, built from a config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from fusion.encoders.base import Tokens
from fusion.encoders.registry import build_encoder
from fusion.fusers.registry import build_fuser
from fusion.heads.aqa import AQAHead


def _spec(spec: Mapping[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    options = dict(spec)
    if "name" not in options:
        raise ValueError(f"{what}: needs a `name`")
    return options.pop("name"), options


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
        missing = [m for m in modalities if m not in encoders]
        if missing:
            raise ValueError(f"model.encoders: no encoder configured for {', '.join(missing)}")
        self.modalities = tuple(sorted(modalities))
        built = {}
        for modality in self.modalities:
            name, options = _spec(encoders[modality], f"model.encoders.{modality}")
            built[modality] = build_encoder(name, **options)
        self.encoders = nn.ModuleDict(built)
        dims = {m: e.out_dim for m, e in built.items()}
        name, options = _spec(fuser, "model.fuser")
        self.fuser = build_fuser(name, dims=dims, dim=dim, **options)
        self.head = AQAHead(dim, weight_table, slot_names, num_names, encoder_dims=dims, **head)

    def encode(self, batch: Mapping[str, torch.Tensor]) -> dict[str, Tokens]:
        """Tokens of every configured modality the batch has."""
        return {
            m: self.encoders[m](batch[m], batch[f"{m}_mask"], batch[f"{m}_times"])
            for m in self.modalities
            if m in batch
        }

    def forward(
        self, batch: Mapping[str, torch.Tensor], action: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        encoded = self.encode(batch)
        fused = self.fuser(encoded)
        return self.head(fused.pooled, fused.tokens, action, encoded, fused.present)
