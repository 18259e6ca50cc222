"""FKG data model: action → phases → key steps (AK) → error types (ET) → feedback (FB).

The model is immutable and plain data; `fusion.fkg.loader` builds it from YAML and checks it,
the synthetic generator reads `ErrorType.deviation`, heads read `weight_table()`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

EQUIPMENT: tuple[str, ...] = ("barbell", "dumbbell")
FAMILIES: tuple[str, ...] = (
    "squat",
    "hinge",
    "row",
    "press",
    "curl",
    "raise",
    "lunge",
    "extension",
    "shrug",
)
DEVIATION_SIDES: tuple[str, ...] = ("both", "left", "right")

# Deviation type -> the action families the simulator can apply it to (None: any family).
KINEMATIC_DEVIATIONS: Mapping[str, frozenset[str] | None] = {
    "knee_valgus": frozenset({"squat", "lunge", "hinge"}),
    "knee_forward": frozenset({"squat", "lunge"}),
    "partial_range": None,
    "lumbar_flexion": frozenset({"hinge", "squat", "row"}),
    "trunk_lean": frozenset({"squat", "lunge"}),
    "trunk_swing": frozenset({"curl", "raise", "row", "press", "shrug"}),
    "hips_rise_early": frozenset({"squat", "hinge"}),
    "heel_lift": frozenset({"squat", "lunge"}),
    "elbow_flare": frozenset({"press", "row", "extension"}),
    "elbow_drift": frozenset({"curl", "extension"}),
    "bar_path_drift": frozenset({"hinge", "press", "row", "squat"}),
    "asymmetric_lockout": frozenset({"press", "raise", "curl", "row", "shrug"}),
    "shoulder_shrug": frozenset({"raise", "press", "row", "curl"}),
    "lateral_shift": frozenset({"squat", "lunge", "hinge"}),
    "knee_drive": frozenset({"press", "curl", "raise", "shrug"}),
    "neck_hyperextension": frozenset({"hinge", "squat", "row"}),
    "lumbar_hyperextension": frozenset({"hinge", "press", "shrug"}),
    "rushed_tempo": None,
}
MUSCULAR_DEVIATIONS: Mapping[str, frozenset[str] | None] = {
    "muscle_imbalance": None,
    "muscle_substitution": None,
}
PHYSIOLOGICAL_DEVIATIONS: Mapping[str, frozenset[str] | None] = {"breath_hold": None}
DEVIATION_FAMILIES: Mapping[str, frozenset[str] | None] = {
    **KINEMATIC_DEVIATIONS,
    **MUSCULAR_DEVIATIONS,
    **PHYSIOLOGICAL_DEVIATIONS,
}
# Types whose `side` must name the lagging/dominant side (left or right, never both).
SIDED_DEVIATIONS: frozenset[str] = frozenset(
    {"asymmetric_lockout", "lateral_shift", "muscle_imbalance"}
)
# Extra deviation keys (Deviation.params) each type requires; other types take none.
DEVIATION_PARAMS: Mapping[str, tuple[str, ...]] = {
    "muscle_substitution": ("primary", "compensator")
}
# Types tied to one severity class.
DEVIATION_SEVERITY: Mapping[str, str] = {"rushed_tempo": "fine_control", "breath_hold": "breathing"}
# Modalities each category may list: kinematic errors show in video and pose (emg optional).
CATEGORY_MODALITIES: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "kinematic": (frozenset({"video", "pose"}), frozenset({"video", "pose", "emg"})),
    "muscular": (frozenset({"emg"}), frozenset({"emg"})),
    "physiological": (frozenset({"physio"}), frozenset({"physio"})),
}
RELATIONS: tuple[str, ...] = ("contain", "may_occur", "feedback")


def deviation_category(deviation_type: str) -> str:
    """Kinematic, muscular or physiological: tells which signals a deviation perturbs."""
    if deviation_type in KINEMATIC_DEVIATIONS:
        return "kinematic"
    if deviation_type in MUSCULAR_DEVIATIONS:
        return "muscular"
    if deviation_type in PHYSIOLOGICAL_DEVIATIONS:
        return "physiological"
    raise KeyError(f"unknown deviation type {deviation_type!r}")


@dataclass(frozen=True)
class KeyStep:
    """One ordered key step (AK) of an action phase: what correct execution looks like."""

    id: str
    phase: str
    text: str


@dataclass(frozen=True)
class Feedback:
    """The coaching cue (FB) that corrects one error type."""

    id: str
    text: str


@dataclass(frozen=True)
class Deviation:
    """What the simulator does to inject an error: a type, a side and type-specific params."""

    type: str
    side: str = "both"
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def category(self) -> str:
        """Kinematic, muscular or physiological."""
        return deviation_category(self.type)

    def to_dict(self) -> dict[str, Any]:
        """YAML-schema form: {type, side, **params}."""
        return {"type": self.type, "side": self.side, **dict(self.params)}


@dataclass(frozen=True)
class ErrorType:
    """A phase-conditioned error (ET) with its severity weight and corrective feedback."""

    id: str
    name: str
    description: str
    action_id: str
    phase: str
    key_step: str
    severity: str
    weight: float
    body_part: str
    modalities: tuple[str, ...]
    deviation: Deviation
    feedback: Feedback

    def to_dict(self) -> dict[str, Any]:
        """YAML-schema form (the action id is implied by nesting)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "phase": self.phase,
            "key_step": self.key_step,
            "severity": self.severity,
            "weight": float(self.weight),
            "body_part": self.body_part,
            "modalities": list(self.modalities),
            "deviation": self.deviation.to_dict(),
            "feedback": {"id": self.feedback.id, "text": self.feedback.text},
        }


