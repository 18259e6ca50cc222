"""Tests for synthetic HR/RR: shapes, ranges, effort and set drift, breath-hold signature."""

from __future__ import annotations

import numpy as np

from fusion.synth.physio import PHYSIO_RATE_HZ, synthesize_physio

DURATION = 4.0
_times_s: np.ndarray = np.linspace(0.0, DURATION, 40)


def _run(effort: float | np.ndarray = 0.5, seed: int = 0, **kw):
    """Run the physio synthesiser with mid-range subject defaults."""
    kw = {"resting_hr": 70.0, "resting_rr": 14.0, "fitness": 0.5, "set_progress": 0.3, **kw}
    effort = np.broadcast_to(np.asarray(effort, dtype=float), _times_s.shape)
    return synthesize_physio(_times_s, effort, DURATION, np.random.default_rng(seed), **kw)


def _hold_mask(start: float = 1.0, stop: float = 3.0) -> np.ndarray:
    """Breath held between start and stop seconds on the video timeline."""
    return np.logical_and(_times_s >= start, _times_s <= stop)


def test_shapes_timestamps_and_dtypes() -> None:
    t, hr, rr = _run()
    m = int(np.floor(DURATION * PHYSIO_RATE_HZ)) + 1
    assert t.shape == hr.shape == rr.shape == (m,)
    assert t.dtype == hr.dtype == rr.dtype == np.float32
    np.testing.assert_allclose(t, np.arange(m) / PHYSIO_RATE_HZ, atol=1e-6)


def test_values_stay_physiological() -> None:
    for effort, progress, fitness, hold in [(0.0, 0.0, 1.0, None), (1.0, 1.0, 0.0, _hold_mask())]:
        _, hr, rr = _run(effort, fitness=fitness, set_progress=progress, breath_hold=hold)
        assert np.all((hr >= 50) & (hr <= 190))
        assert np.all((rr >= 0) & (rr <= 45))
    _, hr, rr = _run(0.0, set_progress=0.0, fitness=1.0)
    assert abs(hr.mean() - 70.0) < 3 and abs(rr.mean() - 14.0) < 2


def test_hr_and_rr_rise_with_effort() -> None:
    _, hr_lo, rr_lo = _run(0.1)
    _, hr_hi, rr_hi = _run(0.9)
    assert hr_hi[-10:].mean() > hr_lo[-10:].mean() + 5
    assert rr_hi[-10:].mean() > rr_lo[-10:].mean() + 2
    _, hr, _ = _run(0.9)
    assert hr[-5:].mean() > hr[:5].mean() + 5  # lagged rise within the rep


def test_hr_rises_with_set_progress_less_when_fit() -> None:
    rise = {}
    for fitness in (0.0, 1.0):
        _, hr_start, _ = _run(set_progress=0.0, fitness=fitness)
        _, hr_end, _ = _run(set_progress=1.0, fitness=fitness)
        rise[fitness] = hr_end.mean() - hr_start.mean()
    assert rise[0.0] > rise[1.0] > 5


def test_breath_hold_lowers_rr_and_raises_hr() -> None:
    t, hr_free, rr_free = _run(0.6)
    _, hr_hold, rr_hold = _run(0.6, breath_hold=_hold_mask(1.0, 3.0))
    inside = (t >= 2.0) & (t <= 3.0)
    assert rr_hold[inside].mean() < 0.2 * rr_free[inside].mean()
    assert hr_hold[inside].mean() > hr_free[inside].mean() + 2
    before = t < 1.0
    np.testing.assert_allclose(hr_hold[before], hr_free[before], atol=1e-4)


def test_deterministic_for_seed() -> None:
    a = _run(0.5, seed=7, breath_hold=_hold_mask())
    b = _run(0.5, seed=7, breath_hold=_hold_mask())
    c = _run(0.5, seed=8, breath_hold=_hold_mask())
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])
