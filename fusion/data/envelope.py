"""Video->EMG targets: the sEMG envelope on a fixed clock, normalised per subject and channel,
and FLEX's clip-level left/right contribution per muscle pair.

The envelope is the moving RMS of the (band-passed) signal, sampled every 1/rate_hz seconds
over the repetition; `rate_hz` None means the sample's own video frame rate, so there is one
target row per frame the camera took. Each channel is divided by that subject's
`percentile`-th envelope value over all their repetitions (an MVC-style scale, so 1 is "as hard
as this subject ever works this muscle" whatever the electrode gain). The contribution is what
FLEX's loader computes: peak |x| of the left channel over (peak left + peak right), on the signal
itself rather than the envelope.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from fusion.data.sample import DataError, Sample, TimeSeries
from fusion.data.skeletons import swap_side_tokens
from fusion.data.transforms.emg import moving_rms

# What the envelope is timed by, first one present: the EMG itself, else the other signals.
TIMED = ("emg", "pose", "physio", "video")

EMG_KINDS: tuple[str, ...] = ("signal", "envelope")


def muscle_pairs(channels: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """(left, right) channel indices of every pair named `<muscle>_left` / `<muscle>_right`.

    Pairs are ordered by their left channel; a channel without a side token is in none.
    """
    pairs = []
    for i, name in enumerate(channels):
        parts = name.split("_")
        if "left" not in parts and "l" not in parts:
            continue
        partner = swap_side_tokens(name)
        if partner in channels:
            pairs.append((i, list(channels).index(partner)))
    return tuple(pairs)


def contribution(values: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """(P,) left share of each pair's peak |x| (FLEX's L / (L + R)); 0.5 where both are silent."""
    peaks = np.abs(np.asarray(values, np.float64)).max(axis=0)
    left = peaks[[p[0] for p in pairs]]
    right = peaks[[p[1] for p in pairs]]
    total = left + right
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, left / safe, 0.5).astype(np.float32)


@dataclass(frozen=True)
class EnvelopeClock:
    """How the envelope is made: output rate (None = the video's), RMS window (None = two
    output periods) and input kind.

    kind `signal`: the EMG is a raw or band-passed signal, enveloped here; `envelope`: the files
    already hold an envelope (Muscles in Action), which is only resampled.
    """

    rate_hz: float | None = None
    window_s: float | None = None
    kind: str = "signal"
    fallback_rate_hz: float = 30.0

    def __post_init__(self) -> None:
        if self.kind not in EMG_KINDS:
            raise ValueError(f"emg kind {self.kind!r}: expected one of {', '.join(EMG_KINDS)}")
        if self.rate_hz is not None and self.rate_hz <= 0:
            raise ValueError(f"envelope rate_hz must be > 0 or null, got {self.rate_hz}")
        if self.window_s is not None and self.window_s <= 0:
            raise ValueError(f"envelope window_s must be > 0 or null, got {self.window_s}")

    def window(self, rate_hz: float) -> float:
        """The RMS window: the configured one, else two output periods, so that every signal
        sample between two output rows is in the envelope (no aliasing of the RMS ripple)."""
        return self.window_s if self.window_s is not None else 2.0 / rate_hz

    def rate(self, sample: Sample) -> float:
        """The output rate for a sample: the configured one, else its video's (or pose's)."""
        if self.rate_hz is not None:
            return float(self.rate_hz)
        for name in ("video", "pose"):
            series = sample.modality(name)
            if series is not None:
                return float(series.rate_hz)
        return float(self.fallback_rate_hz)

    def times(self, sample: Sample) -> np.ndarray:
        """The envelope's times: every 1/rate seconds from the first to the last EMG row, or
        over the first signal the sample has when it has no EMG (a sample to predict for)."""
        series = next(
            (s for s in map(sample.modality, TIMED) if s is not None and len(s.times)), None
        )
        if series is None:
            raise DataError(sample.key, "has no signal to time a Video->EMG envelope by", "emg")
        rate = self.rate(sample)
        start, end = float(series.times[0]), float(series.times[-1])
        count = int(np.floor((end - start) * rate + 1e-9)) + 1
        return start + np.arange(count) / rate

    def envelope(self, sample: Sample) -> TimeSeries:
        """(T, C) envelope of the sample's EMG every 1/rate seconds from its first EMG row."""
        emg = sample.emg
        if emg is None:
            raise DataError(sample.key, "has no EMG to make a Video->EMG target from", "emg")
        if emg.values.ndim != 2 or len(emg.values) == 0:
            raise DataError(sample.key, f"expected EMG (T, C), got {emg.values.shape}", "emg")
        values = emg.values.astype(np.float64)
        rate = self.rate(sample)
        if self.kind == "signal":
            values = moving_rms(values, emg.rate_hz, self.window(rate))
        times = self.times(sample)
        out = np.stack([np.interp(times, emg.times, column) for column in values.T], axis=1)
        return TimeSeries(out.astype(np.float32), times, rate)


