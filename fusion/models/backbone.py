"""What the AQA and text models share: one encoder per modality and a fuser over them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from fusion.encoders.base import Tokens
from fusion.encoders.registry import build_encoders, component_spec
from fusion.fusers.base import Fuser
from fusion.fusers.registry import build_fuser


def build_backbone(
    modalities: Sequence[str],
    encoders: Mapping[str, Mapping[str, Any]],
    fuser: Mapping[str, Any],
    dim: int,
) -> tuple[nn.ModuleDict, Fuser]:
    """The encoders of `modalities` (sorted) and a fuser of their tokens into width `dim`."""
    built = build_encoders(modalities, encoders)
    dims = {m: e.out_dim for m, e in built.items()}
    name, options = component_spec(fuser, "model.fuser")
    return built, build_fuser(name, dims=dims, dim=dim, **options)


def encode(encoders: nn.ModuleDict, batch: Mapping[str, torch.Tensor]) -> dict[str, Tokens]:
    """Tokens of every encoded modality the batch has (a missing one is simply left out)."""
    return {
        m: encoder(batch[m], batch[f"{m}_mask"], batch[f"{m}_times"])
        for m, encoder in encoders.items()
        if m in batch
    }
