"""Tests for the synthetic sEMG: shape, determinism, band, envelope, gain, fatigue, imbalance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from fusion.constants import EMG_CHANNELS, EMG_SAMPLE_RATE
from fusion.synth.emg import median_frequency, rms_envelope, synthesize_emg

FS = EMG_SAMPLE_RATE
N_CH = len(EMG_CHANNELS)
DURATION = 4.0


def _times(t_len: int = 40) -> np.ndarray:
    """Video-timeline stamps covering DURATION."""
    return np.linspace(0.0, DURATION, t_len)


def _varied_activation(times: np.ndarray) -> np.ndarray:
    """(T, C) activation with a distinct, varied profile per channel, in [0.05, 1]."""
    phase = np.arange(N_CH)[None, :] * 0.4
    act = 0.5 + 0.45 * np.sin(2 * np.pi * times[:, None] / 2.0 + phase)
    return np.clip(act, 0.05, 1.0)


def _emg(act: np.ndarray, seed: int = 0, **kw) -> np.ndarray:
    """Run the synthesiser with unit gains unless overridden."""
    kw.setdefault("channel_gain", np.ones(N_CH))
    return synthesize_emg(act, _times(act.shape[0]), DURATION, np.random.default_rng(seed), **kw)


def _rms(x: np.ndarray) -> np.ndarray:
    """Per-channel RMS of (N, C)."""
    return np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2, axis=0))


def test_shape_dtype_and_zero_mean() -> None:
    emg = _emg(_varied_activation(_times()))
    assert emg.shape == (round(DURATION * FS), N_CH)
    assert emg.dtype == np.float32
    assert np.all(np.isfinite(emg))
    assert np.all(np.abs(emg.mean(axis=0)) < 1e-4)


def test_deterministic_for_seed() -> None:
    act = _varied_activation(_times())
    np.testing.assert_array_equal(_emg(act, seed=3), _emg(act, seed=3))
    assert not np.array_equal(_emg(act, seed=3), _emg(act, seed=4))


def test_power_inside_band() -> None:
    emg = _emg(_varied_activation(_times()))
    freqs, psd = welch(emg, fs=FS, nperseg=512, axis=0)
    inside = (freqs >= 20) & (freqs <= 450)
    frac = psd[inside].sum(axis=0) / psd.sum(axis=0)
    assert np.all(frac > 0.9), frac


def test_envelope_follows_activation() -> None:
    times = _times()
    act = _varied_activation(times)
    env = rms_envelope(_emg(act), FS)
    idx = np.minimum(np.round(times * FS).astype(int), env.shape[0] - 1)
    for c in range(N_CH):
        r = np.corrcoef(env[idx, c], act[:, c])[0, 1]
        assert r > 0.9, (c, r)


def test_peak_amplitude_about_one_millivolt() -> None:
    emg = _emg(np.ones((40, N_CH)))
    peak = np.abs(emg).max(axis=0)
    assert np.all((peak > 0.6) & (peak < 2.5)), peak


def test_amplitude_scales_with_channel_gain() -> None:
    act = np.full((40, N_CH), 0.6)
    gain = np.linspace(0.5, 1.5, N_CH)
    ratio = _rms(_emg(act, channel_gain=gain)) / _rms(_emg(act))
    np.testing.assert_allclose(ratio, gain, rtol=0.05)


def test_fatigue_lowers_median_frequency_and_raises_amplitude() -> None:
    act = np.full((40, N_CH), 0.7)
    fresh, tired = _emg(act, fatigue=0.0), _emg(act, fatigue=1.0)
    mdf_fresh, mdf_tired = median_frequency(fresh, FS), median_frequency(tired, FS)
    drop = 1.0 - mdf_tired / mdf_fresh
    assert np.all((drop > 0.12) & (drop < 0.3)), drop
    assert np.all((mdf_fresh > 60) & (mdf_fresh < 130)), mdf_fresh
    np.testing.assert_allclose(_rms(tired) / _rms(fresh), 1.2, rtol=0.05)


def test_inactive_channel_stays_at_noise_floor() -> None:
    act = np.full((40, N_CH), 0.8)
    act[:, 5] = 0.0
    rms = _rms(_emg(act, noise_rms_mv=0.005))
    assert rms[5] == pytest.approx(0.005, rel=0.1)
    assert np.all(np.delete(rms, 5) > 50 * rms[5])


def test_left_right_imbalance_doubles_rms_ratio() -> None:
    act = np.full((40, N_CH), 0.3)
    balanced = _rms(_emg(act))
    act[:, 0] = 0.6
    imbalanced = _rms(_emg(act))
    ratio_change = (imbalanced[0] / imbalanced[8]) / (balanced[0] / balanced[8])
    assert ratio_change == pytest.approx(2.0, rel=0.05)


def test_median_frequency_of_sine() -> None:
    t = np.arange(4000) / FS
    x = np.stack([np.sin(2 * np.pi * 100 * t), np.sin(2 * np.pi * 250 * t)], axis=1)
    np.testing.assert_allclose(median_frequency(x, FS), [100, 250], atol=5)


def test_rms_envelope_of_constant_amplitude() -> None:
    t = np.arange(4000) / FS
    x = (2.0 * np.sin(2 * np.pi * 100 * t))[:, None]
    env = rms_envelope(x, FS)
    assert env.shape == x.shape
    np.testing.assert_allclose(env[500:-500, 0], np.sqrt(2.0), rtol=0.01)
