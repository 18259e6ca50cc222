"""What the AQA and text models share: one encoder per modality and a fuser over them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
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


def load_backbone(model: nn.Module, checkpoint: str | Path) -> int:
    """Copy the `encoders.*` and `fuser.*` weights of a `fusion train` checkpoint into `model`
    (which has `encoders` and `fuser`), e.g. a text model's from a trained AQA model's, as
    LLaVA starts from a pretrained vision tower. Every one must be there with its shape."""
    path = Path(checkpoint)
    if not path.is_file():
        raise ValueError(f"model.encoders_from: {path}: no such checkpoint")
    saved = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
    wanted = {
        f"{part}.{name}": tensor
        for part in ("encoders", "fuser")
        for name, tensor in getattr(model, part).state_dict().items()
    }
    found = {key.removeprefix("model."): value for key, value in saved.items()}
    missing = sorted(k for k in wanted if k not in found)
    if missing:
        raise ValueError(
            f"model.encoders_from: {path} lacks {len(missing)} encoder/fuser weights of this "
            f"model, e.g. {missing[:3]}; it must come from a run with the same encoders and fuser"
        )
    wrong = sorted(k for k, v in wanted.items() if found[k].shape != v.shape)
    if wrong:
        raise ValueError(
            f"model.encoders_from: {path}: {wrong[0]} is {tuple(found[wrong[0]].shape)}, this "
            f"model's is {tuple(wanted[wrong[0]].shape)}; use the same encoder and fuser options"
        )
    for part in ("encoders", "fuser"):
        prefix = f"{part}."
        getattr(model, part).load_state_dict(
            {k[len(prefix) :]: v for k, v in found.items() if k.startswith(prefix)}
        )
    return len(wanted)
