"""Tests for the EMG transforms: band-pass, rectify, envelope, log-mel, normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
import torchaudio

from fusion.data.sample import DataError, TimeSeries
from fusion.data.transforms import build_transforms
from fusion.data.transforms.emg import (
    BandPass,
    Envelope,
    LogMel,
    Normalize,
    Rectify,
    Resample,
    SubjectNormalize,
    fit_channel_stats,
)

RATE = 2000.0


def _with_emg(sample, values: np.ndarray, start_s: float = 0.0):
    return sample.replace(emg=TimeSeries.uniform(values, RATE, start_s))


def _sines(freqs: list[float], seconds: float = 2.0, amplitude: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.column_stack([amplitude * np.sin(2 * np.pi * f * t) for f in freqs]).astype(
        np.float32
    )


def _db(out: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return 20 * np.log10(np.sqrt((out**2).mean(0)) / np.sqrt((ref**2).mean(0)))


def test_bandpass_stops_5_and_800_hz_and_passes_100_hz(make_sample) -> None:
    x = _sines([5.0, 800.0, 100.0])
    out = BandPass()(_with_emg(make_sample(), x), np.random.default_rng(0)).emg.values
    assert out.dtype == np.float32 and out.shape == x.shape
    gain = _db(out[500:-500], x[500:-500])
    assert gain[0] < -20 and gain[1] < -20
    assert abs(gain[2]) < 1.0
    # Zero phase: away from the edges the passed 100 Hz sine lines up with its input.
    np.testing.assert_allclose(out[200:-200, 2], x[200:-200, 2], atol=0.01)


def test_bandpass_matches_scipy_zero_phase_filter_inside_the_signal(make_sample) -> None:
    noise = np.random.default_rng(0).normal(size=(4000, 2))
    out = BandPass(low_hz=30, high_hz=300, order=3)(
        _with_emg(make_sample(), noise), np.random.default_rng(0)
    ).emg.values
    sos = scipy.signal.butter(3, [30, 300], btype="bandpass", fs=RATE, output="sos")
    reference = scipy.signal.sosfiltfilt(sos, noise, axis=0)
    np.testing.assert_allclose(out[400:-400], reference[400:-400], atol=1e-3)


def test_bandpass_refuses_bad_bands(make_sample) -> None:
    with pytest.raises(ValueError, match="low_hz < high_hz"):
        BandPass(low_hz=500, high_hz=450)
    slow = make_sample().replace(emg=TimeSeries.uniform(_sines([5.0]), 800.0))
    with pytest.raises(DataError, match="Nyquist"):
        BandPass()(slow, np.random.default_rng(0))


def test_resample_keeps_a_band_limited_sine_and_its_clock(make_sample) -> None:
    x = _sines([100.0, 300.0])
    sample = _with_emg(make_sample(), x, start_s=0.25)
    out = Resample(1000.0)(sample, np.random.default_rng(0)).emg
    assert out.rate_hz == 1000.0 and out.values.shape == (2000, 2)
    assert np.allclose(out.times[:3], [0.25, 0.251, 0.252])
    t = out.times - 0.25
    expected = np.column_stack([np.sin(2 * np.pi * f * t) for f in (100.0, 300.0)])
    np.testing.assert_allclose(out.values[100:-100], expected[100:-100], atol=0.02)


def test_resample_refuses_a_fractional_rate() -> None:
    with pytest.raises(ValueError, match="whole number"):
        Resample(999.5)


def test_rectify_is_absolute_value(make_sample) -> None:
    sample = make_sample()
    out = Rectify()(sample, np.random.default_rng(0)).emg.values
    np.testing.assert_array_equal(out, np.abs(sample.emg.values))


def test_envelope_of_a_sine_is_amplitude_over_root_two(make_sample) -> None:
    x = _sines([100.0, 60.0], seconds=1.5, amplitude=0.3)
    out = Envelope(window_s=0.05, rate_hz=100.0)(
        _with_emg(make_sample(), x, start_s=0.25), np.random.default_rng(0)
    ).emg
    assert out.rate_hz == 100.0 and out.values.shape == (150, 2)
    np.testing.assert_allclose(out.times, 0.25 + np.arange(150) / 100.0)
    # 50 ms holds whole periods of both sines, so the interior RMS is exact.
    np.testing.assert_allclose(out.values[3:-3], 0.3 / np.sqrt(2), rtol=1e-4)


def test_logmel_matches_torchaudio(make_sample) -> None:
    sample = _with_emg(make_sample(), make_sample().emg.values, start_s=1.0)  # 800 x 16
    transform = LogMel(n_fft=128, hop_length=40, n_mels=16)
    out = transform(sample, np.random.default_rng(0)).emg
    frames = 800 // 40 + 1
    assert out.values.shape == (frames, 16, 16)
    assert out.rate_hz == RATE / 40
    np.testing.assert_allclose(out.times, 1.0 + np.arange(frames) * 40 / RATE)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=2000, n_fft=128, hop_length=40, n_mels=16, f_min=20.0, f_max=450.0
    )
    for channel in (0, 9):
        signal = torch.from_numpy(sample.emg.values[:, channel].copy())
        expected = torch.log(mel(signal) + 1e-10).numpy().T  # (frames, n_mels)
        np.testing.assert_allclose(out.values[:, channel], expected, rtol=1e-4, atol=1e-4)


def test_normalize_with_own_and_given_statistics(make_sample) -> None:
    sample = make_sample()
    shifted = _with_emg(sample, sample.emg.values * 3.0 + np.arange(16, dtype=np.float32))
    own = Normalize()(shifted, np.random.default_rng(0)).emg.values
    np.testing.assert_allclose(own.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(own.std(0), 1.0, rtol=1e-4)
    mean, std = list(range(16)), [2.0] * 16
    given = Normalize(mean=mean, std=std)(shifted, np.random.default_rng(0)).emg.values
    np.testing.assert_allclose(given, (shifted.emg.values - np.arange(16)) / 2.0, rtol=1e-6)
    with pytest.raises(ValueError, match="both mean and std"):
        Normalize(mean=mean)
    with pytest.raises(DataError, match="16 channels but statistics for 3"):
        Normalize(mean=[0, 0, 0], std=[1, 1, 1])(shifted, np.random.default_rng(0))


def _subject_samples(make_sample):
    """Two subjects with different offsets/scales, samples of different lengths."""
    samples = []
    for seed, (subject, offset, scale, rows) in enumerate(
        [("S01", 1.0, 2.0, 800), ("S01", 1.0, 2.0, 500), ("S02", -3.0, 0.5, 700)]
    ):
        sample = make_sample(seed=seed, subject=subject, emg_rows=rows)
        values = sample.emg.values * scale * np.linspace(1, 2, 16, dtype=np.float32) + offset
        samples.append(_with_emg(sample, values.astype(np.float32)))
    return samples


def test_fit_channel_stats_matches_pooled_numpy(make_sample) -> None:
    samples = _subject_samples(make_sample)
    samples.append(make_sample(seed=9, subject="S02", modalities=("video", "pose")))  # no EMG
    stats = fit_channel_stats(samples)
    assert sorted(stats) == ["S01", "S02"]
    pooled = np.concatenate([s.emg.values for s in samples[:2]]).astype(np.float64)
    np.testing.assert_allclose(stats["S01"][0], pooled.mean(0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats["S01"][1], pooled.std(0), rtol=1e-10)
    np.testing.assert_allclose(stats["S02"][1], samples[2].emg.values.std(0), rtol=1e-6)


def test_subject_normalize_gives_zero_mean_unit_std_per_subject(make_sample) -> None:
    samples = _subject_samples(make_sample)
    stats = fit_channel_stats(samples)
    transform = build_transforms([{"name": "emg.subject_normalize", "stats": stats}])
    again = build_transforms(transform.spec()["transforms"])  # the JSON spec rebuilds it
    assert again.spec() == transform.spec()
    out = [again(s, np.random.default_rng(0)) for s in samples]
    for subject, members in (("S01", out[:2]), ("S02", out[2:])):
        pooled = np.concatenate([s.emg.values for s in members]).astype(np.float64)
        np.testing.assert_allclose(pooled.mean(0), 0.0, atol=1e-5, err_msg=subject)
        np.testing.assert_allclose(pooled.std(0), 1.0, rtol=1e-4, err_msg=subject)


def test_subject_statistics_errors(make_sample) -> None:
    stats = fit_channel_stats(_subject_samples(make_sample))
    stranger = make_sample(subject="S09")
    with pytest.raises(DataError, match="no EMG statistics for subject 'S09'"):
        SubjectNormalize(stats=stats)(stranger, np.random.default_rng(0))
    anonymous = make_sample(subject=None)
    with pytest.raises(DataError, match="no subject"):
        fit_channel_stats([anonymous])
    with pytest.raises(ValueError, match="subject 'S01'"):
        SubjectNormalize(stats={"S01": ([0.0, 1.0], [1.0])})
