"""The whole `small` preset, as `make train` builds it (slow: about 30 s on 2 cores)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from fusion.data.synth.generate import generate


@pytest.mark.slow
def test_small_preset_covers_every_action_skill_and_view(tmp_path, fkg):
    root = tmp_path / "small"
    meta = generate("small", root, seed=0, progress=False)
    summary = meta["summary"]
    assert summary["samples"] == 240 and summary["subjects"] == 6
    assert summary["per_action"] == {a: 12 for a in fkg.action_ids}
    assert summary["per_skill"] == {"amateur": 80, "expert": 80, "novice": 80}
    score = summary["score"]
    assert score["min"] >= 20.0 and score["max"] == 100.0 and 60 < score["mean"] < 80
    by_skill = score["mean_by_skill"]
    assert by_skill["expert"] > by_skill["amateur"] > by_skill["novice"]
    assert len(summary["per_error"]) > 40
    train = scipy.io.loadmat(root / "Split_4/split_4_train_list.mat")["consolidated_train_list"]
    test = scipy.io.loadmat(root / "Split_4/split_4_test_list.mat")["consolidated_test_list"]
    assert len(train) + len(test) == 240
    assert set(np.unique(test[:, 0])) == set(range(1, 21))
    for view in range(1, 6):
        assert (root / f"A20/012/View-{view}/img_00001.JPG").is_file()
