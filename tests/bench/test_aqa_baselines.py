"""The Fitness-AQA study's trivial baselines: scored as sklearn scores them, fitted on train."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from sklearn.metrics import f1_score

from fusion.bench.aqa_baselines import (
    BASELINES,
    ErrorLabels,
    baseline_metrics,
    sheet_f1,
    training_majority,
)
from fusion.data.datamodule import FusionDataModule
from fusion.fkg.loader import load_fkg

FKG = load_fkg()
ACTIONS = ("A01", "A06")  # BackSquat and OverheadPress in the Fitness-AQA mapping
FAQA = Path(__file__).resolve().parents[2] / "configs" / "data" / "fitness_aqa.yaml"


def random_labels(seed: int, n: int) -> ErrorLabels:
    """n samples of the two exercises, each error slot of the exercise labelled 80 % of the time
    and positive at a rate drawn per exercise, slot and seed (so a training and a test draw
    disagree on some majorities); slots the exercise lacks are never labelled."""
    rng = np.random.default_rng(seed)
    slots = max(len(a.errors) for a in FKG.actions.values())
    action = rng.choice([FKG.action_ids.index(a) for a in ACTIONS], n)
    exists = np.array(
        [[j < len(FKG.action(FKG.action_ids[a]).errors) for j in range(slots)] for a in action]
    )
    rates = rng.uniform(0.1, 0.9, (len(FKG.action_ids), slots))[action]
    return ErrorLabels(
        action=torch.tensor(action),
        errors=torch.tensor((rng.random((n, slots)) < rates).astype(np.float32)),
        labelled=torch.tensor(exists & (rng.random((n, slots)) < 0.8)),
    )


def sklearn_f1(train: ErrorLabels, test: ErrorLabels, name: str) -> dict[str, float]:
    """Each baseline's F1 per (exercise, error) with a test positive, from sklearn's binary
    f1_score of the positive class over that exercise's labelled test answers; the majority
    counted here from the training answers, a tie saying yes."""
    expected = {}
    for a, action_id in enumerate(FKG.action_ids):
        for j, error in enumerate(FKG.action(action_id).errors):
            kept = ((test.action == a) & test.labelled[:, j]).numpy()
            truth = test.errors[:, j].numpy()[kept]
            if not truth.any():
                continue
            seen = train.errors[:, j].numpy()[((train.action == a) & train.labelled[:, j]).numpy()]
            majority = float(len(seen) > 0 and seen.sum() >= len(seen) - seen.sum())
            answer = {"yes-to-all": 1.0, "no-to-all": 0.0, "majority-per-exercise": majority}
            said = np.full(len(truth), answer[name])
            expected[f"test/f1/{action_id}/{error.name}"] = f1_score(
                truth, said, average="binary", pos_label=1, zero_division=0
            )
    return expected


@pytest.mark.parametrize("name", list(BASELINES))
def test_each_baseline_scores_what_sklearn_scores(name):
    train, test = random_labels(0, 400), random_labels(1, 200)
    got = sheet_f1(BASELINES[name](train, test, len(FKG.action_ids)), test, FKG)
    expected = sklearn_f1(train, test, name)
    assert len(expected) > 4  # several errors of both exercises are scored
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected)


def labels(rows: list[tuple[str, list[int | None]]]) -> ErrorLabels:
    """One sample per (action id, answers to its first error slots; None = not labelled)."""
    slots = max(len(a.errors) for a in FKG.actions.values())
    errors = torch.zeros(len(rows), slots)
    labelled = torch.zeros(len(rows), slots, dtype=torch.bool)
    for i, (_, answers) in enumerate(rows):
        for j, answer in enumerate(answers):
            labelled[i, j] = answer is not None
            errors[i, j] = float(answer or 0)
    action = torch.tensor([FKG.action_ids.index(a) for a, _ in rows])
    return ErrorLabels(action=action, errors=errors, labelled=labelled)


def test_the_majority_comes_from_the_training_split_per_exercise():
    # In training, squats mostly show their first error and not their second, presses the
    # reverse; the test split says the opposite on each, so its own majority would differ.
    train = labels(
        [("A01", [1, 0])] * 3 + [("A01", [0, 1])] + [("A06", [0, 1])] * 3 + [("A06", [None, 1])]
    )
    test = labels([("A01", [0, 1])] * 3 + [("A01", [1, 0])] + [("A06", [1, 0])] * 4)
    majority = training_majority(train, len(FKG.action_ids))
    squat, press = FKG.action_ids.index("A01"), FKG.action_ids.index("A06")
    assert majority[squat, :2].tolist() == [1.0, 0.0]
    assert majority[press, :2].tolist() == [0.0, 1.0]
    assert majority[squat, 2:].sum() == 0 and majority.sum() == 2  # unlabelled: no
    sheet = BASELINES["majority-per-exercise"](train, test, len(FKG.action_ids))
    got = sheet_f1(sheet, test, FKG)
    squat_errors = [e.name for e in FKG.action("A01").errors]
    press_errors = [e.name for e in FKG.action("A06").errors]
    # yes to every squat's first error: precision 1/4, recall 1; no to the second: F1 0
    assert got[f"test/f1/A01/{squat_errors[0]}"] == pytest.approx(0.4)
    assert got[f"test/f1/A01/{squat_errors[1]}"] == 0.0
    assert got[f"test/f1/A06/{press_errors[0]}"] == 0.0  # four test positives, all answered no
    assert f"test/f1/A06/{press_errors[1]}" not in got  # no test positive: no F1, as for runs


def test_a_tie_in_training_says_yes():
    train = labels([("A01", [1]), ("A01", [0])])
    assert training_majority(train, len(FKG.action_ids))[FKG.action_ids.index("A01"), 0] == 1.0


def test_on_the_fixture_split_the_labels_are_the_evaluation_items(faqa_root, tmp_path):
    config = OmegaConf.merge(
        OmegaConf.load(FAQA),
        {
            "reader": {"root": str(faqa_root)},
            "cache": {"dir": str(tmp_path / "cache"), "workers": 1, "image_size": 32},
            "clip": {"frames": 2, "cache_frames": 4},
        },
    )
    datamodule = FusionDataModule(config, progress=False)
    got = baseline_metrics(datamodule)
    items = list(datamodule.dataset("test", evaluation=True))
    train_items = list(datamodule.dataset("train", evaluation=True))
    for name in BASELINES:
        expected = {}
        for j, error in enumerate(FKG.action("A01").errors[:2]):  # the fixture's squat errors
            truth = np.array([i["errors"][j] for i in items if i["errors_mask"][j]])
            seen = np.array([i["errors"][j] for i in train_items if i["errors_mask"][j]])
            majority = float(seen.sum() * 2 >= len(seen))
            said = {"yes-to-all": 1.0, "no-to-all": 0.0, "majority-per-exercise": majority}[name]
            expected[f"test/f1/A01/{error.name}"] = f1_score(
                truth, np.full(len(truth), said), zero_division=0
            )
        assert got[name] == pytest.approx(expected)
    # The fixture's own split: knees forward in 3 of 7 training squats but 2 of 3 test ones.
    assert got["yes-to-all"]["test/f1/A01/knees_forward"] == pytest.approx(0.8)
    assert got["majority-per-exercise"]["test/f1/A01/knees_forward"] == 0.0
    assert not any(math.isnan(v) for sheet in got.values() for v in sheet.values())
