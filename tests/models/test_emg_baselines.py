"""The non-learned Video->EMG baselines on hand-made clips whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.models.emg_baselines import (
    ActionMeanEnvelope,
    NearestClip,
    baseline_predictions,
    build_baseline,
    to_grid,
)


def clip(key: str, action: str, envelope: np.ndarray, pose: np.ndarray, share: float) -> dict:
    return {
        "key": key,
        "action": action,
        "subject": "S1",
        "envelope": torch.from_numpy(envelope.astype(np.float32)),
        "envelope_times": torch.arange(len(envelope), dtype=torch.float32) / 10,
        "contribution": np.array([share], np.float32),
        "pose": torch.from_numpy(pose.astype(np.float32)),
    }


def ramp(rows: int, top: float) -> np.ndarray:
    return np.linspace(0.0, top, rows)[:, None].repeat(2, axis=1)


def test_to_grid_resamples_by_fraction_of_the_clip():
    values = np.array([[0.0], [10.0]])
    np.testing.assert_allclose(to_grid(values, 3)[:, 0], [0.0, 5.0, 10.0])
    np.testing.assert_allclose(to_grid(to_grid(ramp(7, 6.0), 13), 7), ramp(7, 6.0))
    with pytest.raises(ValueError, match="needs rows"):
        to_grid(np.zeros((0, 2)), 4)


def test_action_mean_predicts_the_mean_curve_of_the_action_at_the_query_length():
    pose = np.zeros((5, 2, 3))
    train = [
        clip("a", "A01", ramp(10, 1.0), pose, 0.4),
        clip("b", "A01", ramp(20, 3.0), pose, 0.6),  # other tempo, same shape: mean top 2
        clip("c", "A02", ramp(10, 9.0), pose, 0.9),
    ]
    model = ActionMeanEnvelope(grid=16).fit(train)
    query = clip("q", "A01", np.zeros((8, 2)), pose, 0.5)
    envelope, share = model.predict(query)
    np.testing.assert_allclose(envelope, ramp(8, 2.0), atol=1e-6)
    np.testing.assert_allclose(share, [0.5])
    with pytest.raises(ValueError, match="action 'A09' has no training clip"):
        model.predict(clip("z", "A09", np.zeros((8, 2)), pose, 0.5))


def test_nearest_retrieves_the_clip_with_the_closest_pose():
    rng = np.random.default_rng(0)
    poses = [rng.normal(size=(12, 3, 3)) for _ in range(3)]
    train = [clip(k, "A01", ramp(10, n + 1.0), p, 0.1 * n) for n, (k, p) in
             enumerate(zip("abc", poses, strict=True))]  # fmt: skip
    model = NearestClip("pose", grid=12).fit(train)
    query = clip("q", "A01", np.zeros((6, 2)), poses[1] + 0.01, 0.0)
    assert model.neighbour(query) == 1
    records = baseline_predictions(model, [query])
    np.testing.assert_allclose(records[0]["envelope"], ramp(6, 2.0), atol=1e-6)
    np.testing.assert_allclose(records[0]["contribution"], [0.1], atol=1e-6)
    assert records[0]["target"].shape == (6, 2)


def test_unknown_kinds_and_features_are_refused():
    with pytest.raises(ValueError, match="model.kind 'svr'"):
        build_baseline("svr", "pose", 8)
    with pytest.raises(ValueError, match="nearest features 'emg'"):
        NearestClip("emg")
    no_pose = clip("a", "A01", ramp(4, 1.0), np.zeros((4, 1, 3)), 0.5)
    del no_pose["pose"]
    with pytest.raises(ValueError, match="a: nearest-neighbour on pose, but the clip has none"):
        NearestClip("pose").fit([no_pose])
