"""Turns from a batch's targets: the reference answers speak of the labelled errors only."""

from __future__ import annotations

import math

import pytest
import torch

from fusion.fkg.loader import load_fkg
from fusion.heads.text.answers import labelled_errors, turns
from fusion.heads.text.parse import parse_answer
from fusion.heads.text.templates import QUESTIONS


def batch(mask_row: list[bool], errors_row: list[float]) -> dict:
    """One BackSquat (A01) sample with the given error labels and a knees-inward span."""
    slots = 6
    errors = torch.zeros(1, slots)
    errors[0, : len(errors_row)] = torch.tensor(errors_row)
    mask = torch.zeros(1, slots, dtype=torch.bool)
    mask[0, : len(mask_row)] = torch.tensor(mask_row)
    spans = torch.full((1, slots, 2), math.nan)
    spans[0, 0] = torch.tensor([1.234, 2.5])
    return {
        "key": ["BackSquat_S01_001"],
        "action": torch.tensor([0]),
        "errors": errors,
        "errors_mask": mask,
        "error_spans": spans,
        "score": torch.tensor([72.4]),
        "score_mask": torch.tensor([True]),
        "duration": torch.tensor([3.2]),
        "video_times": torch.tensor([[0.4, 1.2, 2.0, 2.8]]),
    }


def test_only_labelled_errors_are_said_and_spans_come_with_the_temporal_prompt():
    fkg = load_fkg()
    # knees inward (present) and knees forward (absent) labelled; shallow depth present but
    # unlabelled, as in Fitness-AQA, which annotates two errors of the back squat
    data = batch([True, True, False], [1.0, 0.0, 1.0])
    assert labelled_errors(fkg, data, 0) == ("knees_inward", "knees_forward")
    (turn,) = turns(fkg, data, "study", "temporal", False, [1])[0]
    assert "lasts for 3.20 seconds, and 4 frames" in turn.question
    assert "0.40s, 1.20s, 2.00s, 2.80s" in turn.question
    assert turn.truth.errors == ("knees_inward",) and turn.truth.spans == {
        "knees_inward": (1.23, 2.5)
    }
    assert turn.truth.score is None
    names = sorted({e.name for e in fkg.iter_errors()})
    actions = [fkg.action(a).name for a in fkg.action_ids]
    parsed = parse_answer(turn.answer, actions, names)
    assert parsed.errors == ("knees_inward",) and parsed.spans == {"knees_inward": (1.23, 2.5)}
    assert parsed.action == "Barbell Back Squat"


def test_flex_videoqa_asks_four_questions_with_the_score():
    fkg = load_fkg()
    (qa,) = turns(fkg, batch([True] * 6, [0.0] * 6), "flex-videoqa", "errors", False, [0])
    assert [t.question for t in qa] == list(QUESTIONS.values())
    assert [t.kind for t in qa] == ["action", "standard", "evaluate", "score"]
    assert "72 out of 100" in qa[3].answer and qa[0].truth.score == 72.0


def test_a_sample_without_any_labelled_error_or_exercise_is_refused():
    fkg = load_fkg()
    with pytest.raises(ValueError, match="BackSquat_S01_001: no error of A01 is labelled"):
        turns(fkg, batch([False] * 6, [0.0] * 6), "study", "errors", False, [0])
    unlabelled = batch([True] * 6, [0.0] * 6)
    unlabelled["action"] = torch.tensor([-100])
    with pytest.raises(ValueError, match="needs the exercise label"):
        turns(fkg, unlabelled, "study", "errors", False, [0])
    with pytest.raises(ValueError, match="task.style 'chat'"):
        turns(fkg, batch([True] * 6, [0.0] * 6), "chat", "errors", False, [0])
