"""The whole `small` preset, as `make train` builds it (slow: about 45 s on 2 cores)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from fusion.synth.generate import generate


@pytest.mark.slow
def test_small_preset_covers_every_action_skill_and_view(tmp_path):
    root = tmp_path / "small"
    meta = generate("small", root, seed=0, progress=False)
    summary = meta["summary"]
    actions = ("A01", "A03", "A06", "A07", "A13", "A15")
    assert summary["samples"] == 720 and summary["subjects"] == 12
    assert summary["per_action"] == {a: 120 for a in actions}
    assert summary["per_skill"] == {"amateur": 240, "expert": 240, "novice": 240}
    score = summary["score"]
    assert score["min"] >= 20.0 and score["max"] == 100.0 and 60 < score["mean"] < 80
    by_skill = score["mean_by_skill"]
    assert by_skill["expert"] > by_skill["amateur"] > by_skill["novice"]
    assert len(summary["per_error"]) > 25
    train = scipy.io.loadmat(root / "Split_4/split_4_train_list.mat")["consolidated_train_list"]
    test = scipy.io.loadmat(root / "Split_4/split_4_test_list.mat")["consolidated_test_list"]
    assert len(train) + len(test) == 720
    assert set(np.unique(test[:, 0])) == {int(a[1:]) for a in actions}
    for view in range(1, 6):
        assert (root / f"A15/120/View-{view}/img_00001.JPG").is_file()
