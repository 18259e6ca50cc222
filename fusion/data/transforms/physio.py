"""Physiological transforms on (T, 2) [hr_bpm, rr_bpm] series."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.data.sample import Sample
from fusion.data.transforms.base import Transform, register, sample_error


def _pair(name: str, values: tuple[float, float]) -> tuple[float, float]:
    pair = tuple(float(v) for v in values)
    if len(pair) != 2:
        raise ValueError(f"{name} needs [hr, rr], got {values!r}")
    return pair


@register("physio.normalize")
@dataclass
class Normalize(Transform):
    """(x - baseline) / spread per column; defaults: resting HR 70 sd 15 bpm, RR 15 sd 5 bpm."""

    mean: tuple[float, float] = (70.0, 15.0)
    std: tuple[float, float] = (15.0, 5.0)

    def __post_init__(self) -> None:
        self.mean, self.std = _pair("mean", self.mean), _pair("std", self.std)
        if min(self.std) <= 0:
            raise ValueError(f"std must be > 0, got {self.std}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.physio is None:
            return sample
        values = sample.physio.values
        if values.ndim != 2 or values.shape[1] != 2:
            raise sample_error(sample, "physio", f"expected (T, 2) hr/rr, got {values.shape}")
        out = (values - np.asarray(self.mean)) / np.asarray(self.std)
        return sample.replace(physio=sample.physio.with_values(out.astype(np.float32)))
