"""Dataset summary: counts per action, skill and error, and the score distribution."""

from __future__ import annotations

from collections import Counter

import numpy as np

SCORE_BINS = tuple(range(0, 101, 10))


def summarize(rows: list[dict]) -> dict:
    """Counts and score statistics of generated samples (rows from the generator's jobs)."""
    scores = np.array([r["score"] for r in rows], dtype=float)
    histogram, _ = np.histogram(scores, bins=SCORE_BINS)
    return {
        "samples": len(rows),
        "subjects": len({r["subject"] for r in rows}),
        "per_action": dict(sorted(Counter(r["action"] for r in rows).items())),
        "per_skill": dict(sorted(Counter(r["skill"] for r in rows).items())),
        "per_error": dict(Counter(e["name"] for r in rows for e in r["errors"]).most_common()),
        "error_free": int(sum(not r["errors"] for r in rows)),
        "score": {
            "mean": round(float(scores.mean()), 2),
            "std": round(float(scores.std()), 2),
            "min": round(float(scores.min()), 2),
            "max": round(float(scores.max()), 2),
            "mean_by_skill": {
                skill: round(float(np.mean([r["score"] for r in rows if r["skill"] == skill])), 2)
                for skill in sorted({r["skill"] for r in rows})
            },
            "histogram": {
                f"{lo}-{lo + 10}": int(n) for lo, n in zip(SCORE_BINS[:-1], histogram, strict=True)
            },
        },
    }


def _table(title: str, counts: dict, columns: int = 5) -> list[str]:
    width = max((len(str(k)) for k in counts), default=0)
    cells = [f"{k:>{width}} {v:>5}  " for k, v in counts.items()]
    lines = [title]
    lines += ["  " + "".join(cells[i : i + columns]) for i in range(0, len(cells), columns)]
    return lines


def format_summary(meta: dict) -> str:
    """Human-readable summary of a dataset.json."""
    s = meta["summary"]
    score = s["score"]
    lines = [
        f"dataset: format={meta['format']} preset={meta['preset']} seed={meta['seed']} "
        f"samples={s['samples']} subjects={s['subjects']} error-free={s['error_free']}",
        *_table("samples per action:", s["per_action"]),
        *_table("samples per skill:", s["per_skill"]),
        *_table("errors (occurrences):", s["per_error"], columns=3),
        f"score: mean {score['mean']} ± {score['std']}, range {score['min']}–{score['max']}; "
        + ", ".join(f"{k} {v}" for k, v in score["mean_by_skill"].items()),
        *_table("score histogram:", score["histogram"]),
    ]
    return "\n".join(lines)
