"""Labels as training targets, laid out like the FKG's weight table.

Error targets use per-action slots: slot j of action a is the j-th FKG error of a (the row of
`FitnessKnowledgeGraph.weight_table()`), so a head can turn probabilities into the FKG score.
A slot is masked when it does not exist for the action or was not annotated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.constants import IGNORE_INDEX, PHASES
from fusion.data.sample import Labels, Sample
from fusion.fkg.graph import FitnessKnowledgeGraph


@dataclass(frozen=True)
class TargetEncoder:
    """Turns `Labels` into fixed-size arrays for one FKG."""

    fkg: FitnessKnowledgeGraph

    @property
    def max_errors(self) -> int:
        return max(len(a.errors) for a in self.fkg.actions.values())

    def __call__(self, sample: Sample) -> dict[str, np.ndarray]:
        """The targets of a sample (what `ClipDataset` asks every target maker for)."""
        return self.encode(sample.labels, sample.key)

    def encode(self, labels: Labels, key: str = "") -> dict[str, np.ndarray]:
        """action (IGNORE_INDEX if unknown), score (+mask), error slots (+mask, spans), phases."""
        slots = self.max_errors
        errors = np.zeros(slots, np.float32)
        errors_mask = np.zeros(slots, bool)
        spans = np.full((slots, 2), np.nan, np.float32)
        action_index = IGNORE_INDEX
        if labels.action is not None:
            try:
                action = self.fkg.action(labels.action)
            except KeyError as error:
                raise ValueError(f"{key}: {error.args[0]}") from None
            action_index = self.fkg.action_ids.index(action.id)
            names = [e.name for e in action.errors]
            if labels.labelled_errors is not None:
                for name in labels.labelled_errors:
                    errors_mask[self._slot(names, name, key)] = True
            for label in labels.errors:
                slot = self._slot(names, label.name, key)
                errors[slot] = 1.0
                errors_mask[slot] = True
                if label.span_s is not None:
                    spans[slot] = label.span_s
        phases = np.full((len(PHASES), 2), np.nan, np.float32)
        for phase in labels.phases:
            if phase.name in PHASES:
                phases[PHASES.index(phase.name)] = (phase.start_s, phase.end_s)
        score = np.float32(labels.score) if labels.score is not None else np.float32(np.nan)
        return {
            "action": np.int64(action_index),
            "score": score,
            "score_mask": np.bool_(labels.score is not None),
            "errors": errors,
            "errors_mask": errors_mask,
            "error_spans": spans,
            "phases": phases,
        }

    @staticmethod
    def _slot(names: list[str], name: str, key: str) -> int:
        try:
            return names.index(name)
        except ValueError:
            raise ValueError(
                f"{key}: error {name!r} is not an error of the action in the FKG"
            ) from None
