"""The lines `fusion predict` prints: per sample its score and what cost points, or its envelope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def summary_lines(task: str, records: list[dict[str, Any]]) -> Iterator[str]:
    """A few readable lines per sample record of predictions.json."""
    for record in records:
        if task != "aqa":
            yield f"{record['key']}: envelope of {record['rows']} rows -> {record['envelope']}"
            continue
        action = record["action"]
        yield (
            f"{record['key']}: {action['name']} ({action['id']}), score {record['score']:.1f}, "
            f"FKG score {record['fkg_score']:.1f}"
        )
        spans = {}
        for span in record["spans"]:
            spans.setdefault(span["error"], []).append(
                f"{span['start_s']:.2f}-{span['end_s']:.2f}s"
            )
        for item in record["breakdown"]["items"]:
            where = f" at {', '.join(spans[item['name']])}" if item["name"] in spans else ""
            lost = f"-{item['points_lost']:.1f} points"
            yield f"  - {item['name']}{where}: {lost}. {item['feedback']}"
        if not record["breakdown"]["items"]:
            yield "  no error above the threshold"