@dataclass(frozen=True)
class Action:
    """One exercise: its phases in temporal order, key steps and possible errors."""

    id: str
    name: str
    equipment: str
    family: str
    phases: tuple[str, ...]
    key_steps: tuple[KeyStep, ...]
    errors: tuple[ErrorType, ...]
    primary_muscles: tuple[str, ...]

    def error(self, name_or_id: str) -> ErrorType:
        """Look an error up by id (A01-ET1) or name (knees_inward); KeyError if unknown."""
        for err in self.errors:
            if name_or_id in (err.id, err.name):
                return err
        known = ", ".join(f"{e.id} {e.name}" for e in self.errors)
        raise KeyError(f"{self.id} ({self.name}) has no error {name_or_id!r}; known: {known}")

    def key_step(self, step_id: str) -> KeyStep:
        """Look a key step up by id; KeyError if unknown."""
        for step in self.key_steps:
            if step.id == step_id:
                return step
        raise KeyError(f"{self.id} ({self.name}) has no key step {step_id!r}")

    def steps_in(self, phase: str) -> tuple[KeyStep, ...]:
        """Key steps of one phase, in order."""
        return tuple(s for s in self.key_steps if s.phase == phase)

    def errors_in(self, phase: str) -> tuple[ErrorType, ...]:
        """Errors that may occur in one phase."""
        return tuple(e for e in self.errors if e.phase == phase)

    @property
    def error_ids(self) -> tuple[str, ...]:
        """Error ids in file order (the column order of weight tables)."""
        return tuple(e.id for e in self.errors)

    @property
    def max_weight(self) -> float:
        """ΣW_max: the sum of all error weights, the score's denominator."""
        return float(sum(e.weight for e in self.errors))

    def to_dict(self) -> dict[str, Any]:
        """YAML-schema form (the id is the key it is stored under)."""
        return {
            "name": self.name,
            "equipment": self.equipment,
            "family": self.family,
            "primary_muscles": list(self.primary_muscles),
            "phases": [
                {
                    "name": phase,
                    "key_steps": [{"id": s.id, "text": s.text} for s in self.steps_in(phase)],
                }
                for phase in self.phases
            ],
            "errors": [e.to_dict() for e in self.errors],
        }


@dataclass(frozen=True)
class FitnessKnowledgeGraph:
    """The whole FKG: severity classes, the muscle list and the actions keyed by id."""

    name: str
    version: str
    severity_classes: Mapping[str, tuple[float, float]] = field(hash=False)
    muscles: tuple[str, ...]
    actions: Mapping[str, Action] = field(hash=False)
    source: str = field(default="", compare=False)

    @cached_property
    def action_ids(self) -> tuple[str, ...]:
        """Action ids, sorted (the row order of weight tables)."""
        return tuple(sorted(self.actions))

    @cached_property
    def _error_index(self) -> dict[str, ErrorType]:
        return {e.id: e for a in self.actions.values() for e in a.errors}

    def action(self, action_id: str) -> Action:
        """Look an action up by id; KeyError naming the known ids if unknown."""
        try:
            return self.actions[action_id]
        except KeyError:
            known = ", ".join(self.action_ids)
            raise KeyError(f"no action {action_id!r} in FKG {self.name}; known: {known}") from None

    def error(self, error_id: str) -> ErrorType:
        """Look an error up by its global id (A03-ET2)."""
        try:
            return self._error_index[error_id]
        except KeyError:
            raise KeyError(f"no error {error_id!r} in FKG {self.name}") from None

    def iter_errors(self) -> Iterator[ErrorType]:
        """All errors, action by action in id order."""
        for action_id in self.action_ids:
            yield from self.actions[action_id].errors

    @property
    def n_errors(self) -> int:
        """Total number of error types."""
        return len(self._error_index)

    def edges(self) -> list[tuple[str, str, str]]:
        """(src, relation, dst) triples; phase nodes are named `<action>/<phase>`."""
        edges: list[tuple[str, str, str]] = []
        for action_id in self.action_ids:
            action = self.actions[action_id]
            for phase in action.phases:
                node = f"{action_id}/{phase}"
                edges.append((action_id, "contain", node))
                edges.extend((node, "contain", s.id) for s in action.steps_in(phase))
            for err in action.errors:
                edges.append((err.key_step, "may_occur", err.id))
                edges.append((err.id, "feedback", err.feedback.id))
        return edges

    def weight_table(self) -> tuple[np.ndarray, list[list[str]]]:
        """Error weights [n_actions, max_errors] zero-padded, plus the error ids of each row."""
        ids = [list(self.actions[a].error_ids) for a in self.action_ids]
        table = np.zeros((len(ids), max((len(r) for r in ids), default=0)), dtype=np.float32)
        for row, action_id in enumerate(self.action_ids):
            weights = [e.weight for e in self.actions[action_id].errors]
            table[row, : len(weights)] = weights
        return table, ids

    def to_dict(self) -> dict[str, Any]:
        """YAML-schema form; `load_fkg` of its YAML dump gives back an equal graph."""
        return {
            "name": self.name,
            "version": self.version,
            "severity_classes": {
                k: {"min": float(lo), "max": float(hi)}
                for k, (lo, hi) in self.severity_classes.items()
            },
            "muscles": list(self.muscles),
            "actions": {a: self.actions[a].to_dict() for a in self.action_ids},
        }

    @cached_property
    def sha256(self) -> str:
        """Hash of the canonical content (not the path): versions checkpoints and labels."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
