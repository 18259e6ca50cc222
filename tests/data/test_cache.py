"""The memory-mapped cache: round trip, reuse, invalidation, skipping, atomicity."""

from __future__ import annotations

import multiprocessing
import os
import time

import numpy as np
import pytest

from fusion.data.cache import CacheBuild, CacheStore, cache_key, dataset_fingerprint, ensure_cache
from fusion.data.sample import (
    DataError,
    ErrorLabel,
    Labels,
    Phase,
    Provenance,
    Sample,
    SampleInfo,
    TimeSeries,
)


def fake_sample(i: int, views: tuple[int, ...] = (1, 2)) -> Sample:
    """A sample whose values encode its index, with a length that varies per sample."""
    rng = np.random.default_rng(i)
    n_frames = 20 + i
    video = rng.integers(0, 255, (n_frames, len(views), 8, 8, 3), dtype=np.uint8)
    labels = Labels(
        action="A01",
        score=50.0 + i,
        errors=(ErrorLabel("knees_inward", (0.5, 1.0), "A01-ET1", "left", 0.5),),
        labelled_errors=("knees_inward", "knees_forward"),
        phases=(Phase("eccentric", 0.1, 0.9),),
        skill="novice",
        feedback=("push the knees out",),
    )
    return Sample(
        key=f"A01/{i:03d}",
        labels=labels,
        provenance=Provenance("flex", "/data", f"A01/{i:03d}", f"S{i:02d}", views),
        video=TimeSeries.uniform(video, 10.0),
        pose=TimeSeries.uniform(rng.normal(size=(n_frames, 21, 3)).astype(np.float32), 10.0),
        emg=TimeSeries.uniform(rng.normal(size=(200 * n_frames, 4)).astype(np.float32), 2000.0),
        emg_channels=("a_left", "b_left", "a_right", "b_right"),
    )


def infos(n: int) -> list[SampleInfo]:
    return [SampleInfo(f"A01/{i:03d}", "flex", "A01", f"S{i:02d}", (1, 2)) for i in range(n)]


def identity(sample: Sample, rng: np.random.Generator) -> Sample:
    return sample


def reader(info: SampleInfo) -> Sample:
    return fake_sample(int(info.key[-3:]))


def build(n: int = 4, **kwargs) -> CacheBuild:
    options = {"frames": 6, "view_ids": (1, 2), "progress": False}
    options.update(kwargs)
    return CacheBuild(infos(n), options.pop("read", reader), identity, **options)


def test_round_trip_equals_the_aligned_sample(tmp_path):
    folder = ensure_cache(tmp_path, "k1", build())
    store = CacheStore(folder)
    assert len(store) == 4 and store.keys == [f"A01/{i:03d}" for i in range(4)]
    for i in range(4):
        original = fake_sample(i)
        got = store.sample(i)
        grid = np.minimum(((np.arange(6) + 0.5) * (20 + i) / 6).astype(int), 19 + i)
        assert np.array_equal(got.video.values, original.video.values[grid])
        assert np.allclose(got.video.times, original.video.times[grid])
        assert np.allclose(got.pose.values, original.pose.values, atol=2e-3)
        assert got.emg.values.shape == original.emg.values.shape
        assert np.allclose(got.emg.values, original.emg.values, atol=5e-3, rtol=1e-3)
        assert np.allclose(got.emg.times, original.emg.times)
        assert got.labels == original.labels
        assert got.provenance == original.provenance
        assert got.emg_channels == original.emg_channels
        assert got.physio is None


def test_frames_and_views_are_selected(tmp_path):
    store = CacheStore(ensure_cache(tmp_path, "k", build()))
    full = store.sample(2)
    part = store.sample(2, frame_rows=np.array([0, 3]), views=[2])
    assert np.array_equal(part.video.values, full.video.values[[0, 3]][:, [1]])
    assert store.view_mask(2, [2]).tolist() == [True]


