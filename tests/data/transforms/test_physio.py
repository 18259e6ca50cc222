"""Tests for physio.normalize."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.data.sample import DataError, TimeSeries
from fusion.data.transforms.physio import Normalize


def test_default_baseline_gives_known_values(make_sample) -> None:
    hr_rr = np.array([[70.0, 15.0], [85.0, 20.0], [40.0, 5.0]], np.float32)
    sample = make_sample().replace(physio=TimeSeries.uniform(hr_rr, 10.0))
    out = Normalize()(sample, np.random.default_rng(0)).physio
    assert out.values.dtype == np.float32
    np.testing.assert_allclose(out.values, [[0.0, 0.0], [1.0, 1.0], [-2.0, -2.0]])
    np.testing.assert_array_equal(out.times, sample.physio.times)


def test_given_baseline_and_bad_input(make_sample) -> None:
    sample = make_sample()
    out = Normalize(mean=[60, 12], std=[10, 4])(sample, np.random.default_rng(0)).physio.values
    np.testing.assert_allclose(out, (sample.physio.values - [60, 12]) / [10, 4], rtol=1e-6)
    with pytest.raises(ValueError, match="std must be > 0"):
        Normalize(std=[10, 0])
    with pytest.raises(ValueError, match=r"mean needs \[hr, rr\]"):
        Normalize(mean=[70])
    three = sample.replace(physio=TimeSeries.uniform(np.zeros((4, 3), np.float32), 10.0))
    with pytest.raises(DataError, match=r"expected \(T, 2\)"):
        Normalize()(three, np.random.default_rng(0))
