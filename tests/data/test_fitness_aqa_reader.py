"""FitnessAQAReader vs the generator: clips, spans, splits, the masked modalities, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fusion.data import fitness_aqa
from fusion.data.config import ReaderConfig
from fusion.data.fitness_aqa import FitnessAQAReader
from fusion.data.sample import DataError
from fusion.fkg.loader import load_fkg
from fusion.synth.encode import read_mp4

SQUAT_ERRORS = ("knees_forward", "knees_inward")


def reader(root: Path, **options) -> FitnessAQAReader:
    return FitnessAQAReader(ReaderConfig(root=str(root), **options))


def label_files(root: Path) -> dict[str, dict[str, list]]:
    return {
        p.stem.removeprefix("error_"): json.loads(p.read_text())
        for p in sorted((root / "Labels").glob("error_*.json"))
    }


def read_error(r: FitnessAQAReader, key: str) -> DataError:
    info = next(i for i in r.index() if i.key == key)
    with pytest.raises(DataError) as caught:
        r.read(info)
    return caught.value


def test_index_lists_every_clip_with_its_split_subject_and_errors(faqa_root):
    infos = reader(faqa_root).index()
    labels = label_files(faqa_root)
    splits = {
        key: split
        for split in ("train", "val", "test")
        for key in json.loads((faqa_root / "Splits" / f"{split}_keys.json").read_text())
    }
    assert [i.key for i in infos] == sorted(p.stem for p in (faqa_root / "videos").glob("*.mp4"))
    for info in infos:
        assert info.official_split == splits[info.key]
        assert (info.action, info.subject, info.views) == ("A01", "S01", (1,))
        assert info.sample_id == int(info.key.rsplit("_", 1)[1])
        observed = tuple(name for name in SQUAT_ERRORS if labels[name][info.key])
        assert info.error_names == observed
    assert any(info.error_names for info in infos)


@pytest.mark.parametrize("index", [0, 2, 9])
def test_read_returns_the_clip_and_the_labelled_spans(faqa_root, index):
    r = reader(faqa_root)
    info = r.index()[index]
    sample = r.read(info)
    frames, fps = read_mp4(faqa_root / "videos" / f"{info.key}.mp4")
    assert sample.video.values.shape == (len(frames), 1, *frames.shape[1:])
    np.testing.assert_array_equal(sample.video.values[:, 0], frames)
    assert sample.video.rate_hz == fps == 10
    labels = label_files(faqa_root)
    fkg_ids = {e.name: e.id for e in load_fkg().action("A01").errors}
    expected = [
        (name, tuple(labels[name][info.key]), fkg_ids[name])
        for name in SQUAT_ERRORS
        if labels[name][info.key]
    ]
    assert [(e.name, e.span_s, e.id) for e in sample.labels.errors] == expected
    assert sample.labels.labelled_errors == SQUAT_ERRORS and sample.labels.action == "A01"
    assert sample.labels.score is None
    assert (sample.pose, sample.emg, sample.physio) == (None, None, None)
    assert sample.provenance.subject == "S01" and sample.provenance.views == (1,)


def test_summary_says_once_that_pose_emg_and_physio_are_absent(faqa_root):
    summary = reader(faqa_root).summary()
    assert summary["samples"] == 12
    assert summary["missing"] == {"pose": 12, "emg": 12, "physio": 12}
    assert summary["notes"] == ["the Fitness-AQA layout has no pose, EMG or physio: they are None"]


def test_without_video_in_the_modalities_no_clip_is_decoded(faqa_root, monkeypatch):
    def no_decoding(path, fps, keep=None):
        raise AssertionError(f"decoded {path}")

    monkeypatch.setattr(fitness_aqa, "decode_mp4", no_decoding)
    r = reader(faqa_root, modalities=["pose"])
    samples = [r.read(key) for key in r.index()]
    assert all(s.present == () for s in samples)
    assert any(s.labels.errors for s in samples)  # labels are still read without any video
    assert r.summary()["missing"] == {"pose": 12}


def test_without_labels_errors_are_unknown(faqa_copy):
    shutil.rmtree(faqa_copy / "Labels")
    r = reader(faqa_copy, modalities=[])
    info = r.index()[0]
    assert info.error_names is None and info.action == "A01"
    assert r.read(info).labels.labelled_errors is None
    assert "no Labels/error_*.json files: errors unknown" in r.summary()["notes"]


def test_keys_of_another_shape_take_their_action_from_the_label_files(faqa_copy):
    labelled = next(i for i in reader(faqa_copy).index() if i.error_names)
    old, new = labelled.key, "clip0003"
    (faqa_copy / "videos" / f"{old}.mp4").rename(faqa_copy / "videos" / f"{new}.mp4")
    for path in (faqa_copy / "Labels").glob("*.json"):
        path.write_text(path.read_text().replace(old, new))
    info = next(i for i in reader(faqa_copy).index() if i.key == new)
    assert (info.action, info.subject, info.sample_id) == ("A01", None, None)
    assert info.error_names == labelled.error_names


def test_a_corrupt_mp4_is_named(faqa_copy):
    path = faqa_copy / "videos/BackSquat_S01_004.mp4"
    data = bytearray(path.read_bytes())
    data[:64] = bytes(64)
    path.write_bytes(bytes(data))
    error = read_error(reader(faqa_copy), "BackSquat_S01_004")
    assert error.path == str(path) and "decodable video" in error.problem


def test_an_mp4_with_damaged_frames_is_named(faqa_copy):
    path = faqa_copy / "videos/BackSquat_S01_005.mp4"
    data = bytearray(path.read_bytes())
    data[-200:] = bytes(200)
    path.write_bytes(bytes(data))
    error = read_error(reader(faqa_copy), "BackSquat_S01_005")
    assert error.path == str(path) and "decoded none" in error.problem


def test_a_missing_clip_is_an_error_when_the_others_exist(faqa_copy):
    path = faqa_copy / "videos/BackSquat_S01_006.mp4"
    path.unlink()
    error = read_error(reader(faqa_copy), "BackSquat_S01_006")
    assert error.path == str(path) and "11 other clips" in error.problem


def test_a_span_past_the_end_of_the_clip_is_named(faqa_copy):
    path = faqa_copy / "Labels/error_knees_forward.json"
    labels = json.loads(path.read_text())
    labels["BackSquat_S01_007"] = [1.0, 30.0]
    path.write_text(json.dumps(labels))
    error = read_error(reader(faqa_copy), "BackSquat_S01_007")
    assert (error.path, error.where) == (str(path), "key 'BackSquat_S01_007'")
    assert "after the" in error.problem


def test_a_malformed_span_is_named(faqa_copy):
    path = faqa_copy / "Labels/error_knees_inward.json"
    labels = json.loads(path.read_text())
    labels["BackSquat_S01_008"] = [2.0, 1.0]
    path.write_text(json.dumps(labels))
    with pytest.raises(DataError) as caught:
        reader(faqa_copy).index()
    assert (caught.value.path, caught.value.where) == (str(path), "key 'BackSquat_S01_008'")


def test_a_key_in_two_splits_is_named(faqa_copy):
    test_keys = json.loads((faqa_copy / "Splits/test_keys.json").read_text())
    path = faqa_copy / "Splits/train_keys.json"
    path.write_text(json.dumps(json.loads(path.read_text()) + test_keys[:1]))
    with pytest.raises(DataError) as caught:
        reader(faqa_copy).index()
    assert caught.value.path == str(faqa_copy / "Splits/test_keys.json")
    assert f"{test_keys[0]} is also in the train split" in caught.value.problem


def test_only_view_one_exists(faqa_root):
    with pytest.raises(ValueError, match="one view"):
        reader(faqa_root, views=[2, 5])


def test_a_frame_grid_keeps_the_same_frames_as_a_full_decode(faqa_root):
    r = reader(faqa_root)
    info = r.index()[0]
    full, grid = r.read(info), r.read(info, frames=6)
    rows = np.rint(grid.video.times * full.video.rate_hz).astype(int)
    assert grid.video.values.shape[0] == 6 and len(set(rows)) == 6
    assert np.array_equal(grid.video.values, full.video.values[rows])
    assert grid.duration_s == pytest.approx(full.video.duration_s)
