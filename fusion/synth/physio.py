"""Synthetic heart rate and respiration rate for one repetition, driven by effort and breathing.

HR = resting + set-level drift (grows over the set, less for fit subjects) + a first-order lagged
response to effort + a Valsalva rise during breath holds + respiratory sinus arrhythmia + noise.
RR = resting + set drift + lagged effort response, collapsing towards 0 while the breath is held
and overshooting briefly after release. Breath holding is therefore visible in physio alone.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

PHYSIO_RATE_HZ: int = 10

HR_RANGE: tuple[float, float] = (50.0, 190.0)
RR_RANGE: tuple[float, float] = (0.0, 45.0)
# Rise over a full set (bpm / breaths per min) for an unfit subject; fitness removes up to 60%.
HR_SET_RISE: float = 30.0
RR_SET_RISE: float = 8.0
# Steady-state rise at sustained effort 1 and the response time constants (s).
HR_EFFORT_GAIN: float = 40.0
RR_EFFORT_GAIN: float = 14.0
HR_TAU_S: float = 3.0
RR_TAU_S: float = 4.0
FITNESS_DAMPING: float = 0.6
# Breath hold: RR collapse (fraction, fast lag), post-hold overshoot, Valsalva HR rise.
HOLD_RR_DROP: float = 0.95
HOLD_FAST_TAU_S: float = 0.3
HOLD_SLOW_TAU_S: float = 3.0
HOLD_RR_OVERSHOOT: float = 6.0
VALSALVA_HR_RISE: float = 8.0
VALSALVA_TAU_S: float = 1.5
# Respiratory sinus arrhythmia amplitude (bpm) and measurement noise (std).
RSA_BPM: float = 1.5
HR_NOISE_BPM: float = 0.6
RR_NOISE_BPM: float = 0.4


def _lag(u: np.ndarray, tau_s: float, rate_hz: float) -> np.ndarray:
    """First-order lag y' = (u - y) / tau from y(0) = 0, discretised exactly at `rate_hz`."""
    alpha = 1.0 - np.exp(-1.0 / (tau_s * rate_hz))
    return lfilter([alpha], [1.0, alpha - 1.0], u)


def _on_grid(t: np.ndarray, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linearly resample a video-timeline series onto the physio timeline `t`."""
    return np.interp(t, np.asarray(times, dtype=np.float64), np.asarray(values, dtype=np.float64))


def _breathing_phase(rr_bpm: np.ndarray, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Breathing phase (rad) integrated from the instantaneous rate, random starting phase."""
    return rng.uniform(0.0, 2.0 * np.pi) + 2.0 * np.pi * np.cumsum(rr_bpm / 60.0) / rate_hz


def synthesize_physio(
    times: np.ndarray,
    effort: np.ndarray,
    duration_s: float,
    rng: np.random.Generator,
    *,
    resting_hr: float,
    resting_rr: float,
    fitness: float,
    set_progress: float,
    breath_hold: np.ndarray | None = None,
    rate_hz: int = PHYSIO_RATE_HZ,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate (time_s, hr_bpm, rr_bpm), each (M,) float32 at `rate_hz`, for one repetition."""
    m = int(np.floor(duration_s * rate_hz)) + 1
    t = np.arange(m) / rate_hz
    damping = 1.0 - FITNESS_DAMPING * float(np.clip(fitness, 0.0, 1.0))
    progress = float(np.clip(set_progress, 0.0, 1.0))
    drive = np.clip(_on_grid(t, times, effort), 0.0, 1.0)
    hold = np.zeros(m) if breath_hold is None else _on_grid(t, times, breath_hold.astype(float))
    fast = _lag(hold, HOLD_FAST_TAU_S, rate_hz)
    slow = _lag(hold, HOLD_SLOW_TAU_S, rate_hz)

    rr = resting_rr + damping * (
        RR_SET_RISE * progress + RR_EFFORT_GAIN * _lag(drive, RR_TAU_S, rate_hz)
    )
    rr = rr * (1.0 - HOLD_RR_DROP * fast) + HOLD_RR_OVERSHOOT * np.maximum(slow - fast, 0.0)
    rr = rr + RR_NOISE_BPM * rng.standard_normal(m) * (1.0 - fast)

    hr = resting_hr + damping * (
        HR_SET_RISE * progress + HR_EFFORT_GAIN * _lag(drive, HR_TAU_S, rate_hz)
    )
    hr = hr + VALSALVA_HR_RISE * _lag(hold, VALSALVA_TAU_S, rate_hz)
    rsa = RSA_BPM * (1.0 - fast) * np.sin(_breathing_phase(rr, rate_hz, rng))
    hr = hr + rsa + HR_NOISE_BPM * rng.standard_normal(m)

    return (
        t.astype(np.float32),
        np.clip(hr, *HR_RANGE).astype(np.float32),
        np.clip(rr, *RR_RANGE).astype(np.float32),
    )
