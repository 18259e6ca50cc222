"""Encoders by name: `build_encoder("pose", dim=64)` from a config's plain-data options."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from fusion.encoders.emg import EMGEncoder
from fusion.encoders.physio import PhysioEncoder
from fusion.encoders.pose import PoseEncoder
from fusion.encoders.video import VideoEncoder

ENCODERS: dict[str, type[nn.Module]] = {
    "emg": EMGEncoder,
    "physio": PhysioEncoder,
    "pose": PoseEncoder,
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