def test_missing_view_is_masked_not_invented(tmp_path):
    def one_view(info: SampleInfo) -> Sample:
        i = int(info.key[-3:])
        return fake_sample(i, views=(2,) if i == 1 else (1, 2))

    store = CacheStore(ensure_cache(tmp_path, "k", build(read=one_view)))
    assert store.view_mask(1).tolist() == [False, True]
    assert store.view_mask(0).tolist() == [True, True]
    assert not store.sample(1).video.values[:, 0].any()


def test_existing_cache_is_reused_without_reading(tmp_path):
    ensure_cache(tmp_path, "k", build())

    def fail(info: SampleInfo) -> Sample:
        raise AssertionError("the cache was rebuilt")

    folder = ensure_cache(tmp_path, "k", build(read=fail))
    assert len(CacheStore(folder)) == 4


def test_key_changes_with_settings_and_dataset(tmp_path):
    base = {"dataset": "abc", "frames": 16, "preprocess": [{"name": "video.resize", "size": 64}]}
    assert cache_key(base) == cache_key(dict(base))
    assert cache_key(base) != cache_key({**base, "frames": 8})
    assert cache_key(base) != cache_key({**base, "preprocess": []})
    (tmp_path / "a.csv").write_text("1,2\n")
    first = dataset_fingerprint(tmp_path)
    (tmp_path / "a.csv").write_text("1,2,3\n")
    assert dataset_fingerprint(tmp_path) != first


def test_bad_sample_raises_and_leaves_nothing(tmp_path):
    def broken(info: SampleInfo) -> Sample:
        if info.key.endswith("002"):
            raise DataError("EMG/A01/002/EMG.csv", "NaN in column 3", "row 17")
        return reader(info)

    with pytest.raises(DataError, match="EMG.csv: row 17: NaN"):
        ensure_cache(tmp_path, "k", build(read=broken))
    assert [p.name for p in tmp_path.iterdir()] == [".k.lock"]


def test_skip_mode_leaves_bad_samples_out_and_records_them(tmp_path):
    def broken(info: SampleInfo) -> Sample:
        if info.key.endswith("002"):
            raise DataError("EMG/A01/002/EMG.csv", "NaN in column 3", "row 17")
        return reader(info)

    store = CacheStore(ensure_cache(tmp_path, "k", build(read=broken, skip_bad=True)))
    assert store.keys == ["A01/000", "A01/001", "A01/003"]
    assert store.skipped[0]["key"] == "A01/002" and "NaN" in store.skipped[0]["error"]
    assert store.sample(2).key == "A01/003"


def test_parallel_build_gives_the_same_arrays(tmp_path):
    one = CacheStore(ensure_cache(tmp_path / "a", "k", build()))
    two = CacheStore(ensure_cache(tmp_path / "b", "k", build(workers=2)))
    for i in range(4):
        assert np.array_equal(one.sample(i).video.values, two.sample(i).video.values)
        assert np.array_equal(one.sample(i).emg.values, two.sample(i).emg.values)


def test_inconsistent_features_are_refused(tmp_path):
    def ragged(info: SampleInfo) -> Sample:
        sample = reader(info)
        if info.key.endswith("001"):
            return sample.replace(emg=sample.emg.with_values(sample.emg.values[:, :3]))
        return sample

    with pytest.raises(DataError, match=r"expected \(4,\)"):
        ensure_cache(tmp_path, "k", build(read=ragged))


def test_concurrent_builders_build_once(tmp_path):
    """Two processes asking for the same cache: one builds, the other waits and reuses it."""
    log = tmp_path / "reads.log"

    def logged(info: SampleInfo) -> Sample:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()} {info.key}\n")
        time.sleep(0.05)
        return reader(info)

    def worker() -> None:
        ensure_cache(tmp_path / "cache", "k", build(read=logged))

    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=worker) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0, 0]
    reads = log.read_text().splitlines()
    assert len(reads) == 4 and len({line.split()[0] for line in reads}) == 1
    assert len(CacheStore(tmp_path / "cache" / "k")) == 4
