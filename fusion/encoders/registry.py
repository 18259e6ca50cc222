"""Encoders by name: `build_encoder("pose", dim=64)` from a config's plain-data options."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from fusion.encoders.emg import EMGEncoder
from fusion.encoders.physio import PhysioEncoder
from fusion.encoders.pose import PoseEncoder
from fusion.encoders.pose_transformer import PoseTransformerEncoder
from fusion.encoders.video import VideoEncoder

ENCODERS: dict[str, type[nn.Module]] = {
    "emg": EMGEncoder,
    "physio": PhysioEncoder,
    "pose": PoseEncoder,
    "pose_transformer": PoseTransformerEncoder,
    "video": VideoEncoder,
}


def build_encoder(name: str, **kwargs: Any) -> nn.Module:
    """The encoder registered under `name`; unknown names and options raise ValueError."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; known: {', '.join(sorted(ENCODERS))}")
    cls = ENCODERS[name]
    known = list(inspect.signature(cls).parameters)
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise ValueError(
            f"encoder {name!r}: unknown option(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return cls(**kwargs)


def component_spec(spec: Mapping[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    """(name, options) of a `{name, **options}` config entry; `what` names it in the error."""
    options = dict(spec)
    if "name" not in options:
        raise ValueError(f"{what}: needs a `name`")
    return options.pop("name"), options


def build_encoders(
    modalities: Sequence[str], specs: Mapping[str, Mapping[str, Any]]
) -> nn.ModuleDict:
    """One encoder per modality (sorted) from `{modality: {name, **options}}` config entries."""
    missing = [m for m in modalities if m not in specs]
    if missing:
        raise ValueError(f"model.encoders: no encoder configured for {', '.join(missing)}")
    built = {}
    for modality in sorted(modalities):
        name, options = component_spec(specs[modality], f"model.encoders.{modality}")
        built[modality] = build_encoder(name, **options)
    return nn.ModuleDict(built)
