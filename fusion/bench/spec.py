"""Reading a `fusion bench` file: a YAML mapping with `benchmark: <kind>` and known keys."""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from fusion.config import ConfigError


def read_spec(path: Path, benchmark: str, keys: Set[str]) -> dict[str, Any]:
    """The file as plain data; not a file, another benchmark or an unknown key is a
    ConfigError naming the file."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such benchmark file")
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if not isinstance(raw, dict) or raw.get("benchmark") != benchmark:
        raise ConfigError(f"{path}: expected a mapping with `benchmark: {benchmark}`")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(keys)}")
    return raw
