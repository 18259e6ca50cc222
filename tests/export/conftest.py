"""A tiny trained AQA run shared by the export tests (one short training per test session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion.config import compose
from fusion.train import train

# Every modality, small widths and few layers: a traced or exported graph grows with each
# layer and time bin, and torch.export's shape reasoning takes seconds per hundred nodes.
TINY_AQA = (
    "model.encoders.video.backbone=test_efficientnet",
    "model.encoders.video.dim=16",
    "model.encoders.pose.dim=16",
    "model.encoders.pose.layers=1",
    "model.encoders.emg.dim=16",
    "model.encoders.emg.layers=1",
    "model.encoders.physio.dim=8",
    "model.encoders.physio.layers=1",
    "model.dim=16",
    "model.fuser.layers=1",
    "model.fuser.heads=2",
    "model.head.hidden=16",
    "model.head.time_bins=4",
)


@pytest.fixture(scope="session")
def aqa_checkpoint(flex_root, short_run, tmp_path_factory) -> Path:
    """best.ckpt of a one-epoch, two-batch AQA run on the FLEX fixture (metrics.json beside)."""
    tmp = tmp_path_factory.mktemp("export-run")
    config = compose(
        None, [*short_run(flex_root, tmp), *TINY_AQA, "trainer.enable_model_summary=false"]
    )
    folder, _ = train(config)
    return folder / "checkpoints" / "best.ckpt"
