"""What the text head is asked and should answer, built from a batch's targets and the FKG.

Two conversation styles: `study` asks one question of the LLaVA-Video Fitness-AQA study's
prompt types (`basic`, `errors`, `temporal`) and answers with the exercise and its errors;
`flex-videoqa` asks FLEX-VideoQA's four questions, answered from the FKG. Answers speak of the
labelled errors only: Fitness-AQA annotates two errors per exercise, so "no errors" there means
neither of those. A sample without an exercise label, or with none of its errors labelled, is
an error: its answer could only be a guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from fusion.constants import IGNORE_INDEX
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.heads.text.templates import (
    PROMPTS,
    QUESTIONS,
    Answer,
    flex_qa,
    render_answer,
    render_prompt,
)

STYLES: tuple[str, ...] = ("study", "flex-videoqa")
QUESTION_NAMES: dict[str, str] = {text: name for name, text in QUESTIONS.items()}


@dataclass(frozen=True)
class Turn:
    """One question with its reference answer and the structured truth behind it."""

    key: str
    question: str
    answer: str
    truth: Answer
    kind: str  # the prompt type (study) or the FLEX-VideoQA question name


def sample_truth(
    fkg: FitnessKnowledgeGraph, batch: dict[str, Any], row: int, with_score: bool
) -> Answer:
    """The structured answer of batch row `row`: exercise name, errors, their spans, score."""
    key = batch["key"][row]
    index = int(batch["action"][row])
    if index == IGNORE_INDEX:
        raise ValueError(f"{key}: the text task needs the exercise label, and this sample has none")
    action = fkg.action(fkg.action_ids[index])
    labelled = labelled_errors(fkg, batch, row)
    if not labelled:
        raise ValueError(
            f"{key}: no error of {action.id} is labelled, so no answer can say which occur; "
            "the text task needs error labels"
        )
    names, spans = [], {}
    for slot, error in enumerate(action.errors):
        if error.name in labelled and float(batch["errors"][row, slot]) > 0.5:
            names.append(error.name)
            span = batch["error_spans"][row, slot]
            if bool(torch.isfinite(span).all()):
                spans[error.name] = (round(float(span[0]), 2), round(float(span[1]), 2))
    score = None
    if with_score and bool(batch["score_mask"][row]):
        score = float(round(float(batch["score"][row])))
    return Answer(action.name, tuple(names), spans, score)


def labelled_errors(fkg: FitnessKnowledgeGraph, batch: dict[str, Any], row: int) -> tuple[str, ...]:
    """The names of the errors of the row's exercise that were annotated (present or absent)."""
    action = fkg.action(fkg.action_ids[int(batch["action"][row])])
    return tuple(
        e.name for slot, e in enumerate(action.errors) if bool(batch["errors_mask"][row, slot])
    )


def frame_times(batch: dict[str, Any], row: int) -> list[float]:
    """The announced video frame times of a row (the first view's clip frames)."""
    if "video_times" not in batch:
        return []
    return [float(t) for t in batch["video_times"][row]]


def turns(
    fkg: FitnessKnowledgeGraph,
    batch: dict[str, Any],
    style: str,
    prompt: str,
    with_score: bool,
    paraphrases: Sequence[int],
) -> list[list[Turn]]:
    """Per batch row, every turn its conversation style asks (the answer in `paraphrases[row]`)."""
    if style not in STYLES:
        raise ValueError(f"task.style {style!r}: expected one of {', '.join(STYLES)}")
    if prompt not in PROMPTS:
        raise ValueError(f"task.prompt {prompt!r}: expected one of {', '.join(PROMPTS)}")
    out = []
    for row, key in enumerate(batch["key"]):
        truth = sample_truth(fkg, batch, row, with_score or style == "flex-videoqa")
        if style == "study":
            temporal = prompt == "temporal"
            duration = float(batch["duration"][row])
            if temporal and not math.isfinite(duration):
                raise ValueError(f"{key}: the temporal prompt needs the video duration")
            question = render_prompt(prompt, duration, frame_times(batch, row))
            answer = render_answer(truth, paraphrases[row], with_spans=temporal)
            out.append([Turn(key, question, answer, truth, prompt)])
            continue
        action = fkg.action(fkg.action_ids[int(batch["action"][row])])
        qa = flex_qa(action, truth, paraphrases[row])
        out.append([Turn(key, q, a, truth, QUESTION_NAMES[q]) for q, a in qa.items()])
    return out
