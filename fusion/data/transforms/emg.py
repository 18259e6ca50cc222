"""sEMG transforms on (T, C) signals: band-pass, rectify, RMS envelope, log-mel, z-scores.

The band-pass is the sEMG standard (SENIAM / ISEK): a 4th-order Butterworth, 20-450 Hz, run
forward and backward with `torchaudio.functional.filtfilt`. Zero phase keeps muscle onsets
aligned with video and pose, and the 4th order (doubled by the two passes) gives > 20 dB at
800 Hz, less than an octave above the corner. scipy designs it as second-order sections, run
one after another in float64, which stays stable at these low normalised corners where a
single high-order polynomial does not. The log-mel spectrogram is torchaudio's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.signal
import torch
import torchaudio
from einops import rearrange
from scipy.interpolate import interp1d
from scipy.ndimage import uniform_filter1d

from fusion.data.sample import DataError, Sample, TimeSeries
from fusion.data.transforms.base import Transform, register, sample_error

ChannelStats = tuple[np.ndarray, np.ndarray]  # per-channel (mean, std)


def _signal(sample: Sample) -> np.ndarray:
    """EMG values checked to be a non-empty (T, C) array."""
    values = sample.emg.values
    if values.ndim != 2 or len(values) == 0:
        raise sample_error(sample, "emg", f"expected (T, C) samples, got {values.shape}")
    return values


def _floats(name: str, values: Iterable[float] | None) -> tuple[float, ...] | None:
    if values is None:
        return None
    out = tuple(float(v) for v in values)
    if not out:
        raise ValueError(f"{name} must list one value per channel, got none")
    return out


def _zscore(sample: Sample, mean: np.ndarray, std: np.ndarray, eps: float) -> Sample:
    """(x - mean) / std per channel, std floored at eps; channel counts must agree."""
    values = _signal(sample)
    if len(mean) != values.shape[1] or len(std) != values.shape[1]:
        raise sample_error(
            sample,
            "emg",
            f"{values.shape[1]} channels but statistics for {len(mean)} / {len(std)}",
        )
    out = (values.astype(np.float64) - mean) / np.maximum(std, eps)
    return sample.replace(emg=sample.emg.with_values(out.astype(np.float32)))


def moving_rms(values: np.ndarray, rate_hz: float, window_s: float) -> np.ndarray:
    """(T, C) root mean square over a centred window of `window_s` seconds, in float64."""
    window = max(1, round(window_s * rate_hz))
    power = uniform_filter1d(values.astype(np.float64) ** 2, size=window, axis=0)
    return np.sqrt(np.maximum(power, 0.0))


@register("emg.bandpass")
@dataclass
class BandPass(Transform):
    """Zero-phase Butterworth band-pass (default 4th order, 20-450 Hz)."""

    low_hz: float = 20.0
    high_hz: float = 450.0
    order: int = 4

    def __post_init__(self) -> None:
        self.low_hz, self.high_hz = float(self.low_hz), float(self.high_hz)
        if not 0 < self.low_hz < self.high_hz:
            raise ValueError(f"need 0 < low_hz < high_hz, got {self.low_hz}, {self.high_hz}")
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 1:
            raise ValueError(f"order must be a positive integer, got {self.order!r}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.emg is None:
            return sample
        values = _signal(sample)
        rate = sample.emg.rate_hz
        if self.high_hz >= rate / 2:
            raise sample_error(
                sample, "emg", f"high_hz {self.high_hz} is not below Nyquist ({rate / 2} Hz)"
            )
        sos = scipy.signal.butter(
            self.order, [self.low_hz, self.high_hz], btype="bandpass", fs=rate, output="sos"
        )
        x = torch.from_numpy(np.ascontiguousarray(values.T, dtype=np.float64))
        for section in torch.from_numpy(sos):  # (b0, b1, b2, a0, a1, a2)
            x = torchaudio.functional.filtfilt(x, section[3:], section[:3], clamp=False)
        out = x.numpy().T
        return sample.replace(emg=sample.emg.with_values(out.astype(values.dtype)))


@register("emg.resample")
@dataclass
class Resample(Transform):
    """Band-limited resampling to `rate_hz` (torchaudio's windowed-sinc resampler).

    After a 20-450 Hz band-pass nothing is left above 500 Hz, so 1 kHz keeps the whole signal
    at half the rows of 2 kHz: half the cache and half the bytes per batch.
    """

    rate_hz: float = 1000.0

    def __post_init__(self) -> None:
        self.rate_hz = float(self.rate_hz)
        if self.rate_hz <= 0 or not self.rate_hz.is_integer():
            raise ValueError(f"rate_hz must be a positive whole number, got {self.rate_hz}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.emg is None:
            return sample
        values, rate = _signal(sample), sample.emg.rate_hz
        if not float(rate).is_integer():
            raise sample_error(sample, "emg", f"resampling needs a whole-number rate, got {rate}")
        x = torch.from_numpy(np.ascontiguousarray(values.T, dtype=np.float32))
        y = torchaudio.functional.resample(x, int(rate), int(self.rate_hz)).numpy().T
        start = float(sample.emg.times[0]) if len(sample.emg.times) else 0.0
        resampled = TimeSeries.uniform(y.astype(values.dtype), self.rate_hz, start)
        return sample.replace(emg=resampled)


@register("emg.rectify")
@dataclass
class Rectify(Transform):
    """Full-wave rectification (absolute value)."""

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.emg is None:
            return sample
        return sample.replace(emg=sample.emg.with_values(np.abs(_signal(sample))))


@register("emg.envelope")
@dataclass
class Envelope(Transform):
    """Moving RMS over `window_s`, sampled at `rate_hz` (new times from the first sample)."""

    window_s: float = 0.05
    rate_hz: float = 100.0

    def __post_init__(self) -> None:
        self.window_s, self.rate_hz = float(self.window_s), float(self.rate_hz)
        if self.window_s <= 0 or self.rate_hz <= 0:
            raise ValueError(
                f"window_s and rate_hz must be > 0, got {self.window_s}, {self.rate_hz}"
            )

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.emg is None:
            return sample
        values, times = _signal(sample), sample.emg.times
        rms = moving_rms(values, sample.emg.rate_hz, self.window_s)
        count = int(np.floor((times[-1] - times[0]) * self.rate_hz + 1e-9)) + 1
        new_times = times[0] + np.arange(count) / self.rate_hz
        if len(times) > 1:
            rms = interp1d(times, rms, axis=0, assume_sorted=True)(new_times)
        envelope = TimeSeries(rms.astype(np.float32), new_times, self.rate_hz)
        return sample.replace(emg=envelope)


@register("emg.logmel")
@dataclass
class LogMel(Transform):
    """Per-channel log mel spectrogram -> (frames, C, n_mels), times at frame centres."""

    n_fft: int = 256
    hop_length: int = 20
    n_mels: int = 32
    f_min: float = 20.0
    f_max: float = 450.0
    eps: float = 1e-10

    def __post_init__(self) -> None:
        for name in ("n_fft", "hop_length", "n_mels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.f_min, self.f_max, self.eps = float(self.f_min), float(self.f_max), float(self.eps)
        if not 0 <= self.f_min < self.f_max:
            raise ValueError(f"need 0 <= f_min < f_max, got {self.f_min}, {self.f_max}")

    def spectrogram(self, rate_hz: float) -> torchaudio.transforms.MelSpectrogram:
        """The torchaudio module this transform runs at a given sample rate."""
        return torchaudio.transforms.MelSpectrogram(
            sample_rate=rate_hz,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            n_mels=self.n_mels,
            f_min=self.f_min,
            f_max=self.f_max,
        )

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.emg is None:
            return sample
        values, rate = _signal(sample), sample.emg.rate_hz
        if self.f_max > rate / 2:
            raise sample_error(sample, "emg", f"f_max {self.f_max} is above Nyquist ({rate / 2})")
        if len(values) <= self.n_fft // 2:
            raise sample_error(sample, "emg", f"{len(values)} samples, need > {self.n_fft // 2}")
        x = torch.from_numpy(np.ascontiguousarray(values.T, dtype=np.float32))
        with torch.no_grad():
            mel = self.spectrogram(rate)(x)  # (C, n_mels, frames), frame k centred on k * hop
        logmel = rearrange(torch.log(mel + self.eps), "c m f -> f c m").numpy()
        times = sample.emg.times[0] + np.arange(len(logmel)) * self.hop_length / rate
        series = TimeSeries(logmel, times, rate / self.hop_length)
        return sample.replace(emg=series)


@register("emg.normalize")
@dataclass
class Normalize(Transform):
    """Per-channel z-score with the sample's own statistics, or the given `mean` / `std`."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    eps: float = 1e-6

    def __post_init__(self) -> None:
        self.mean, self.std = _floats("mean", self.mean), _floats("std", self.std)
        self.eps = float(self.eps)
        if (self.mean is None) != (self.std is None):
            raise ValueError("give both mean and std, or neither (then the sample's own)")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.emg is None:
            return sample
        values = _signal(sample)
        if self.mean is None:
            own = values.astype(np.float64)
            return _zscore(sample, own.mean(axis=0), own.std(axis=0), self.eps)
        return _zscore(sample, np.asarray(self.mean), np.asarray(self.std), self.eps)


def fit_channel_stats(samples: Iterable[Sample]) -> dict[str, ChannelStats]:
    """Per-subject, per-channel EMG mean and std over all the subject's samples (float64).

    Statistics are merged sample by sample (Chan et al.'s parallel update), so no subject's
    signals need to be held at once. Samples without EMG contribute nothing.
    """
    totals: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}  # subject -> (n, mean, M2)
    for sample in samples:
        if sample.emg is None:
            continue
        subject = sample.provenance.subject
        if subject is None:
            raise DataError(sample.key, "no subject to pool EMG statistics by", "provenance")
        x = _signal(sample).astype(np.float64)
        n_b, mean_b = len(x), x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        if subject not in totals:
            totals[subject] = (n_b, mean_b, m2_b)
            continue
        n_a, mean_a, m2_a = totals[subject]
        if len(mean_a) != len(mean_b):
            raise sample_error(
                sample,
                "emg",
                f"{len(mean_b)} channels, earlier {subject} samples had {len(mean_a)}",
            )
        n = n_a + n_b
        delta = mean_b - mean_a
        totals[subject] = (n, mean_a + delta * n_b / n, m2_a + m2_b + delta**2 * n_a * n_b / n)
    return {subject: (mean, np.sqrt(m2 / n)) for subject, (n, mean, m2) in totals.items()}


def _stats_entry(subject: str, entry: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) from a pair or a {"mean": ..., "std": ...} mapping."""
    pair = (entry.get("mean"), entry.get("std")) if isinstance(entry, Mapping) else entry
    if len(pair) != 2 or pair[0] is None or pair[1] is None or len(pair[0]) != len(pair[1]):
        raise ValueError(f"stats for subject {subject!r} must be (mean, std) of equal length")
    return _floats("mean", pair[0]), _floats("std", pair[1])


@register("emg.subject_normalize")
@dataclass
class SubjectNormalize(Transform):
    """Per-channel z-score with the subject's statistics (a `fit_channel_stats` table)."""

    stats: dict[str, Any] = field(default_factory=dict)
    eps: float = 1e-6

    def __post_init__(self) -> None:
        self.stats = {str(s): _stats_entry(s, e) for s, e in sorted(self.stats.items())}
        self.eps = float(self.eps)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.emg is None:
            return sample
        subject = sample.provenance.subject
        if subject not in self.stats:
            raise sample_error(
                sample,
                "emg",
                f"no EMG statistics for subject {subject!r} ({len(self.stats)} fitted)",
            )
        mean, std = self.stats[subject]
        return _zscore(sample, np.asarray(mean), np.asarray(std), self.eps)
