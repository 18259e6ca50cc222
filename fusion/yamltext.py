"""YAML text checks shared by every loader of user YAML (FKG, run configs, study files).

Anchors and aliases are refused: a few hundred bytes of nested aliases expand to gigabytes
once copied into a config or echoed in a message, and no shipped file needs them.
"""

from __future__ import annotations

from pathlib import Path

import yaml

MESSAGE_LIMIT = 300  # characters of one problem line; the rest is cut


def cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` shortened to `limit` characters, marked with … when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_yaml_text(path: Path, shown: str | Path | None = None) -> str:
    """The file as UTF-8 text; ValueError (one line naming it as `shown`, else `path`) when it
    is not."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{shown or path}: expected UTF-8 YAML text, got an undecodable byte at offset "
            f"{exc.start}"
        ) from None


def alias_problem(text: str) -> str | None:
    """Where the text's first YAML alias is and why it is refused; None when it has none (a
    syntax error is left for the loader to report)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                return (
                    f"line {mark.line + 1}, column {mark.column + 1}: YAML alias "
                    f"*{cut(str(event.anchor), 40)} refused; expected plain values "
                    "(no &anchors or *aliases)"
                )
    except yaml.YAMLError:
        return None
    return None
