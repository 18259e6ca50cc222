"""What the AQA and text models share: one encoder per modality and a fuser over them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fusion.checkpoints import read_checkpoint
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
    """Tokens of every encoded modality the batch has (a missing one is simply left out).

    A batch of the feature cache carries a modality's tokens as `<m>_features` (with
    `_features_mask` and `_features_times`); they are used instead of running its encoder.
    """
    tokens = {}
    for m, encoder in encoders.items():
        if f"{m}_features" in batch:
            tokens[m] = Tokens(
                batch[f"{m}_features"], batch[f"{m}_features_mask"], batch[f"{m}_features_times"]
            )
        elif m in batch:
            tokens[m] = encoder(batch[m], batch[f"{m}_mask"], batch[f"{m}_times"])
    return tokens


def model_weights(checkpoint: str | Path, option: str) -> dict[str, torch.Tensor]:
    """A `fusion train` checkpoint's model weights, keyed as inside the model (`encoders.*`)."""
    saved = read_checkpoint(Path(checkpoint), option)["state_dict"]
    return {key.removeprefix("model."): value for key, value in saved.items()}


def has_fuser(checkpoint: str | Path) -> bool:
    """Whether a `fusion train` checkpoint holds fuser weights (AQA and text runs do)."""
    return any(key.startswith("fuser.") for key in model_weights(checkpoint, "model.encoders_from"))


def load_encoders(model: nn.Module, checkpoint: str | Path, option: str) -> list[str]:
    """Copy into `model.encoders` every encoder the `fusion train` checkpoint also has (e.g.
    the video encoder of a `pose_distill` run) and return their modalities. Each loaded
    encoder must match in every weight and shape, except the parts it names `fresh` (the pose
    encoder of a video `readout: pose`), which start from their initial values when absent;
    a checkpoint sharing none is an error."""
    path = Path(checkpoint)
    found = model_weights(path, option)
    loaded = []
    for modality, encoder in model.encoders.items():
        prefix = f"encoders.{modality}."
        if not any(key.startswith(prefix) for key in found):
            continue
        wanted = encoder.state_dict()
        fresh = getattr(encoder, "fresh", ())
        missing = sorted(k for k in wanted if prefix + k not in found and not k.startswith(fresh))
        wrong = sorted(
            k for k in wanted if prefix + k in found and found[prefix + k].shape != wanted[k].shape
        )
        if missing or wrong:
            what = f"lacks {missing[:3]}" if missing else f"has another shape for {wrong[:3]}"
            raise ValueError(
                f"{option}: {path}: its {modality} encoder {what}; "
                f"build this model's {modality} encoder with the same options"
            )
        encoder.load_state_dict(
            {k: found[prefix + k] for k in wanted if prefix + k in found}, strict=not fresh
        )
        loaded.append(modality)
    if not loaded:
        have = sorted(model.encoders)
        raise ValueError(f"{option}: {path} holds none of this model's encoders ({have})")
    return loaded


def load_backbone(
    model: nn.Module,
    checkpoint: str | Path,
    parts: Sequence[str] = ("encoders", "fuser"),
    option: str = "model.encoders_from",
) -> int:
    """Copy the `parts` weights (`encoders.*`, `fuser.*`) of a `fusion train` checkpoint into
    `model`, e.g. a text model's from a trained AQA model's, as LLaVA starts from a pretrained
    vision tower. Every weight of `model`'s parts must be there with its shape; the checkpoint
    may hold more (the encoders of other modalities). `option` names the setting in errors."""
    path = Path(checkpoint)
    found = model_weights(path, option)
    wanted = {
        f"{part}.{name}": tensor
        for part in parts
        for name, tensor in getattr(model, part).state_dict().items()
    }
    missing = sorted(k for k in wanted if k not in found)
    if missing:
        raise ValueError(
            f"{option}: {path} lacks {len(missing)} {'/'.join(parts)} weights of this model, "
            f"e.g. {missing[:3]}; it must come from a run with the same {' and '.join(parts)}"
        )
    wrong = sorted(k for k, v in wanted.items() if found[k].shape != v.shape)
    if wrong:
        raise ValueError(
            f"{option}: {path}: {wrong[0]} is {tuple(found[wrong[0]].shape)}, this "
            f"model's is {tuple(wanted[wrong[0]].shape)}; use the same {'/'.join(parts)} options"
        )
    for part in parts:
        prefix = f"{part}."
        getattr(model, part).load_state_dict(
            {k[len(prefix) :]: found[k] for k in wanted if k.startswith(prefix)}
        )
    return len(wanted)
