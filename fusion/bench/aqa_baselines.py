"""Trivial baselines of the Fitness-AQA study: answer sheets that never look at a video.

A per-error F1 means little until it is set beside what fixed answers score on the same test
questions; with rare errors, "yes" to everything already scores well. Three sheets, each a
0/1 answer per labelled (sample, error):
- `yes-to-all`: every answer yes, the error is there;
- `no-to-all`: every answer no (F1 0 wherever the test split has a positive);
- `majority-per-exercise`: per exercise and error, the more common answer among that
  exercise's labelled *training* samples. A tie says yes, as no can only score F1 0; an error
  never labelled in training is answered no.
They are scored with the metric a run logs as `test/f1/<action id>/<error>` (`ErrorF1`:
binary F1 of the positive class per exercise and error, over the labelled answers only, NaN
where the test split has no positive), grouped by the true exercise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from fusion.data.datamodule import FusionDataModule
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.metrics.errors import ErrorF1, named_per_error


@dataclass(frozen=True)
class ErrorLabels:
    """The error labels of one part: (N,) exercise index (negative when unknown), (N, E) 0/1
    truth per error slot and (N, E) whether that answer is labelled."""

    action: torch.Tensor
    errors: torch.Tensor
    labelled: torch.Tensor

    @classmethod
    def from_targets(cls, targets: Sequence[Mapping[str, np.ndarray]]) -> ErrorLabels:
        """Stack `TargetEncoder` outputs (`action`, `errors`, `errors_mask`) of N >= 1 samples."""
        return cls(
            action=torch.tensor(np.stack([t["action"] for t in targets]), dtype=torch.long),
            errors=torch.tensor(np.stack([t["errors"] for t in targets]), dtype=torch.float32),
            labelled=torch.tensor(np.stack([t["errors_mask"] for t in targets]), dtype=torch.bool),
        )


def training_majority(train: ErrorLabels, num_actions: int) -> torch.Tensor:
    """(A, E) 1 where at least half of an exercise's labelled training answers to an error are
    yes, 0 elsewhere (no labelled answer included)."""
    rows = train.action.clamp_min(0)  # an unknown exercise has no labelled answer to count
    labelled = train.labelled.float()
    shape = (num_actions, train.errors.shape[1])
    counts = torch.zeros(shape).index_add_(0, rows, labelled)
    yes = torch.zeros(shape).index_add_(0, rows, labelled * train.errors)
    return ((counts > 0) & (2 * yes >= counts)).float()


Sheet = Callable[[ErrorLabels, ErrorLabels, int], torch.Tensor]
BASELINES: dict[str, Sheet] = {
    "yes-to-all": lambda train, test, actions: torch.ones_like(test.errors),
    "no-to-all": lambda train, test, actions: torch.zeros_like(test.errors),
    "majority-per-exercise": lambda train, test, actions: training_majority(train, actions)[
        test.action.clamp_min(0)
    ],
}


def sheet_f1(
    answers: torch.Tensor, test: ErrorLabels, fkg: FitnessKnowledgeGraph
) -> dict[str, float]:
    """`test/f1/<action id>/<error>` of (N, E) 0/1 answers, as the AQA task scores a run's."""
    actions = len(fkg.action_ids)
    metric = ErrorF1(test.errors.shape[1], num_groups=actions)
    metric.update(answers, test.errors, test.labelled, test.action)
    table = metric.compute()["per_error"].view(actions, -1)
    return {f"test/{name}": float(v) for name, v in named_per_error(fkg, "f1", table).items()}


def baseline_metrics(datamodule: FusionDataModule) -> dict[str, dict[str, float]]:
    """Each baseline's per-error test F1 on the data module's split, fitted on its train part."""
    train, test = (_labels(datamodule, part) for part in ("train", "test"))
    actions = len(datamodule.fkg.action_ids)
    return {
        name: sheet_f1(sheet(train, test, actions), test, datamodule.fkg)
        for name, sheet in BASELINES.items()
    }


def _labels(datamodule: FusionDataModule, part: str) -> ErrorLabels:
    targets = datamodule.part_targets(part)
    if not targets:
        raise ValueError(
            f"{datamodule.config.reader.root}: data.split: the {part} part is empty; the "
            f"trivial baselines need its labels"
        )
    return ErrorLabels.from_targets(targets)
