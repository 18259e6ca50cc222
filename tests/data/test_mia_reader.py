"""MIAReader on a small Muscles-in-Action folder made here: index, values, detection, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fusion.data.check import check_dataset
from fusion.data.config import ReaderConfig
from fusion.data.mia import MIA_CHANNELS, MIAReader
from fusion.data.readers import detect_format, open_reader
from fusion.data.sample import DataError
from fusion.data.skeletons import VIBE49, swap_side_tokens
from fusion.data.transforms.flip import hflip

SPLITS = ("train", "val")
SUBJECTS = ("Subject1", "Subject10")  # natural order: 1 before 10
EXERCISES = ("JumpingJack", "Squat")
IDS = (9, 10)
FRAMES, JOINTS = 30, 49


def write_mia(root: Path, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """2 splits x 2 subjects x 2 exercises x 2 clips: random (8, 30) EMG, (30, 49, 3) joints."""
    rng = np.random.default_rng(seed)
    written = {}
    for split in SPLITS:
        for subject in SUBJECTS:
            for exercise in EXERCISES:
                for clip in IDS:
                    key = f"{split}/{subject}/{exercise}/{clip}"
                    folder = root / key
                    folder.mkdir(parents=True)
                    emg = rng.random((8, FRAMES))
                    joints = rng.normal(size=(FRAMES, JOINTS, 3)).astype(np.float32)
                    np.save(folder / "emgvalues.npy", emg)
                    np.save(folder / "joints3d.npy", joints)
                    written[key] = (emg, joints)
    return written


@pytest.fixture()
def mia(tmp_path) -> tuple[Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    root = tmp_path / "MIADatasetOfficial"
    return root, write_mia(root)


def reader(root: Path, **options) -> MIAReader:
    return MIAReader(ReaderConfig(root=str(root), **options))


def read_key(r: MIAReader, key: str):
    return r.read(next(info for info in r.index() if info.key == key))


def read_error(root: Path, key: str, **options) -> DataError:
    r = reader(root, **options)
    with pytest.raises(DataError) as caught:
        read_key(r, key)
    return caught.value


KEY = "train/Subject1/Squat/9"


def test_index_lists_every_clip_by_split_subject_and_exercise(mia):
    root, written = mia
    infos = reader(root).index()
    expected = [
        f"{split}/{subject}/{exercise}/{clip}"
        for split in SPLITS
        for subject in SUBJECTS
        for exercise in EXERCISES
        for clip in IDS
    ]
    assert [info.key for info in infos] == expected and set(expected) == set(written)
    for info in infos:
        split, subject, exercise, clip = info.key.split("/")
        assert (info.dataset, info.action, info.subject) == ("mia", exercise, subject)
        assert info.official_split == split and info.sample_id == int(clip)
        assert info.views == () and info.score is None and info.error_names is None


def test_read_returns_exactly_what_was_written(mia):
    root, written = mia
    r = reader(root)
    for key in (KEY, "val/Subject10/JumpingJack/10"):
        emg, joints = written[key]
        sample = read_key(r, key)
        assert sample.emg.values.dtype == np.float32 and sample.emg.values.shape == (FRAMES, 8)
        np.testing.assert_allclose(sample.emg.values, emg.T, rtol=1e-6)
        np.testing.assert_array_equal(sample.pose.values, joints)
        assert sample.pose.values.dtype == np.float32
        for series in (sample.pose, sample.emg):
            assert series.rate_hz == 30.0
            np.testing.assert_allclose(series.times, np.arange(FRAMES) / 30.0)
        assert sample.emg_channels == MIA_CHANNELS and sample.skeleton == VIBE49.name
        assert sample.video is None and sample.physio is None
        assert sample.labels.action == key.split("/")[2] and sample.labels.score is None
        assert sample.provenance.dataset == "mia" and sample.provenance.subject == key.split("/")[1]
        assert sample.provenance.files == {
            "pose": str(root / key / "joints3d.npy"),
            "emg": str(root / key / "emgvalues.npy"),
        }


def test_the_frame_rate_comes_from_video_fps(mia):
    root, _ = mia
    sample = read_key(reader(root, video_fps=10), KEY)
    assert sample.pose.rate_hz == sample.emg.rate_hz == 10.0
    assert sample.emg.duration_s == pytest.approx(3.0)


def test_the_eight_channels_are_four_left_right_pairs(mia):
    root, written = mia
    channels = list(MIA_CHANNELS)
    partners = [swap_side_tokens(name) for name in channels]
    assert all(p in channels and p != name for name, p in zip(channels, partners, strict=True))
    assert len({frozenset(pair) for pair in zip(channels, partners, strict=True)}) == 4
    # The reference order: right quad, left quad, right ham, left ham, right/left glute, then
    # the biceps left first.
    assert channels[0].endswith("_right") and channels[6] == "biceps_left"
    flipped = hflip(read_key(reader(root), KEY))  # the flip transform pairs them, and the joints
    emg, joints = written[KEY]
    left_quad = channels.index("quadriceps_left")
    np.testing.assert_allclose(flipped.emg.values[:, left_quad], emg[0], rtol=1e-6)
    hip = VIBE49.joints.index("left_hip")
    np.testing.assert_allclose(
        flipped.pose.values[:, hip], joints[:, VIBE49.joints.index("right_hip")] * [-1, 1, 1]
    )


def test_the_format_is_detected_and_opened(mia, tmp_path):
    root, _ = mia
    assert detect_format(root) == "mia"
    opened = open_reader(ReaderConfig(root=str(root), format="auto"))
    assert isinstance(opened, MIAReader) and len(opened.index()) == 16
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"not a dataset: .*\(FLEX\).*\(MIA\)"):
        detect_format(tmp_path / "empty")
    (root / "EMG").mkdir()
    with pytest.raises(DataError, match="holds both FLEX and MIA folders"):
        detect_format(root)


def test_data_check_reads_every_clip(mia):
    root, _ = mia
    report = check_dataset(reader(root), progress=False)
    assert report.ok and (report.samples, report.readable) == (16, 16)
    assert report.splits == {"train": 8, "val": 8}
    assert report.present == {"video": 0, "pose": 16, "emg": 16, "physio": 0}


def test_summary_names_what_is_not_read(mia):
    root, _ = mia
    (root / "custom").mkdir()
    (root / KEY / "emgvalues.npy").unlink()
    summary = reader(root).summary()
    assert (summary["dataset"], summary["samples"]) == ("mia", 16)
    assert summary["missing"] == {"video": 16, "physio": 16}
    notes = " | ".join(summary["notes"])
    assert "MIA frames are not read" in notes and "1 sample folders lack emgvalues.npy" in notes
    assert "ignored: custom" in notes


def test_pose_only_reads_no_emg(mia):
    root, written = mia
    (root / KEY / "emgvalues.npy").write_bytes(b"not read")  # would fail if it were loaded
    sample = read_key(reader(root, modalities=["pose"]), KEY)
    assert sample.present == ("pose",) and sample.emg_channels == ()
    assert set(sample.provenance.files) == {"pose"}
    np.testing.assert_array_equal(sample.pose.values, written[KEY][1])


def test_other_joint_counts_and_channel_counts(mia):
    root, _ = mia
    np.save(root / KEY / "joints3d.npy", np.zeros((FRAMES, 25, 3)))
    np.save(root / KEY / "emgvalues.npy", np.ones((4, FRAMES)))
    sample = read_key(reader(root, emg_channels=4), KEY)
    assert sample.skeleton == "openpose25" and sample.emg_channels == (
        "ch00",
        "ch01",
        "ch02",
        "ch03",
    )
    np.save(root / KEY / "joints3d.npy", np.zeros((FRAMES, 1, 3)))
    assert read_key(reader(root, modalities=["pose"]), KEY).skeleton == "mia_1joints"


@pytest.mark.parametrize("name", ["emgvalues.npy", "joints3d.npy"])
def test_a_missing_file_is_named(mia, name):
    root, _ = mia
    path = root / KEY / name
    path.unlink()
    error = read_error(root, KEY)
    assert error.path == str(path) and "missing" in error.problem and name in error.problem


BAD_ARRAYS = [
    ("emgvalues.npy", np.zeros((FRAMES, 8)), {}, "expected shape (8, T)", "got (30, 8)"),
    ("emgvalues.npy", np.zeros((7, FRAMES)), {}, "8 muscles x T frames", "got (7, 30)"),
    ("emgvalues.npy", np.zeros((8, FRAMES, 1)), {}, "expected shape (8, T)", "got (8, 30, 1)"),
    ("emgvalues.npy", np.zeros((8, 0)), {}, "expected shape (8, T)", "got (8, 0)"),
    ("emgvalues.npy", np.zeros((8, FRAMES)), {"emg_channels": 16}, "(16, T)", "got (8, 30)"),
    ("emgvalues.npy", np.array(["a"] * 8), {}, "expected real numbers", "<U1"),
    ("joints3d.npy", np.zeros((FRAMES, JOINTS)), {}, "expected shape (T, J, 3)", "got (30, 49)"),
    ("joints3d.npy", np.zeros((FRAMES, JOINTS, 2)), {}, "frames x joints x xyz", "(30, 49, 2)"),
    ("joints3d.npy", np.zeros((FRAMES, 0, 3)), {}, "expected shape (T, J, 3)", "got (30, 0, 3)"),
]


@pytest.mark.parametrize(("name", "array", "options", "expected", "got"), BAD_ARRAYS)
def test_a_wrong_shape_or_dtype_says_what_was_expected(mia, name, array, options, expected, got):
    root, _ = mia
    path = root / KEY / name
    np.save(path, array)
    error = read_error(root, KEY, **options)
    assert error.path == str(path) and expected in error.problem and got in error.problem


def test_pose_and_emg_frame_counts_must_agree(mia):
    root, written = mia
    path = root / KEY / "joints3d.npy"
    np.save(path, written[KEY][1][:29])
    error = read_error(root, KEY)
    assert error.path == str(path) and error.where == "shape[0]"
    assert f"29 frames, expected 30 like {root / KEY / 'emgvalues.npy'}" in error.problem
    assert read_key(reader(root, modalities=["pose"]), KEY).pose.values.shape[0] == 29


@pytest.mark.parametrize(
    ("name", "index"), [("emgvalues.npy", (3, 12)), ("joints3d.npy", (5, 7, 2))]
)
def test_a_non_finite_value_is_located(mia, name, index):
    root, written = mia
    path = root / KEY / name
    values = written[KEY][0 if name == "emgvalues.npy" else 1].copy()
    values[index] = np.nan if name == "emgvalues.npy" else np.inf
    np.save(path, values)
    error = read_error(root, KEY)
    assert (error.path, error.where) == (str(path), f"index {list(index)}")
    assert "expected a finite number" in error.problem


@pytest.mark.parametrize(
    "content",
    [b"not an array", b"", np.lib.format.MAGIC_PREFIX + b"\x01\x00truncated"],
    ids=["garbage", "empty", "truncated"],
)
def test_a_file_numpy_cannot_load_is_named(mia, content):
    root, _ = mia
    path = root / KEY / "emgvalues.npy"
    path.write_bytes(content)
    error = read_error(root, KEY)
    assert error.path == str(path) and "expected a .npy array numpy can load" in error.problem


def test_a_pickled_array_is_refused(mia):
    root, _ = mia
    path = root / KEY / "joints3d.npy"
    np.save(path, np.array([{"joints": 1}], dtype=object), allow_pickle=True)
    error = read_error(root, KEY)
    assert error.path == str(path) and "numpy can load" in error.problem


@pytest.mark.parametrize("layout", ["empty", "split-without-samples", "root-is-a-split"])
def test_a_root_without_samples_is_an_error(tmp_path, layout):
    root = tmp_path / "ds"
    if layout == "split-without-samples":
        (root / "train" / "Subject0" / "Squat").mkdir(parents=True)
    elif layout == "root-is-a-split":
        write_mia(tmp_path / "copy")
        root = tmp_path / "copy" / "train"
    else:
        root.mkdir()
    r = reader(root)
    for call in (r.index, r.summary):
        with pytest.raises(DataError) as caught:
            call()
        assert caught.value.path == str(root)
        assert "expected train/, val/ or test/ folders" in caught.value.problem


def test_views_are_refused(mia):
    root, _ = mia
    with pytest.raises(ValueError, match="without video"):
        reader(root, views=[1])
