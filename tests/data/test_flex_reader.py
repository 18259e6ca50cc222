"""FlexReader against the generator: every field read back, the fallbacks, and each bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from fusion.constants import EMG_CHANNELS
from fusion.data import flex
from fusion.data.config import ReaderConfig
from fusion.data.flex import FlexReader
from fusion.data.sample import DataError, SampleInfo
from fusion.fkg.loader import load_fkg


def reader(root: Path, **options) -> FlexReader:
    return FlexReader(ReaderConfig(root=str(root), **options))


def info_of(r: FlexReader, key: str) -> SampleInfo:
    return next(info for info in r.index() if info.key == key)


def annotation(root: Path, key: str) -> dict:
    return json.loads((root / "annotations" / f"{key}.json").read_text())


def split_rows(root: Path) -> dict[str, tuple[str, float]]:
    """key -> (split, score) straight from the Split_4 .mat files."""
    rows = {}
    for split in ("train", "test"):
        mat = scipy.io.loadmat(root / "Split_4" / f"split_4_{split}_list.mat")
        for action, sample, score in mat[f"consolidated_{split}_list"][:, :3]:
            rows[f"A{int(action):02d}/{int(sample):03d}"] = (split, float(score))
    return rows


def pil_frames(folder: Path) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.iterdir())])


def read_error(r: FlexReader, key: str) -> DataError:
    with pytest.raises(DataError) as caught:
        r.read(info_of(r, key))
    return caught.value


def test_index_lists_every_sample_with_its_labels_and_split(flex_root):
    infos = reader(flex_root).index()
    rows = split_rows(flex_root)
    assert [i.key for i in infos] == [f"A01/{n:03d}" for n in range(1, 13)]
    assert set(rows) == {i.key for i in infos}
    for info in infos:
        ann = annotation(flex_root, info.key)
        assert info.official_split == rows[info.key][0]
        assert info.score == pytest.approx(rows[info.key][1]) == pytest.approx(ann["score"])
        assert info.subject == ann["subject"]["id"] and info.skill == ann["skill"]
        assert info.error_names == tuple(e["name"] for e in ann["errors"])
        assert info.views == (1, 2, 3, 4, 5) and info.action == "A01"
    assert {i.official_split for i in infos} == {"train", "test"}


@pytest.mark.parametrize("key", ["A01/001", "A01/012"])
def test_read_returns_exactly_what_the_generator_wrote(flex_root, key):
    sample = reader(flex_root).read(info_of(reader(flex_root), key))
    ann = annotation(flex_root, key)
    rates = ann["sample_rates"]
    video = sample.video.values
    assert video.shape[:2] == (ann["num_frames"], 5) and video.dtype == np.uint8
    for view in range(1, 6):
        np.testing.assert_array_equal(
            video[:, view - 1], pil_frames(flex_root / key / f"View-{view}")
        )
    assert sample.video.rate_hz == rates["video"]

    skeleton_csv = flex_root / "Skeleton" / key / "skeleton_points.csv"
    expected_pose = np.loadtxt(skeleton_csv, delimiter=",", skiprows=1).reshape(-1, 21, 3) / 1000
    np.testing.assert_allclose(sample.pose.values, expected_pose, rtol=1e-6, atol=1e-7)
    assert sample.pose.rate_hz == rates["skeleton"] and sample.skeleton == "flex21"

    expected_emg = np.loadtxt(flex_root / "EMG" / key / "EMG.csv", delimiter=",")
    np.testing.assert_allclose(sample.emg.values, expected_emg, rtol=1e-6)
    assert sample.emg.values.dtype == np.float32 and sample.emg.rate_hz == 2000
    assert sample.emg_channels == tuple(ann["emg_channels"]) == EMG_CHANNELS
    np.testing.assert_allclose(sample.emg.times[:3], [0, 0.0005, 0.001])

    physio = np.loadtxt(flex_root / "Physio" / key / "physio.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(sample.physio.values, physio[:, 1:], rtol=1e-6)
    np.testing.assert_allclose(sample.physio.times, physio[:, 0])
    assert sample.physio.rate_hz == pytest.approx(rates["physio"])

    labels = sample.labels
    assert labels.action == ann["action"] and labels.score == ann["score"]
    assert labels.skill == ann["skill"] and labels.feedback == tuple(ann["feedback"])
    assert [(p.name, p.start_s, p.end_s) for p in labels.phases] == [
        (p["name"], p["start_s"], p["end_s"]) for p in ann["phases"]
    ]
    assert [(e.name, e.id, e.span_s, e.side, e.magnitude) for e in labels.errors] == [
        (e["name"], e["id"], tuple(e["span_s"]), e["side"], e["magnitude"]) for e in ann["errors"]
    ]
    assert labels.labelled_errors == tuple(e.name for e in load_fkg().action("A01").errors)
    assert sample.provenance.subject == ann["subject"]["id"]
    assert sample.provenance.views == (1, 2, 3, 4, 5)
    assert sample.provenance.files["emg"] == str(flex_root / "EMG" / key / "EMG.csv")


def test_without_annotations_scores_come_from_the_split_files(flex_subset):
    root = flex_subset(3)
    shutil.rmtree(root / "annotations")
    r = reader(root, video_fps=10)
    rows = split_rows(root)
    infos = r.index()
    assert all(i.score == pytest.approx(rows[i.key][1]) for i in infos)
    assert all(i.error_names is None and i.subject is None for i in infos)
    sample = r.read(infos[2])
    assert sample.labels.score == pytest.approx(rows["A01/003"][1])
    assert sample.labels.labelled_errors is None and sample.labels.errors == ()
    assert sample.emg_channels == EMG_CHANNELS and sample.video.rate_hz == 10
    assert sample.pose.rate_hz == 10  # one skeleton row per frame
    assert (
        "no annotations/ folder: scores from Split_4 .mat, errors unknown" in r.summary()["notes"]
    )


def test_without_annotations_a_wrong_frame_rate_shows_as_a_length_mismatch(flex_subset):
    root = flex_subset(3)
    frames = annotation(root, "A01/001")["num_frames"]  # written at 10 fps
    rows = len((root / "EMG/A01/001/EMG.csv").read_text().splitlines())
    shutil.rmtree(root / "annotations")
    error = read_error(reader(root, modalities=["video", "emg"]), "A01/001")  # 30 fps
    assert error.path == str(root / "EMG/A01/001/EMG.csv") and error.where == "length"
    expected = f"{rows} rows at 2000 Hz = {rows / 2000:.3f} s, expected {frames / 30:.3f} s"
    assert expected in error.problem


def test_without_physio_the_modality_is_none_and_counted_once(flex_subset):
    root = flex_subset(3)
    shutil.rmtree(root / "Physio")
    r = reader(root, modalities=["physio", "emg"])
    sample = r.read(r.index()[0])
    assert sample.physio is None and sample.emg is not None
    assert r.summary()["missing"] == {"physio": 3}


def test_views_are_read_in_the_configured_order(flex_root):
    r = reader(flex_root, views=[5, 2], modalities=["video"])
    info = r.index()[0]
    sample = r.read(info)
    assert info.views == (5, 2) and sample.provenance.views == (5, 2)
    assert sample.video.values.shape[1] == 2
    np.testing.assert_array_equal(
        sample.video.values[:, 0], pil_frames(flex_root / "A01/001/View-5")
    )
    np.testing.assert_array_equal(
        sample.video.values[:, 1], pil_frames(flex_root / "A01/001/View-2")
    )


def test_pose_only_decodes_no_video(flex_root, monkeypatch):
    def no_decoding(path):
        raise AssertionError(f"decoded {path}")

    monkeypatch.setattr(flex, "decode_jpeg", no_decoding)
    r = reader(flex_root, modalities=["pose"])
    sample = r.read(r.index()[0])
    assert sample.present == ("pose",) and sample.provenance.views == ()
    assert set(sample.provenance.files) == {"annotation", "pose"}


def test_the_doubled_skeleton_folder_of_some_copies_is_accepted(flex_subset, flex_root):
    root = flex_subset(3)
    (root / "Skeleton" / "Skeleton").mkdir()
    shutil.move(root / "Skeleton" / "A01", root / "Skeleton" / "Skeleton" / "A01")
    r = reader(root, modalities=["pose"])
    pose = r.read(r.index()[0]).pose.values
    np.testing.assert_array_equal(
        pose, reader(flex_root, modalities=["pose"]).read(r.index()[0]).pose.values
    )
    assert any("Skeleton/Skeleton" in note for note in r.summary()["notes"])


def test_a_truncated_csv_names_its_last_line(flex_subset):
    root = flex_subset(3)
    path = root / "EMG/A01/002/EMG.csv"
    lines = path.read_bytes().count(b"\n")
    path.write_bytes(path.read_bytes()[:-40])
    error = read_error(reader(root, modalities=["emg"]), "A01/002")
    assert error.path == str(path) and error.where == f"line {lines}"
    assert "expected 16 values like line 1" in error.problem and "truncated" in error.problem


def test_nan_in_emg_names_the_line_and_column(flex_subset):
    root = flex_subset(3)
    path = root / "EMG/A01/003/EMG.csv"
    lines = path.read_text().splitlines()
    fields = lines[99].split(",")
    fields[2] = "nan"
    lines[99] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    error = read_error(reader(root, modalities=["emg"]), "A01/003")
    assert (error.path, error.where) == (str(path), "line 100, column 3")
    assert "finite" in error.problem


@pytest.mark.parametrize("drop_annotations", [False, True])
def test_fifteen_emg_columns_when_sixteen_are_expected(flex_subset, drop_annotations):
    root = flex_subset(3)
    path = root / "EMG/A01/002/EMG.csv"
    path.write_text(
        "".join(line.rsplit(",", 1)[0] + "\n" for line in path.read_text().splitlines())
    )
    options = {"modalities": ["emg"]}
    if drop_annotations:
        shutil.rmtree(root / "annotations")
        options["emg_channels"] = 16
    error = read_error(reader(root, **options), "A01/002")
    assert error.path == str(path) and "expected 16 columns" in error.problem
    assert "got 15" in error.problem
    if drop_annotations:
        with_defaults = reader(root, modalities=["emg"])
        assert with_defaults.read(info_of(with_defaults, "A01/002")).emg_channels[-1] == "ch14"


def test_a_deleted_jpeg_is_named(flex_subset):
    root = flex_subset(3)
    middle = root / "A01/002/View-3/img_00010.JPG"
    middle.unlink()
    error = read_error(reader(root, modalities=["video"]), "A01/002")
    assert error.path == str(middle) and "missing frame" in error.problem


def test_views_with_different_frame_counts_name_the_missing_frame(flex_subset):
    root = flex_subset(3)
    shutil.rmtree(root / "annotations")
    frames = sorted((root / "A01/002/View-4").iterdir())
    frames[-1].unlink()
    error = read_error(reader(root, modalities=["video"], video_fps=10), "A01/002")
    assert (
        error.path == str(frames[-1]) and f"expected {len(frames)} (like View-1)" in error.problem
    )


def test_a_corrupt_jpeg_is_named(flex_subset):
    root = flex_subset(3)
    path = root / "A01/002/View-2/img_00003.JPG"
    data = bytearray(path.read_bytes())
    data[:64] = bytes(64)
    path.write_bytes(bytes(data))
    error = read_error(reader(root, modalities=["video"]), "A01/002")
    assert error.path == str(path) and "decodable JPEG" in error.problem


@pytest.mark.parametrize("with_annotations", [True, False])
def test_skeleton_rows_disagreeing_with_the_video_are_an_error(flex_subset, with_annotations):
    root = flex_subset(3)
    path = root / "Skeleton/A01/002/skeleton_points.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-8]))  # 8 frames short at 10 fps: 0.8 s
    if not with_annotations:
        shutil.rmtree(root / "annotations")
    r = reader(root, modalities=["video", "pose"], video_fps=10)
    error = read_error(r, "A01/002")
    assert error.path == str(path) and error.where == "length"
    reference = "annotation duration_s" if with_annotations else "the video in"
    assert f"{len(lines) - 9} rows at 10 Hz" in error.problem and reference in error.problem


def test_a_file_missing_for_one_sample_only_is_an_error(flex_subset):
    root = flex_subset(3)
    path = root / "Physio/A01/002/physio.csv"
    path.unlink()
    error = read_error(reader(root, modalities=["physio"]), "A01/002")
    assert error.path == str(path) and "2 other samples" in error.problem


def test_an_annotation_error_unknown_to_the_fkg_is_named(flex_subset):
    root = flex_subset(3)
    path = root / "annotations/A01/002.json"
    data = json.loads(path.read_text())
    data["errors"] = [{"name": "wobbly_ankles", "span_s": [0.5, 1.0]}]
    path.write_text(json.dumps(data))
    with pytest.raises(DataError) as caught:
        reader(root).index()
    assert caught.value.path == str(path) and caught.value.where == "errors[0].name"


def test_a_corrupt_split_file_is_named(flex_subset):
    root = flex_subset(3)
    path = root / "Split_4/split_4_test_list.mat"
    path.write_bytes(b"not a mat file" * 20)
    with pytest.raises(DataError) as caught:
        reader(root).index()
    assert caught.value.path == str(path)


def test_a_frame_grid_decodes_only_its_frames_and_keeps_the_full_length(flex_root, monkeypatch):
    r = reader(flex_root)
    info = r.index()[0]
    full = r.read(info)
    decoded = []
    monkeypatch.setattr(flex, "decode_jpeg", lambda path: decoded.append(path) or full_frame)
    full_frame = full.video.values[0, 0]
    grid = r.read(info, frames=5)
    assert len(decoded) == 5 * len(grid.provenance.views)
    rows = np.rint(grid.video.times * full.video.rate_hz).astype(int)
    assert len(rows) == 5 and rows[-1] < len(full.video.times)
    np.testing.assert_allclose(grid.video.times, full.video.times[rows])
    assert grid.duration_s == pytest.approx(full.video.duration_s)
    assert np.array_equal(grid.pose.values, full.pose.values)


def test_annotated_cameras_project_the_skeleton_into_each_view(flex_root):
    r = reader(flex_root)
    sample = r.read(r.index()[0])
    assert sorted(sample.cameras) == list(sample.provenance.views)
    height, width = sample.video.values.shape[2:4]
    for camera in sample.cameras.values():
        pixels, depth = camera.project(sample.pose.values)
        assert (depth > 1.0).all() and (camera.width, camera.height) == (width, height)
        assert (pixels >= 0).all() and (pixels[..., 0] < width).all()
        assert (pixels[..., 1] < height).all()


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda cams: cams[1].update(R=[[1, 0, 0], [0, 2, 0], [0, 0, 1]]), "cameras[1].R"),
        (lambda cams: cams[0].update(K=[[1, 0], [0, 1]]), "cameras[0].K"),
        (lambda cams: cams[2].update(width=0), "cameras[2]"),
    ],
)
def test_a_bad_camera_is_named(flex_subset, change, where):
    root = flex_subset(3)
    path = root / "annotations/A01/002.json"
    data = json.loads(path.read_text())
    change(data["cameras"])
    path.write_text(json.dumps(data))
    with pytest.raises(DataError) as caught:
        reader(root).index()
    assert caught.value.path == str(path) and caught.value.where == where
