"""The Video->EMG DataModule: the AQA pipeline's batches with envelope targets instead of labels.

Readers, cache, splits and clips are the same as for AQA; only the targets differ. `setup` fits
each subject's envelope scales over every sample the source holds (all parts: the scale is a
property of the recording, like an MVC trial, not something learned), then every item carries
`envelope`, `envelope_times`, `envelope_mask` after collation, `contribution` and `action`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from omegaconf import DictConfig

from fusion.data.config import DataConfig, EnvelopeConfig
from fusion.data.datamodule import FusionDataModule
from fusion.data.envelope import EnvelopeClock, EnvelopeTargets, fit_envelope_scales
from fusion.data.sample import Sample


class Video2EMGDataModule(FusionDataModule):
    """Batches of the input modalities with the normalised EMG envelope as the target."""

    def __init__(
        self,
        config: DataConfig | Mapping | DictConfig | None = None,
        envelope: EnvelopeConfig | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__(config, progress=progress)
        self.envelope = envelope or EnvelopeConfig()
        self.clock = EnvelopeClock(
            rate_hz=self.envelope.rate_hz,
            window_s=self.envelope.window_s,
            kind=self.envelope.kind,
            fallback_rate_hz=self.config.reader.video_fps,
        )
        self.targets = EnvelopeTargets(self.clock)

    def setup(self, stage: str | None = None) -> None:
        if self.split is not None:
            return
        super().setup(stage)
        if self.envelope.percentile is not None:
            scales = fit_envelope_scales(self._signals(), self.clock, self.envelope.percentile)
            self.targets = EnvelopeTargets(self.clock, scales)

    def _signals(self) -> Iterator[Sample]:
        """Every sample of the source without its frames, after the per-sample transforms."""
        rng = np.random.default_rng(0)
        for i in range(len(self.source)):
            sample = self.source.sample(i, np.zeros(1, np.int64), ())
            yield self.transform(sample, rng) if self.transform is not None else sample

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["envelope"] = {
            "rate_hz": self.envelope.rate_hz or "video",
            "kind": self.envelope.kind,
            "subjects_scaled": len(self.targets.scales),
        }
        return info
