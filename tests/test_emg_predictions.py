"""Prediction files: write -> read gives the same scores; malformed files are refused by field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fusion.data.sample import DataError
from fusion.emg_predictions import (
    read_predictions,
    read_targets,
    score,
    write_predictions,
    write_targets,
)


def records(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for n, rows in enumerate((6, 9, 4)):
        target = rng.random((rows, 3)).astype(np.float32)
        out.append(
            {
                "key": f"A01/{n:03d}",
                "action": "A01",
                "subject": "S1",
                "times": np.arange(rows, dtype=np.float32) / 10,
                "target": target,
                "envelope": (target + rng.normal(0, 0.2, target.shape)).astype(np.float32),
                "contribution_target": np.full(1, 0.5, np.float32),
                "contribution": np.full(1, 0.6, np.float32),
            }
        )
    return out


def test_round_trip_scores_the_same(tmp_path: Path):
    original = records()
    path = write_predictions(original, tmp_path / "p.npz")
    back = read_predictions(path, list(reversed(original)))  # order of the targets is free
    again, first = score(back), score(original)
    assert again.keys() == first.keys()
    for name, value in first.items():
        np.testing.assert_allclose(again[name], value, rtol=1e-6)
    targets = np.load(write_targets(original, tmp_path / "t.npz"))
    assert targets["envelope"].shape == (3, 9, 3) and np.isnan(targets["times"][2, 4:]).all()


def write(tmp_path: Path, **arrays) -> Path:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


def test_malformed_files_are_refused_with_the_field(tmp_path: Path):
    good = records()
    keys = np.array([r["key"] for r in good])
    envelope = np.load(write_predictions(good, tmp_path / "p.npz"))["envelope"]
    cases = [
        ({"keys": keys}, "missing array 'envelope'"),
        ({"keys": keys, "envelope": envelope[..., :2]}, r"envelope: expected 3 channels"),
        ({"keys": keys, "envelope": envelope[:, :, 0]}, r"expected keys \(N,\) and envelope"),
        ({"keys": keys[:2], "envelope": envelope[:2]}, "1 missing"),
        ({"keys": keys, "envelope": envelope[:, :5]}, "clip A01/000: expected 6 finite rows"),
        (
            {"keys": keys, "envelope": envelope, "contribution": np.zeros((3, 2))},
            r"contribution: expected \(3, 1\)",
        ),
    ]
    for arrays, message in cases:
        with pytest.raises(DataError, match=message) as error:
            read_predictions(write(tmp_path, **arrays), good)
        assert "bad.npz" in str(error.value)
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        read_predictions(tmp_path / "junk.npz", good)


def test_targets_read_back_as_the_records_predictions_are_checked_against(tmp_path: Path):
    original = records()
    back = read_targets(write_targets(original, tmp_path / "t.npz"))
    assert [r["key"] for r in back] == [r["key"] for r in original]
    for got, want in zip(back, original, strict=True):
        np.testing.assert_array_equal(got["target"], want["target"])  # real rows only
        np.testing.assert_array_equal(got["times"], want["times"])
        np.testing.assert_array_equal(got["contribution_target"], want["contribution_target"])
    predictions = write_predictions(original, tmp_path / "p.npz")
    assert score(read_predictions(predictions, back)) == score(original)
    with pytest.raises(DataError, match="missing array 'times'"):
        read_targets(write(tmp_path, keys=np.array(["a"]), envelope=np.zeros((1, 2, 3))))
    with pytest.raises(DataError, match="targets file not found"):
        read_targets(tmp_path / "none.npz")
