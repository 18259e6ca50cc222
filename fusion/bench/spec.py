"""Reading a study file (`fusion bench`, `fusion ablate`): a YAML mapping with a marker key and
known keys."""

from __future__ import annotations

import io
from collections.abc import Set
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fusion.checkpoints import first_line
from fusion.config import ConfigError, checked_yaml_text
from fusion.yamltext import cut


def read_spec(
    path: Path, keys: Set[str], marker: str = "benchmark", value: str | None = None
) -> dict[str, Any]:
    """The file as plain data. It must set `marker` (to `value`, or to any name when None);
    not a file, bad YAML, another kind of file or an unknown key is a ConfigError naming it."""
    text = checked_yaml_text(path, marker)
    try:
        raw = OmegaConf.to_container(OmegaConf.load(io.StringIO(text)), resolve=True)
    except (OSError, ValueError, yaml.YAMLError, OmegaConfBaseException) as error:
        raise ConfigError(f"{path}: not valid YAML ({cut(first_line(error))})") from None
    found = raw.get(marker) if isinstance(raw, dict) else None
    if not found or (value is not None and found != value) or not isinstance(found, str):
        wanted = f"`{marker}: {value}`" if value else f"`{marker}: <name>`"
        raise ConfigError(f"{path}: expected a mapping with {wanted}")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(keys)}")
    return raw
