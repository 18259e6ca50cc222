"""The packed columns of predictions.csv read back: `a;b`, `name:0.25;…`, `name@0.9-1.5s;…`.

Each parser raises ValueError on text it cannot read; the run loader turns that into an
error naming the file, the line and the column.
"""

from __future__ import annotations

import re

SPAN = re.compile(r"^(?P<name>[^@]+)@(?P<start>-?\d+(?:\.\d+)?)-(?P<end>-?\d+(?:\.\d+)?)s$")


def names(text: str) -> list[str]:
    """`a;b` -> [a, b]; "" -> []."""
    return [item for item in text.split(";") if item]


def named_numbers(text: str) -> dict[str, float]:
    """`name:0.25;other:13.6` -> {name: 0.25, other: 13.6}."""
    pairs = {}
    for item in names(text):
        name, colon, value = item.rpartition(":")
        if not colon or not name:
            raise ValueError(f"expected name:number items, got {item!r}")
        pairs[name] = float(value)
    return pairs


def spans(text: str) -> dict[str, list[tuple[float, float]]]:
    """`name@0.92-1.48s;name@2.00-2.40s` -> {name: [(0.92, 1.48), (2.0, 2.4)]}."""
    out: dict[str, list[tuple[float, float]]] = {}
    for item in names(text):
        match = SPAN.match(item)
        if match is None:
            raise ValueError(f"expected name@start-ends items, got {item!r}")
        out.setdefault(match["name"], []).append((float(match["start"]), float(match["end"])))
    return out


PARSERS = {
    "aqa": {"errors_pred": named_numbers, "points_lost": named_numbers, "spans_pred": spans},
    "text": {"spans_pred": spans},
}  # task kind -> the packed columns of its predictions.csv that the report parses
