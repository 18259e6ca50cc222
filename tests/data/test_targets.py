"""Labels -> targets in the FKG's per-action error slots."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.constants import IGNORE_INDEX
from fusion.data.sample import ErrorLabel, Labels, Phase
from fusion.data.targets import TargetEncoder
from fusion.fkg.loader import load_fkg


@pytest.fixture(scope="module")
def encoder() -> TargetEncoder:
    return TargetEncoder(load_fkg())


def test_slots_follow_the_weight_table(encoder):
    fkg = encoder.fkg
    table, ids = fkg.weight_table()
    action = fkg.action("A01")
    err = action.errors[2]
    labels = Labels(
        action="A01",
        score=80.0,
        errors=(ErrorLabel(err.name, (1.0, 2.0)),),
        labelled_errors=tuple(e.name for e in action.errors),
        phases=(Phase("eccentric", 0.5, 1.5),),
    )
    out = encoder.encode(labels)
    row = fkg.action_ids.index("A01")
    assert out["action"] == row
    assert ids[row][2] == err.id
    assert out["errors"].tolist() == [float(i == 2) for i in range(table.shape[1])]
    assert out["errors_mask"].sum() == len(action.errors)
    assert np.array_equal(out["error_spans"][2], [1.0, 2.0])
    assert np.isnan(out["error_spans"][0]).all()
    assert out["score"] == 80.0 and out["score_mask"]
    assert np.array_equal(out["phases"][1], [0.5, 1.5]) and np.isnan(out["phases"][0]).all()


def test_unknown_labels_are_masked(encoder):
    out = encoder.encode(Labels())
    assert out["action"] == IGNORE_INDEX
    assert not out["score_mask"] and np.isnan(out["score"])
    assert not out["errors_mask"].any()


def test_only_labelled_errors_are_known_negatives(encoder):
    labels = Labels(action="A01", errors=(), labelled_errors=("knees_inward",))
    out = encoder.encode(labels)
    assert out["errors_mask"].sum() == 1 and out["errors"].sum() == 0


def test_an_error_outside_the_action_names_the_sample(encoder):
    labels = Labels(action="A01", errors=(ErrorLabel("elbows"),))
    with pytest.raises(ValueError, match="A01/003: error 'elbows'"):
        encoder.encode(labels, "A01/003")