def fit_envelope_scales(
    samples: Iterable[Sample], clock: EnvelopeClock, percentile: float = 99.0
) -> dict[str, np.ndarray]:
    """Per subject, the `percentile`-th envelope value of each channel over all its samples."""
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    rows: dict[str, list[np.ndarray]] = defaultdict(list)
    for sample in samples:
        if sample.emg is None:
            continue
        subject = sample.provenance.subject
        if subject is None:
            raise DataError(sample.key, "no subject to normalise the EMG envelope by", "subject")
        values = clock.envelope(sample).values
        if rows[subject] and rows[subject][0].shape[1] != values.shape[1]:
            raise DataError(
                sample.key,
                f"{values.shape[1]} EMG channels, earlier {subject} samples had "
                f"{rows[subject][0].shape[1]}",
                "emg",
            )
        rows[subject].append(values)
    return {s: np.percentile(np.concatenate(p), percentile, axis=0) for s, p in rows.items()}


@dataclass
class EnvelopeTargets:
    """Sample -> {envelope (T, C), envelope_times (T,) tensors, contribution (P,), action}.

    `scales` maps subject -> per-channel divisor (`fit_envelope_scales`); empty = no scaling.
    Targets are remembered by sample key, output rate and a digest of the EMG bytes, so an
    epoch after the first makes no envelope again unless an augmentation changed the EMG
    (the RMS of 2 kHz EMG is most of an item's time for a pose model).
    """

    clock: EnvelopeClock
    scales: Mapping[str, np.ndarray] = field(default_factory=dict)
    eps: float = 1e-8
    memo_limit: int = 4096
    _memo: dict[tuple, dict[str, object]] = field(default_factory=dict, repr=False)

    def __call__(self, sample: Sample) -> dict[str, object]:
        emg = sample.emg
        if emg is None:
            return self._make(sample)  # raises the clock's clear error
        digest = hashlib.blake2b(np.ascontiguousarray(emg.values).tobytes(), digest_size=16)
        key = (sample.key, self.clock.rate(sample), float(emg.times[0]), digest.hexdigest())
        if key not in self._memo:
            targets = self._make(sample)
            if len(self._memo) >= self.memo_limit:
                return targets
            self._memo[key] = targets
        return dict(self._memo[key])

    def _make(self, sample: Sample) -> dict[str, object]:
        envelope = self.clock.envelope(sample)
        values = envelope.values
        if self.scales:
            subject = sample.provenance.subject
            if subject not in self.scales:
                raise DataError(
                    sample.key,
                    f"no envelope scale for subject {subject!r} ({len(self.scales)} fitted)",
                    "subject",
                )
            values = values / np.maximum(self.scales[subject], self.eps).astype(np.float32)
        pairs = muscle_pairs(sample.emg_channels)
        return {
            "envelope": torch.from_numpy(values.astype(np.float32)),
            "envelope_times": torch.from_numpy(envelope.times.astype(np.float32)),
            "contribution": contribution(sample.emg.values, pairs),
            "action": sample.labels.action,
        }
