"""Video->EMG targets: envelope against a direct RMS, clock, per-subject scales, L/R shares."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.constants import EMG_CHANNELS
from fusion.data.envelope import (
    EnvelopeClock,
    EnvelopeTargets,
    contribution,
    fit_envelope_scales,
    muscle_pairs,
)
from fusion.data.sample import DataError, Labels, Provenance, Sample, TimeSeries


def make_sample(emg: np.ndarray, rate: float, subject: str | None = "S1", video_fps=None):
    video = None
    if video_fps is not None:
        frames = int(len(emg) / rate * video_fps)
        video = TimeSeries.uniform(np.zeros((frames, 1, 2, 2, 3), np.uint8), video_fps)
    return Sample(
        key="A01/001",
        labels=Labels(action="A01"),
        provenance=Provenance("flex", "/x", "A01/001", subject=subject),
        emg=TimeSeries.uniform(emg.astype(np.float32), rate),
        video=video,
        emg_channels=EMG_CHANNELS[: emg.shape[1]] if emg.shape[1] == 16 else (),
    )


def test_flex_channels_pair_each_left_muscle_with_its_right_one():
    pairs = muscle_pairs(EMG_CHANNELS)
    assert pairs == tuple((i, i + 8) for i in range(8))
    assert muscle_pairs(("quad_r", "quad_l", "neck")) == ((1, 0),)


def test_contribution_is_flex_peak_ratio():
    values = np.zeros((5, 4))
    values[2, 0], values[3, 1] = -3.0, 1.0  # left peak |x| 3, right 1 -> 0.75
    out = contribution(values, [(0, 1), (2, 3)])
    np.testing.assert_allclose(out, [0.75, 0.5])  # silent pair -> 0.5


def test_envelope_is_moving_rms_at_the_video_rate():
    rng = np.random.default_rng(0)
    rate = 1000.0
    emg = rng.normal(size=(3000, 16)) * np.linspace(0.1, 2.0, 3000)[:, None]
    sample = make_sample(emg, rate, video_fps=10.0)
    out = EnvelopeClock(window_s=0.05).envelope(sample)  # a fixed window
    assert out.rate_hz == 10.0
    np.testing.assert_allclose(out.times, np.arange(30) / 10.0)
    for k, t in enumerate(out.times[1:-1], start=1):  # away from the edges: a full window
        centre = int(round(t * rate))
        window = emg[centre - 25 : centre + 25]
        np.testing.assert_allclose(out.values[k], np.sqrt((window**2).mean(0)), rtol=1e-4)


def test_clock_rate_can_be_fixed_and_a_given_envelope_is_only_resampled():
    emg = np.tile(np.arange(30.0)[:, None], (1, 16))  # already an envelope at 30 Hz
    sample = make_sample(emg, 30.0)
    out = EnvelopeClock(rate_hz=10.0, kind="envelope").envelope(sample)
    np.testing.assert_allclose(out.values[:, 0], np.arange(0, 30, 3.0))
    with pytest.raises(ValueError, match="emg kind"):
        EnvelopeClock(kind="raw")


def test_subject_scales_are_the_percentile_and_targets_divide_by_them():
    rng = np.random.default_rng(1)
    clock = EnvelopeClock(rate_hz=20.0)
    samples = [make_sample(rng.normal(size=(2000, 16)) * (i + 1), 1000.0) for i in range(3)]
    scales = fit_envelope_scales(samples, clock, percentile=90)
    pooled = np.concatenate([clock.envelope(s).values for s in samples])
    np.testing.assert_allclose(scales["S1"], np.percentile(pooled, 90, axis=0), rtol=1e-6)
    item = EnvelopeTargets(clock, scales)(samples[0])
    np.testing.assert_allclose(
        item["envelope"].numpy(), clock.envelope(samples[0]).values / scales["S1"], rtol=1e-5
    )
    assert item["contribution"].shape == (8,) and item["action"] == "A01"
    stranger = make_sample(rng.normal(size=(2000, 16)), 1000.0, subject="S9")
    with pytest.raises(DataError, match="no envelope scale for subject 'S9'"):
        EnvelopeTargets(clock, scales)(stranger)


def test_a_sample_without_emg_or_subject_is_refused_by_name():
    sample = make_sample(np.ones((100, 16)), 1000.0, subject=None)
    with pytest.raises(DataError, match="no subject"):
        fit_envelope_scales([sample], EnvelopeClock())
    with pytest.raises(DataError, match="has no EMG"):
        EnvelopeClock().envelope(sample.replace(emg=None))


def test_default_window_spans_two_output_periods():
    rng = np.random.default_rng(2)
    sample = make_sample(rng.normal(size=(2000, 16)), 1000.0, video_fps=10.0)
    assert EnvelopeClock().window(10.0) == pytest.approx(0.2)
    default = EnvelopeClock().envelope(sample).values
    np.testing.assert_allclose(default, EnvelopeClock(window_s=0.2).envelope(sample).values)
    assert not np.allclose(default, EnvelopeClock(window_s=0.05).envelope(sample).values)


def test_targets_are_remembered_until_the_emg_changes():
    rng = np.random.default_rng(4)
    sample = make_sample(rng.normal(size=(2000, 16)), 2000.0, video_fps=10.0)
    targets = EnvelopeTargets(EnvelopeClock())
    first = targets(sample)
    again = targets(sample)
    assert again["envelope"] is first["envelope"] and len(targets._memo) == 1
    louder = sample.replace(emg=TimeSeries(2 * sample.emg.values, sample.emg.times, 2000.0))
    doubled = targets(louder)
    np.testing.assert_allclose(doubled["envelope"], 2 * first["envelope"], rtol=1e-5)
    assert len(targets._memo) == 2
    full = EnvelopeTargets(EnvelopeClock(), memo_limit=0)
    np.testing.assert_array_equal(full(sample)["envelope"], first["envelope"])
    assert not full._memo
