"""Generated text -> structured prediction (exercise, errors, spans, score).

The parser knows the vocabulary (exercise names and error ids), not the templates, so it reads
every paraphrase of `fusion.heads.text.templates` and free variations of them. Longer phrases
are matched first and their text is then blanked, so the error `knees` is not found inside
`knees inward`. Text after "Feedback:" (FLEX-VideoQA's coaching cues, which name body parts
such as `knees`) lists no errors. An answer that neither lists an error nor says there is none
is unparsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fusion.heads.text.templates import Answer, error_phrase

NUMBER = r"(\d+(?:\.\d+)?)"
SPAN = re.compile(rf"^\s*,?\s*(?:from|between)\s+{NUMBER}\s*s\s+(?:to|and)\s+{NUMBER}\s*s")
SCORE = re.compile(rf"{NUMBER}\s*(?:out of 100|/\s*100)")
NONE_SAID = re.compile(r"\bno (?:technique )?errors?\b|\bwithout (?:any )?errors?\b|\berror-free\b")


@dataclass(frozen=True)
class ParsedAnswer(Answer):
    """What an answer says; `parsed` is False when it says nothing usable about errors."""

    parsed: bool = True


def parse_answer(text: str, actions: Sequence[str], errors: Sequence[str]) -> ParsedAnswer:
    """Read `text` against the exercise names and error ids it may mention."""
    said, _, _ = text.lower().partition("feedback:")  # coaching cues name body parts
    action, lowered = _first_match(said, actions)
    found: list[str] = []
    spans: dict[str, tuple[float, float]] = {}
    for name in sorted(errors, key=lambda e: -len(error_phrase(e))):
        pattern = re.compile(rf"\b{re.escape(error_phrase(name).lower())}\b")
        match = pattern.search(lowered)
        if match is None:
            continue
        found.append(name)
        span = SPAN.match(lowered[match.end() :])
        if span is not None:
            spans[name] = (float(span.group(1)), float(span.group(2)))
        lowered = pattern.sub(lambda m: " " * len(m.group(0)), lowered)
    score_match = SCORE.search(lowered)
    score = float(score_match.group(1)) if score_match else None
    ordered = tuple(name for name in errors if name in found)
    said_none = NONE_SAID.search(lowered) is not None
    return ParsedAnswer(action, ordered, spans, score, parsed=bool(ordered) or said_none)


def _first_match(lowered: str, names: Sequence[str]) -> tuple[str | None, str]:
    """The name mentioned earliest in the text (longest wins a tie), and the text without it."""
    best: tuple[int, int, str] | None = None
    for name in names:
        position = lowered.find(name.lower())
        if position >= 0 and (best is None or (position, -len(name)) < best[:2]):
            best = (position, -len(name), name)
    if best is None:
        return None, lowered
    position, length, name = best
    return name, lowered[:position] + " " * -length + lowered[position - length :]
