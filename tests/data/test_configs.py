"""Every data config under configs/data/ builds a DataModule that yields a batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusion.config import CONFIG_ROOT, compose
from fusion.data.datamodule import FusionDataModule

ROOTS = {
    "small": "flex_root",
    "small_distill": "flex_root",
    "flex": "flex_root",
    "fitness_aqa": "faqa_root",
}


def test_every_data_config_is_covered():
    assert {p.stem for p in (CONFIG_ROOT / "data").glob("*.yaml")} == set(ROOTS)


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_data_config_yields_a_batch(name, request, tmp_path: Path):
    root = request.getfixturevalue(ROOTS[name])
    config = compose(
        None,
        [
            f"data={name}",
            f"data.reader.root={root}",
            f"data.cache.dir={tmp_path}",
            "data.cache.workers=1",
            "data.loader.num_workers=0",
            "data.loader.batch_size=2",
        ],
    )
    datamodule = FusionDataModule(config.data, progress=False)
    datamodule.setup()
    batch = datamodule.on_after_batch_transfer(next(iter(datamodule.train_dataloader())), 0)
    size = config.data.cache.image_size
    assert batch["video"].shape[-2:] == (size, size)
    assert batch["video"].shape[2] == config.data.clip.frames
