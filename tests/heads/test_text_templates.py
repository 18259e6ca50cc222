"""Text head templates and parser: every paraphrase reads back to what was rendered."""

from __future__ import annotations

import itertools

import pytest

from fusion.fkg.loader import load_fkg
from fusion.heads.text.parse import parse_answer
from fusion.heads.text.templates import (
    PARAPHRASES,
    PROMPTS,
    QUESTIONS,
    Answer,
    flex_qa,
    render_answer,
    render_prompt,
)

ACTIONS = ["BackSquat", "OverheadPress", "Barbell Back Squat"]
ERRORS = ["knees_inward", "knees_forward", "elbows", "knees"]
CASES = [
    Answer("BackSquat", (), {}, 91.0),
    Answer("BackSquat", ("knees_inward",), {"knees_inward": (2.62, 4.58)}, 64.0),
    Answer("OverheadPress", ("elbows", "knees"), {"elbows": (0.5, 1.25), "knees": (1.0, 2.0)}),
    Answer("BackSquat", ("knees_inward", "knees_forward"), {"knees_forward": (0.1, 0.9)}, 40.0),
]


@pytest.mark.parametrize(("case", "paraphrase"), list(itertools.product(CASES, range(PARAPHRASES))))
def test_every_paraphrase_parses_back_to_the_answer(case, paraphrase):
    text = render_answer(case, paraphrase, with_spans=True)
    parsed = parse_answer(text, ACTIONS, ERRORS)
    assert parsed.parsed, text
    assert parsed.action == case.action, text
    assert parsed.errors == case.errors, text
    assert parsed.spans == case.spans, text  # spans are written to 2 decimals, as given
    assert parsed.score == case.score, text


def test_a_short_error_name_is_not_found_inside_a_longer_one():
    parsed = parse_answer("This is BackSquat. Errors: knees inward.", ACTIONS, ERRORS)
    assert parsed.errors == ("knees_inward",)


def test_longest_exercise_name_wins_and_unparseable_answers_are_flagged():
    parsed = parse_answer("The exercise shown is Barbell Back Squat.", ACTIONS, ERRORS)
    assert parsed.action == "Barbell Back Squat" and not parsed.parsed
    assert not parse_answer("I am not sure what happens here.", ACTIONS, ERRORS).parsed
    assert parse_answer("The lift is error-free.", ACTIONS, ERRORS).parsed


def test_temporal_prompt_announces_duration_and_frame_times():
    text = render_prompt("temporal", 3.2, [0.0, 1.6, 3.2])
    assert "lasts for 3.20 seconds, and 3 frames" in text
    assert "located at 0.00s, 1.60s, 3.20s" in text
    assert set(PROMPTS) == {"basic", "errors", "temporal"}
    with pytest.raises(KeyError, match="expected one of basic, errors, temporal"):
        render_prompt("chatty")


def test_flex_videoqa_answers_come_from_the_fkg():
    action = load_fkg().action("A01")
    error = action.errors[0]
    qa = flex_qa(action, Answer(action.id, (error.name,), score=72.0))
    assert list(qa) == list(QUESTIONS.values())
    assert action.name in qa[QUESTIONS["action"]]
    assert all(step.text in qa[QUESTIONS["standard"]] for step in action.key_steps)
    assert error.feedback.text in qa[QUESTIONS["evaluate"]]
    assert "72 out of 100" in qa[QUESTIONS["score"]]
    every_error = sorted({e.name for e in load_fkg().iter_errors()})
    parsed = parse_answer(qa[QUESTIONS["evaluate"]], [action.name], every_error)
    assert parsed.errors == (error.name,)  # not the body parts its feedback names
    with pytest.raises(ValueError, match="needs a score"):
        flex_qa(action, Answer(action.id))
