"""Synthetic 16-channel sEMG: band-limited noise carriers modulated by per-muscle activation.

Model (per channel): the activation envelope, linearly resampled to the EMG rate, scales a
Gaussian carrier whose spectrum is shaped like real surface EMG (a 2nd-order low-pass "muscle"
shape, median frequency ~94 Hz when fresh) inside a 20-450 Hz Butterworth band-pass. Fatigue
lowers the shape cutoff (median frequency ~20% lower at fatigue 1) and raises the amplitude
(+20% at 1). An independent band-limited noise floor is added to every channel.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torchaudio.functional as AF
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, welch

from fusion.constants import EMG_SAMPLE_RATE

BAND_HZ: tuple[float, float] = (20.0, 450.0)
# Carrier RMS at activation 1 and gain 1; Gaussian peaks reach ~3 RMS, i.e. ~1 mV.
FULL_ACTIVATION_RMS_MV: float = 0.35
# Cutoff of the spectral-shape low-pass when fresh, and its relative drop at fatigue 1.
SHAPE_CUTOFF_HZ: float = 150.0
FATIGUE_CUTOFF_DROP: float = 0.25
FATIGUE_AMPLITUDE_GAIN: float = 0.2
# Samples simulated before t=0 and dropped, so the filters start in their steady state.
WARMUP_S: float = 0.1


@lru_cache(maxsize=64)
def _band_pass(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of the 20-450 Hz Butterworth band-pass (4th order overall), cached per rate."""
    high = min(BAND_HZ[1], 0.45 * sample_rate)
    b, a = butter(2, [BAND_HZ[0], high], btype="bandpass", fs=sample_rate)
    return b, a


@lru_cache(maxsize=256)
def _muscle_filter(cutoff_hz: float, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of the band-pass cascaded with the sEMG spectral-shape low-pass at `cutoff_hz`."""
    b_bp, a_bp = _band_pass(sample_rate)
    b_lp, a_lp = butter(2, cutoff_hz, btype="lowpass", fs=sample_rate)
    return np.convolve(b_lp, b_bp), np.convolve(a_lp, a_bp)


def _shape_cutoff(fatigue: float) -> float:
    """Spectral-shape cutoff for a fatigue level, rounded to 0.5 Hz so designs are cached."""
    cutoff = SHAPE_CUTOFF_HZ * (1.0 - FATIGUE_CUTOFF_DROP * float(np.clip(fatigue, 0.0, 1.0)))
    return round(cutoff * 2.0) / 2.0


def _white_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Float32 standard normals seeded from `rng`; torch's sampler is ~2x faster than numpy's."""
    gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    return torch.randn(shape, generator=gen).numpy()


def _filter_rows(
    x: np.ndarray, rows: list[tuple[np.ndarray, np.ndarray]], counts: list[int]
) -> np.ndarray:
    """Filter groups of rows of `x` (R, N), each group with its own (b, a), in one lfilter call.

    Calls torchaudio's lfilter directly with clamp=False: its biquad helpers clamp to [-1, 1].
    """
    order = max(len(a) for _, a in rows)
    b_all = np.zeros((x.shape[0], order), dtype=np.float32)
    a_all = np.zeros((x.shape[0], order), dtype=np.float32)
    start = 0
    for (b, a), count in zip(rows, counts, strict=True):
        b_all[start : start + count, : len(b)] = b
        a_all[start : start + count, : len(a)] = a
        start += count
    out = AF.lfilter(
        torch.from_numpy(x), torch.from_numpy(a_all), torch.from_numpy(b_all), clamp=False
    )
    return out.numpy()


def _resample_activation(
    activation: np.ndarray, times: np.ndarray, n: int, sample_rate: int
) -> np.ndarray:
    """Linearly interpolate (T, C) activation onto n samples at `sample_rate`, as (C, n) in [0, 1].

    One searchsorted for all channels instead of C np.interp calls; held constant past the ends.
    """
    act = np.clip(np.asarray(activation, dtype=np.float32), 0.0, 1.0).T
    times = np.asarray(times, dtype=np.float64)
    if times.shape[0] == 1:
        return np.repeat(act, n, axis=1)
    t = np.arange(n) / sample_rate
    left = np.clip(np.searchsorted(times, t, side="right") - 1, 0, times.shape[0] - 2)
    frac = np.clip((t - times[left]) / (times[left + 1] - times[left]), 0.0, 1.0)
    frac = frac.astype(np.float32)
    return act[:, left] * (1.0 - frac) + act[:, left + 1] * frac


def synthesize_emg(
    activation: np.ndarray,
    times: np.ndarray,
    duration_s: float,
    rng: np.random.Generator,
    *,
    channel_gain: np.ndarray,
    fatigue: float = 0.0,
    noise_rms_mv: float = 0.005,
    sample_rate: int = EMG_SAMPLE_RATE,
) -> np.ndarray:
    """Simulate (N, C) float32 sEMG in mV whose amplitude follows `activation` (T, C) at `times`."""
    n = int(round(duration_s * sample_rate))
    n_ch = activation.shape[1]
    warm = int(round(WARMUP_S * sample_rate))
    white = _white_noise(rng, (2 * n_ch, n + warm))
    muscle = _muscle_filter(_shape_cutoff(fatigue), sample_rate)
    band = _filter_rows(white, [muscle, _band_pass(sample_rate)], [n_ch, n_ch])[:, warm:]
    band /= band.std(axis=1, keepdims=True) + 1e-12
    env = _resample_activation(activation, times, n, sample_rate)
    gain = np.asarray(channel_gain, dtype=np.float32).reshape(n_ch, 1)
    scale = FULL_ACTIVATION_RMS_MV * (1.0 + FATIGUE_AMPLITUDE_GAIN * float(np.clip(fatigue, 0, 1)))
    emg = (scale * gain) * env * band[:n_ch] + noise_rms_mv * band[n_ch:]
    emg -= emg.mean(axis=1, keepdims=True)
    return np.ascontiguousarray(emg.T, dtype=np.float32)


def rms_envelope(emg: np.ndarray, sample_rate: int, window_s: float = 0.1) -> np.ndarray:
    """Centred moving RMS of (N, C) EMG over `window_s`, same shape; scipy's moving mean of x^2."""
    window = max(1, int(round(window_s * sample_rate)))
    power = uniform_filter1d(np.asarray(emg, dtype=np.float64) ** 2, window, axis=0, mode="reflect")
    return np.sqrt(np.maximum(power, 0.0))


def median_frequency(emg: np.ndarray, sample_rate: int) -> np.ndarray:
    """(C,) median frequency of (N, C) EMG from a Welch PSD: the frequency halving total power.

    Neither scipy nor torchaudio provides it; it is the interpolated 50% point of the
    cumulative Welch spectrum.
    """
    emg = np.asarray(emg, dtype=np.float64)
    nperseg = min(512, emg.shape[0])
    freqs, psd = welch(emg, fs=sample_rate, nperseg=nperseg, axis=0)
    cum = np.cumsum(psd, axis=0)
    half = 0.5 * cum[-1]
    return np.array([np.interp(half[c], cum[:, c], freqs) for c in range(emg.shape[1])])
