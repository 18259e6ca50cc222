"""Fusers by name: `build_fuser("transformer", dims, dim, **kwargs)`."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from fusion.fusers.attention import AttentionFuser
from fusion.fusers.base import Fuser
from fusion.fusers.concat import ConcatFuser
from fusion.fusers.gated import GatedFuser
from fusion.fusers.late import LateFuser
from fusion.fusers.transformer import TransformerFuser

FUSERS: dict[str, type[Fuser]] = {
    "attention": AttentionFuser,
    "concat": ConcatFuser,
    "gated": GatedFuser,
    "late": LateFuser,
    "transformer": TransformerFuser,
}


def build_fuser(name: str, dims: Mapping[str, int], dim: int, **kwargs: Any) -> Fuser:
    """The fuser registered under `name`; unknown names and options raise ValueError."""
    if name not in FUSERS:
        raise ValueError(f"unknown fuser {name!r}; known: {', '.join(sorted(FUSERS))}")
    cls = FUSERS[name]
    try:
        inspect.signature(cls).bind(dims, dim, **kwargs)
    except TypeError as err:
        raise ValueError(f"fuser {name!r}: {err}") from None
    return cls(dims, dim, **kwargs)
