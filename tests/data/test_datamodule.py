"""The DataModule end to end on generated datasets: batches, masks, splits, balancing, Trainer."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from fusion.data.callbacks import SkippedSamples
from fusion.data.datamodule import FusionDataModule, data_config

SMALL = Path(__file__).resolve().parents[2] / "configs" / "data" / "small.yaml"


def module(root: Path, tmp_path: Path, **overrides) -> FusionDataModule:
    config = OmegaConf.merge(
        OmegaConf.load(SMALL),
        {
            "reader": {"root": str(root)},
            "cache": {"dir": str(tmp_path / "cache"), "workers": 1},
            "loader": {"batch_size": 4, "num_workers": 0},
            "split": {"protocol": "random"},
        },
        overrides,
    )
    return FusionDataModule(config, progress=False)


def test_batches_hold_every_modality_with_masks_and_targets(flex_root, tmp_path):
    dm = module(flex_root, tmp_path)
    dm.prepare_data()
    dm.setup()
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    frames = dm.config.clip.frames
    assert batch["video"].shape == (4, 5, frames, 3, 96, 96)  # person crops (small.yaml)
    assert batch["video"].dtype == torch.float32
    assert batch["video_mask"].all() and batch["video_times"].shape == (4, frames)
    assert batch["pose"].shape[2:] == (21, 3) and batch["pose_mask"].any(1).all()
    assert batch["emg"].shape[2] == 16 and batch["emg"].dtype == torch.float32
    rows = batch["emg_mask"].sum(1)
    durations = batch["emg_times"].gather(1, (rows - 1)[:, None])[:, 0]
    assert torch.allclose(durations, (rows - 1).float() / 1000.0, atol=1e-4)
    assert batch["physio"].shape[2] == 2
    assert batch["score_mask"].all() and (batch["action"] == 0).all()
    assert batch["errors_mask"].any(1).all()


def test_the_cache_is_built_once_and_rebuilt_when_the_config_changes(flex_root, tmp_path):
    first = module(flex_root, tmp_path)
    first.setup()
    again = module(flex_root, tmp_path)
    assert again.cache_key() == first.cache_key()
    changed = module(flex_root, tmp_path, cache={"image_size": 32})
    assert changed.cache_key() != first.cache_key()
    changed.setup()
    folders = [p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]
    assert len(folders) == 2


def test_a_missing_modality_is_masked(flex_copy, tmp_path, caplog):
    shutil.rmtree(flex_copy / "Physio")
    dm = module(flex_copy, tmp_path)
    dm.setup()
    assert dm.reader.summary()["missing"] == {"physio": 12}
    assert "physio is missing for 12 samples" in caplog.text
    batch = next(iter(dm.train_dataloader()))
    assert "physio" not in batch and "physio_mask" not in batch
    assert "emg_mask" in batch and batch["video"].shape[0] == 4


def test_video_only_fitness_aqa_with_its_own_splits(faqa_root, tmp_path):
    dm = module(
        faqa_root, tmp_path, split={"protocol": "dataset"}, reader={"modalities": ["video"]}
    )
    dm.setup()
    counts = dm.split.describe()["counts"]
    assert sum(counts.values()) == 12 and counts["test"] > 0
    batch = next(iter(dm.test_dataloader()))
    assert batch["video"].shape[1] == 1 and "pose" not in batch
    assert batch["errors_mask"].sum(1).tolist() == [2] * len(batch["key"])
    assert len(batch["key"]) == len(set(batch["key"])) * 2  # two interleaved test clips


def test_part_targets_are_the_evaluation_items_targets_once_per_sample(faqa_root, tmp_path):
    dm = module(
        faqa_root, tmp_path, split={"protocol": "dataset"}, reader={"modalities": ["video"]}
    )
    for part in ("train", "test"):
        targets = dm.part_targets(part)
        items = {i["key"]: i for i in dm.dataset(part, evaluation=True)}  # clips share targets
        assert [t["action"] for t in targets] and len(targets) == len(items)
        for key, target in zip(getattr(dm.split, part), targets, strict=True):
            for name in ("action", "errors", "errors_mask", "error_spans"):
                assert np.array_equal(target[name], items[key][name], equal_nan=True), name


def test_cross_view_trains_and_tests_on_different_cameras(flex_root, tmp_path):
    dm = module(flex_root, tmp_path, split={"protocol": "cross-view", "test_views": [5]})
    dm.setup()
    train = next(iter(dm.train_dataloader()))
    test = next(iter(dm.test_dataloader()))
    assert train["video"].shape[1] == 4 and test["video"].shape[1] == 1


def test_clip_views_choose_cameras_from_the_same_cache(flex_root, tmp_path):
    every = module(flex_root, tmp_path)
    two = module(flex_root, tmp_path, clip={"views": [2, 4]})
    assert two.cache_key() == every.cache_key()
    every.setup()
    two.setup()
    full = next(iter(every.val_dataloader()))
    batch = next(iter(two.val_dataloader()))
    assert batch["video"].shape[1] == 2
    assert torch.equal(batch["video"], full["video"][:, [1, 3]])
    crossed = module(
        flex_root,
        tmp_path,
        clip={"views": [5]},
        split={"protocol": "cross-view", "test_views": [5]},
    )
    crossed.setup()
    assert next(iter(crossed.test_dataloader()))["video"].shape[1] == 1
    with pytest.raises(ValueError, match=r"data.clip.views: \[5\] leaves the train clips no view"):
        crossed.train_dataloader()
    with pytest.raises(ValueError, match=r"has views \[1, 2, 3, 4, 5\]"):
        module(flex_root, tmp_path, clip={"views": [9]}).val_dataloader()


def test_cross_subject_parts_share_no_subject(flex_root, tmp_path):
    dm = module(flex_root, tmp_path, split={"protocol": "cross-subject"})
    dm.setup()
    subjects = {
        part: {s for b in getattr(dm, f"{part}_dataloader")() for s in b["subject"]}
        for part in ("train", "test")
    }
    assert subjects["train"] and subjects["test"]
    assert not subjects["train"] & subjects["test"]


def test_unknown_keys_and_wrong_types_are_refused():
    with pytest.raises(ConfigKeyError, match="batchsize"):
        data_config({"loader": {"batchsize": 3}})
    with pytest.raises(ValidationError, match="frames"):
        data_config({"clip": {"frames": "many"}})


def test_bad_sample_stops_the_build_or_is_skipped_and_counted(flex_copy, tmp_path):
    (flex_copy / "EMG" / "A01" / "004" / "EMG.csv").write_text("1,2,3\n")
    strict = module(flex_copy, tmp_path)
    with pytest.raises(Exception, match="A01/004/EMG.csv"):
        strict.prepare_data()
    lenient = module(flex_copy, tmp_path, reader={"on_bad_sample": "skip"})
    lenient.setup()
    assert [s["key"] for s in lenient.skipped] == ["A01/004"]
    keys = {k for part in ("train", "val", "test") for k in getattr(lenient.split, part)}
    assert len(keys) == 11 and "A01/004" not in keys
    skipped = SkippedSamples()
    trainer(skipped).fit(ScoreModel(), datamodule=lenient)
    assert skipped.history == [{"epoch": 0, "cache": 1, "train": 0, "val": 0}]


class ScoreModel(pl.LightningModule):
    """Just enough of a model to run the DataModule under a Trainer."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(3, 1)
        self.train_sizes: list[int] = []

    def on_train_epoch_start(self) -> None:
        self.train_sizes.append(len(self.trainer.train_dataloader.dataset))

    def training_step(self, batch, batch_idx):
        pooled = batch["video"].mean(dim=(1, 2, 4, 5))
        return torch.nn.functional.mse_loss(self.layer(pooled)[:, 0], batch["score"] / 100)

    def validation_step(self, batch, batch_idx):
        return None

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def trainer(callback: pl.Callback, max_epochs: int = 1) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        reload_dataloaders_every_n_epochs=1,
        callbacks=[callback],
    )


def test_two_step_switches_to_the_balanced_subset_under_a_trainer(flex_root, tmp_path):
    dm = module(flex_root, tmp_path, balance="two-step", balance_from_epoch=1)
    model = ScoreModel()
    skipped = SkippedSamples()
    trainer(skipped, max_epochs=2).fit(model, datamodule=dm)
    dm.setup()
    train_infos = [i for i in dm.infos if i.key in set(dm.split.train)]
    combos = {(i.action, tuple(sorted(i.error_names))) for i in train_infos}
    smallest = min(
        sum((i.action, tuple(sorted(i.error_names))) == c for i in train_infos) for c in combos
    )
    assert model.train_sizes == [len(train_infos), 2 * smallest * len(combos)]
    assert [h["train"] for h in skipped.history] == [0, 0]
