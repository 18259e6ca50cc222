"""The Fitness Knowledge Graph: graph model, loading with validation, scoring."""

from fusion.fkg.graph import (
    Action,
    Deviation,
    ErrorType,
    Feedback,
    FitnessKnowledgeGraph,
    KeyStep,
)
from fusion.fkg.loader import DEFAULT_FKG_PATH, FKGError, load_fkg, parse_fkg
from fusion.fkg.scoring import (
    BreakdownItem,
    ScoreBreakdown,
    breakdown,
    expected_score,
    score,
)

__all__ = [
    "DEFAULT_FKG_PATH",
    "Action",
    "BreakdownItem",
    "Deviation",
    "ErrorType",
    "FKGError",
    "Feedback",
    "FitnessKnowledgeGraph",
    "KeyStep",
    "ScoreBreakdown",
    "breakdown",
    "expected_score",
    "load_fkg",
    "parse_fkg",
    "score",
]
