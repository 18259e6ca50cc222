"""Clip datasets over the cache and the padding collate."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fusion.data.cache import CacheStore, ensure_cache
from fusion.data.dataset import ClipDataset, Entry, LiveSource, collate
from fusion.data.sample import DataError, Sample
from fusion.data.targets import TargetEncoder
from fusion.fkg.loader import load_fkg

from .test_cache import build, fake_sample, identity, infos, reader


@pytest.fixture(scope="module")
def targets() -> TargetEncoder:
    return TargetEncoder(load_fkg())


@pytest.fixture()
def store(tmp_path) -> CacheStore:
    return CacheStore(ensure_cache(tmp_path, "k", build()))


def test_items_have_clip_frames_times_and_targets(store, targets):
    data = ClipDataset(store, [Entry(1)], targets, frames=3)
    item = data[0]
    assert item["video"].shape == (2, 3, 8, 8, 3) and item["video"].dtype == torch.uint8
    full = store.sample(1)
    rows = [1, 3, 5]  # centres of 3 segments of the 6 cached frames
    expected = torch.from_numpy(full.video.values[rows]).permute(1, 0, 2, 3, 4)
    assert torch.equal(item["video"], expected)
    assert item["emg"].dtype == torch.float16
    assert torch.allclose(item["video_times"], torch.tensor(full.video.times[rows]).float())
    assert item["video_mask"].tolist() == [True, True]
    assert item["emg"].shape == (len(full.emg.values), 4)
    assert item["score"] == 51.0 and item["errors"].sum() == 1.0


def test_items_carry_the_whole_repetitions_duration_through_the_cache(store, targets):
    # fake sample i has 20 + i video frames at 10 Hz; a 3-frame clip keeps the whole length
    data = ClipDataset(store, [Entry(1), Entry(3)], targets, frames=3)
    assert [data[0]["duration"], data[1]["duration"]] == pytest.approx([2.1, 2.3])
    assert collate([data[0], data[1]])["duration"].tolist() == pytest.approx([2.1, 2.3])


def test_test_clips_differ_and_training_jitters(store, targets):
    data = ClipDataset(store, [Entry(0, clip=0), Entry(0, clip=1)], targets, frames=3, clips=2)
    assert not torch.equal(data[0]["video_times"], data[1]["video_times"])
    train = ClipDataset(store, [Entry(0)] * 20, targets, frames=3, train=True)
    torch.manual_seed(0)
    seen = {tuple(train[i]["video_times"].tolist()) for i in range(20)}
    assert len(seen) > 1


def test_collate_pads_signals_and_masks_them(store, targets):
    data = ClipDataset(store, [Entry(0), Entry(3)], targets, frames=3)
    batch = collate([data[0], data[1]])
    n0, n3 = len(store.sample(0).emg.values), len(store.sample(3).emg.values)
    assert batch["emg"].shape == (2, n3, 4)
    assert batch["emg_mask"].sum(1).tolist() == [n0, n3]
    assert not batch["emg"][0, n0:].any()
    assert batch["video"].shape == (2, 2, 3, 8, 8, 3)
    assert batch["errors_mask"].shape == (2, targets.max_errors)
    assert batch["key"] == ["A01/000", "A01/003"]
    assert batch["skipped"] == 0 and "physio" not in batch


def test_collate_fills_a_modality_missing_in_one_item(store, targets):
    data = ClipDataset(store, [Entry(0), Entry(1)], targets, frames=3)
    first, second = data[0], data[1]
    for key in ("pose", "pose_times"):
        del second[key]
    batch = collate([first, second])
    assert batch["pose_mask"][1].sum() == 0 and not batch["pose"][1].any()
    assert batch["pose_mask"][0].all()


def test_skip_mode_returns_none_and_collate_counts_it(tmp_path, targets):
    def broken(info):
        raise DataError("EMG.csv", "NaN", "row 3")

    source = LiveSource(infos(2), broken, identity, 6, (1, 2))
    data = ClipDataset(source, [Entry(0)], targets, frames=3, skip_bad=True)
    assert data[0] is None
    good = ClipDataset(LiveSource(infos(2), reader, identity, 6, (1, 2)), [Entry(1)], targets,
                       frames=3)  # fmt: skip
    batch = collate([None, good[0]])
    assert batch["skipped"] == 1 and len(batch["key"]) == 1
    with pytest.raises(DataError, match="row 3"):
        ClipDataset(source, [Entry(0)], targets, frames=3)[0]


def test_live_and_cached_items_agree(store, targets):
    live = LiveSource(infos(4), reader, identity, 6, (1, 2))
    a = ClipDataset(store, [Entry(2)], targets, frames=3)[0]
    b = ClipDataset(live, [Entry(2)], targets, frames=3)[0]
    assert torch.equal(a["video"], b["video"])
    assert torch.allclose(a["emg"].float(), b["emg"], atol=5e-3, rtol=1e-3)


def test_flip_entry_calls_the_flip(store, targets):
    def mark(sample: Sample, rng: np.random.Generator) -> Sample:
        return sample.replace(video=sample.video.with_values(255 - sample.video.values))

    plain = ClipDataset(store, [Entry(0)], targets, frames=3)[0]
    flipped = ClipDataset(store, [Entry(0, flip=True)], targets, frames=3, flip=mark)[0]
    assert torch.equal(flipped["video"], 255 - plain["video"])
    assert flipped["flipped"] and not plain["flipped"]


def test_fake_sample_is_deterministic():
    assert np.array_equal(fake_sample(3).emg.values, fake_sample(3).emg.values)


def test_live_source_masks_a_view_the_sample_lacks(targets):
    def one_view(info):
        return fake_sample(int(info.key[-3:]), views=(2,))

    listed = [dataclasses.replace(info, views=(2,)) for info in infos(2)]
    source = LiveSource(listed, one_view, identity, 6, (1, 2))
    item = ClipDataset(source, [Entry(0)], targets, frames=3)[0]
    assert item["video_mask"].tolist() == [False, True]
    assert not item["video"][0].any() and item["video"][1].any()


def test_collate_pads_a_timed_target_and_masks_it(store):
    def envelope_target(sample: Sample) -> dict:
        rows = 3 + int(sample.key[-1])  # a different length per sample
        return {
            "envelope": torch.ones(rows, 2),
            "envelope_times": torch.arange(rows, dtype=torch.float32),
            "action": sample.labels.action,
        }

    data = ClipDataset(store, [Entry(0), Entry(3)], envelope_target, frames=3)
    batch = collate([data[0], data[1]])
    assert batch["envelope"].shape == (2, 6, 2)
    assert batch["envelope_mask"].sum(1).tolist() == [3, 6]
    assert not batch["envelope"][0, 3:].any() and batch["envelope_times"][1, 5] == 5.0
    assert batch["action"] == [data[0]["action"], data[1]["action"]]


def test_items_can_leave_out_modalities_the_targets_still_see(store):
    seen = {}

    def target(sample: Sample) -> dict:
        seen["emg"] = sample.emg is not None
        return {"n": 1}

    item = ClipDataset(store, [Entry(0)], target, frames=3, modalities=("pose",))[0]
    assert seen["emg"] and "pose" in item
    assert not {"video", "video_mask", "emg", "emg_times"} & set(item)
