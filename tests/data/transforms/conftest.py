"""Small hand-made samples for the transform tests (no generator needed)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from fusion.constants import EMG_CHANNELS
from fusion.data.sample import ErrorLabel, Labels, Phase, Provenance, Sample, TimeSeries

FRAMES, VIEWS, HEIGHT, WIDTH = 6, 2, 12, 16
EMG_RATE = 2000.0


def _sample(
    seed: int = 0,
    subject: str = "S01",
    modalities: tuple[str, ...] = ("video", "pose", "emg", "physio"),
    emg_rows: int = 800,
) -> Sample:
    """A 0.6 s repetition: random frames, joints, EMG and HR/RR, with sided error labels."""
    rng = np.random.default_rng(seed)
    video = rng.integers(0, 256, (FRAMES, VIEWS, HEIGHT, WIDTH, 3), dtype=np.uint8)
    pose = rng.normal(0.0, 0.3, (FRAMES, 21, 3)) + np.array([0.0, 1.0, 0.0])
    emg = rng.normal(0.0, 0.1, (emg_rows, len(EMG_CHANNELS))).astype(np.float32)
    physio = np.column_stack([rng.normal(80, 5, FRAMES), rng.normal(16, 2, FRAMES)])
    series = {
        "video": TimeSeries.uniform(video, 10.0),
        "pose": TimeSeries.uniform(pose, 10.0),
        "emg": TimeSeries.uniform(emg, EMG_RATE),
        "physio": TimeSeries.uniform(physio.astype(np.float32), 10.0),
    }
    labels = Labels(
        action="A01",
        score=72.5,
        errors=(
            ErrorLabel("knees_inward", (0.1, 0.3), "A01-ET1", "both", 0.4),
            ErrorLabel("left_elbow_flare", (0.2, 0.5), "A05-ET3", "left", 0.7),
            ErrorLabel("uneven_drive", None, "A03-ET6", "right"),
        ),
        labelled_errors=("knees_inward", "left_elbow_flare", "uneven_drive", "knees_forward"),
        phases=(Phase("preparation", 0.0, 0.2), Phase("eccentric", 0.2, 0.6)),
        skill="novice",
        feedback=("Push the knees out.",),
    )
    provenance = Provenance("flex", "/data", f"A01/{seed:03d}", subject, (1, 2), {})
    return Sample(
        key=provenance.key,
        labels=labels,
        provenance=provenance,
        emg_channels=EMG_CHANNELS,
        **{m: series[m] for m in modalities},
    )


@pytest.fixture()
def make_sample() -> Callable[..., Sample]:
    """Factory: make_sample(seed=0, subject="S01", modalities=(...), emg_rows=800)."""
    return _sample
