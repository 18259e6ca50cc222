"""Prompt and answer templates of the text head, in a registry with paraphrases.

Prompts follow the LLaVA-Video Fitness-AQA study's three types (`basic`, `errors`,
`temporal`, the last announcing the frame times) and FLEX-VideoQA's four questions. Answers
are rendered from a structured `Answer` through one of several paraphrases, so the LM does
not learn a single wording; `fusion.heads.text.parse` reads any of them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fusion.fkg.graph import Action

PROMPTS: dict[str, str] = {
    "basic": "Which exercise is the person performing, and do they make any errors?",
    "errors": (
        "Which exercise is the person performing? List every technique error you see, "
        "or say that there is none."
    ),
    "temporal": (
        "The video lasts for {duration:.2f} seconds, and {frames} frames are uniformly "
        "sampled from it. These frames are located at {times}. Which exercise is the person "
        "performing? List every technique error you see with the time span in which it "
        "happens, or say that there is none."
    ),
}
QUESTIONS: dict[str, str] = {  # FLEX-VideoQA
    "action": "Which action is the person performing?",
    "standard": "What is the standard for this action?",
    "evaluate": "Evaluate the performance.",
    "score": "Give the performance a score from 0 to 100.",
}
EXERCISE_PHRASES: tuple[str, ...] = (
    "The person is performing {action}.",
    "This is {action}.",
    "The exercise shown is {action}.",
)
NO_ERROR_PHRASES: tuple[str, ...] = (
    "No errors are visible.",
    "The repetition is performed without errors.",
    "There are no technique errors.",
)
ERRORS_PHRASES: tuple[str, ...] = (
    "Errors: {errors}.",
    "The person makes these errors: {errors}.",
    "I see the following errors: {errors}.",
)
SPAN_PHRASES: tuple[str, ...] = (
    "{error}, from {start:.2f}s to {end:.2f}s",
    "{error} between {start:.2f}s and {end:.2f}s",
)
SCORE_PHRASES: tuple[str, ...] = (
    "The score is {score:.0f} out of 100.",
    "I would score it {score:.0f} out of 100.",
)

# Distinct wordings of a whole answer: phrase lists shorter than this wrap around.
PARAPHRASES: int = max(
    len(p)
    for p in (EXERCISE_PHRASES, NO_ERROR_PHRASES, ERRORS_PHRASES, SPAN_PHRASES, SCORE_PHRASES)
)


@dataclass(frozen=True)
class Answer:
    """The structured content of an answer: exercise, errors with optional spans, score."""

    action: str | None = None
    errors: tuple[str, ...] = ()
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    score: float | None = None


def error_phrase(name: str) -> str:
    """How an error id is said in text: `knees_inward` -> `knees inward`."""
    return name.replace("_", " ")


def render_prompt(kind: str, duration: float = 0.0, times: Sequence[float] = ()) -> str:
    """The user prompt of one registered type; `temporal` announces the frame times."""
    if kind not in PROMPTS:
        raise KeyError(f"prompt {kind!r}: expected one of {', '.join(PROMPTS)}")
    listed = ", ".join(f"{t:.2f}s" for t in times)
    return PROMPTS[kind].format(duration=duration, frames=len(times), times=listed)


def render_answer(answer: Answer, paraphrase: int = 0, with_spans: bool = False) -> str:
    """The answer text for `answer` in paraphrase number `paraphrase` (wraps around)."""
    parts = []
    if answer.action is not None:
        parts.append(_pick(EXERCISE_PHRASES, paraphrase).format(action=answer.action))
    parts.append(errors_sentence(answer, paraphrase, with_spans))
    if answer.score is not None:
        parts.append(_pick(SCORE_PHRASES, paraphrase).format(score=answer.score))
    return " ".join(parts)


def errors_sentence(answer: Answer, paraphrase: int = 0, with_spans: bool = False) -> str:
    """The sentence that lists the errors (with their spans) or says there are none."""
    if not answer.errors:
        return _pick(NO_ERROR_PHRASES, paraphrase)
    said = []
    for name in answer.errors:
        span = answer.spans.get(name) if with_spans else None
        if span is None:
            said.append(error_phrase(name))
        else:
            phrase = _pick(SPAN_PHRASES, paraphrase)
            said.append(phrase.format(error=error_phrase(name), start=span[0], end=span[1]))
    return _pick(ERRORS_PHRASES, paraphrase).format(errors="; ".join(said))


def flex_qa(action: Action, answer: Answer, paraphrase: int = 0) -> dict[str, str]:
    """FLEX-VideoQA's four question -> answer pairs for one sample, answers from the FKG:
    the key steps for the standard, the errors and their feedback for the evaluation."""
    by_name = {e.name: e for e in action.errors}
    standard = " ".join(f"{i + 1}. {s.text}." for i, s in enumerate(action.key_steps))
    evaluation = errors_sentence(answer, paraphrase)
    feedback = [by_name[n].feedback.text for n in answer.errors if n in by_name]
    if feedback:
        evaluation += " Feedback: " + " ".join(feedback)
    if answer.score is None:
        raise ValueError(f"FLEX-VideoQA answer for {action.id}: the score question needs a score")
    return {
        QUESTIONS["action"]: _pick(EXERCISE_PHRASES, paraphrase).format(action=action.name),
        QUESTIONS["standard"]: standard,
        QUESTIONS["evaluate"]: evaluation,
        QUESTIONS["score"]: _pick(SCORE_PHRASES, paraphrase).format(score=answer.score),
    }


def _pick(phrases: Sequence[str], index: int) -> str:
    return phrases[index % len(phrases)]
