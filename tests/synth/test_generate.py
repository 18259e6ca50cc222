"""`fusion synth` end to end: layout, shapes, rates, labels, determinism, atomicity, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from fusion.cli import main
from fusion.constants import EMG_CHANNELS
from fusion.fkg.loader import DEFAULT_FKG_PATH
from fusion.fkg.scoring import score
from fusion.synth.encode import read_mp4
from fusion.synth.generate import SynthError, generate

LIMIT = 6


@pytest.fixture(scope="module")
def flex_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "flex"
    generate("small", root, seed=5, limit=LIMIT, workers=2, progress=False)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_whatever_the_worker_count(flex_root, tmp_path):
    again = tmp_path / "again"
    generate("small", again, seed=5, limit=LIMIT, workers=1, progress=False)
    assert _files(again) == _files(flex_root)
    other = tmp_path / "other"
    generate("small", other, seed=6, limit=2, workers=1, progress=False)
    assert _files(other)["EMG/A01/001/EMG.csv"] != _files(flex_root)["EMG/A01/001/EMG.csv"]


def test_every_file_of_the_flex_layout_has_its_documented_shape(flex_root, fkg):
    meta = json.loads((flex_root / "dataset.json").read_text())
    assert meta["summary"]["samples"] == LIMIT
    for sample in range(1, LIMIT + 1):
        ann = json.loads((flex_root / f"annotations/A01/{sample:03d}.json").read_text())
        n_frames, fps = ann["num_frames"], ann["sample_rates"]["video"]
        assert ann["duration_s"] == pytest.approx(n_frames / fps, abs=1e-3)
        for view in range(1, 6):
            frames = sorted((flex_root / f"A01/{sample:03d}/View-{view}").iterdir())
            assert [f.name for f in frames] == [f"img_{i:05d}.JPG" for i in range(1, n_frames + 1)]
            assert np.asarray(Image.open(frames[0])).shape == (208, 160, 3)
        skel_path = flex_root / f"Skeleton/A01/{sample:03d}/skeleton_points.csv"
        header = skel_path.read_text().splitlines()[0].split(",")
        assert header[:3] == ["head_x", "head_y", "head_z"] and len(header) == 63
        skel = np.loadtxt(skel_path, delimiter=",", skiprows=1)
        assert skel.shape == (n_frames, 63)
        assert 1200 < skel[:, 1].max() < 2100  # head height in millimetres
        emg = np.loadtxt(flex_root / f"EMG/A01/{sample:03d}/EMG.csv", delimiter=",")
        assert emg.shape == (round(ann["duration_s"] * 2000), len(EMG_CHANNELS))
        assert ann["sample_rates"]["emg"] == 2000 and ann["emg_channels"] == list(EMG_CHANNELS)
        physio = np.loadtxt(
            flex_root / f"Physio/A01/{sample:03d}/physio.csv", delimiter=",", skiprows=1
        )
        assert physio.shape[1] == 3 and np.allclose(np.diff(physio[:, 0]), 0.1)
        assert np.all((physio[:, 1] > 40) & (physio[:, 1] < 200))
        assert [p["name"] for p in ann["phases"]] == list(fkg.action("A01").phases)
        assert len(ann["cameras"]) == 5 and {"K", "R", "t"} <= set(ann["cameras"][0])


def test_annotation_score_is_the_fkg_formula(flex_root, fkg):
    for path in sorted((flex_root / "annotations/A01").glob("*.json")):
        ann = json.loads(path.read_text())
        expected = score(fkg.action("A01"), [e["id"] for e in ann["errors"]])
        assert ann["score"] == pytest.approx(expected, abs=1e-3)
        for error in ann["errors"]:
            start, end = next(
                (p["start_s"], p["end_s"]) for p in ann["phases"] if p["name"] == error["phase"]
            )
            assert start - 1e-6 <= error["span_s"][0] < error["span_s"][1] <= end + 1e-6


def test_split_mats_partition_the_samples(flex_root):
    train = scipy.io.loadmat(flex_root / "Split_4/split_4_train_list.mat")[
        "consolidated_train_list"
    ]
    test = scipy.io.loadmat(flex_root / "Split_4/split_4_test_list.mat")["consolidated_test_list"]
    assert train.shape[1] == test.shape[1] == 3
    ids = sorted(train[:, 1].tolist() + test[:, 1].tolist())
    assert ids == list(range(1, LIMIT + 1)) and set(train[:, 0]) | set(test[:, 0]) == {1}
    for row in np.concatenate([train, test]):
        ann = json.loads((flex_root / f"annotations/A01/{int(row[1]):03d}.json").read_text())
        assert row[2] == pytest.approx(ann["score"])


def test_views_show_different_images(flex_root):
    first = [
        np.asarray(Image.open(flex_root / f"A01/001/View-{v}/img_00005.JPG"), float)
        for v in range(1, 6)
    ]
    for a in range(5):
        for b in range(a + 1, 5):
            assert np.abs(first[a] - first[b]).mean() > 5


def test_emg_follows_the_squat(flex_root):
    """Quadriceps sEMG is louder in the squat's movement phases than in preparation."""
    ann = json.loads((flex_root / "annotations/A01/001.json").read_text())
    emg = np.loadtxt(flex_root / "EMG/A01/001/EMG.csv", delimiter=",")
    quad = [EMG_CHANNELS.index("quadriceps_left"), EMG_CHANNELS.index("quadriceps_right")]
    t = np.arange(len(emg)) / 2000
    prep_end = ann["phases"][0]["end_s"]
    work = (t > prep_end) & (t < ann["phases"][2]["end_s"])
    work_rms, prep_rms = (np.sqrt(np.mean(emg[m][:, quad] ** 2)) for m in (work, t < prep_end))
    assert work_rms > 2 * prep_rms


def test_fitness_aqa_layout(tmp_path):
    root = tmp_path / "faqa"
    generate("small", root, seed=1, fmt="fitness-aqa", limit=4, workers=1, progress=False)
    keys = sorted(p.stem for p in (root / "videos").glob("*.mp4"))
    assert len(keys) == 4
    frames, fps = read_mp4(root / "videos" / f"{keys[0]}.mp4")
    assert frames.shape[1:] == (208, 160, 3) and fps == pytest.approx(10)
    for name in ("knees_inward", "knees_forward", "elbows", "knees"):
        labels = json.loads((root / f"Labels/error_{name}.json").read_text())
        for span in labels.values():
            assert span == [] or (
                len(span) == 2 and 0 <= span[0] < span[1] <= len(frames) / fps + 1e-6
            )
    squat_keys = set(json.loads((root / "Labels/error_knees_inward.json").read_text()))
    assert squat_keys == {k for k in keys if k.startswith("BackSquat")}
    split_keys = [
        k
        for s in ("train", "val", "test")
        for k in json.loads((root / f"Splits/{s}_keys.json").read_text())
    ]
    assert sorted(split_keys) == keys


def test_existing_dataset_is_kept_or_replaced_only_with_force(flex_root, tmp_path):
    root = tmp_path / "ds"
    generate("small", root, seed=5, limit=2, workers=1, progress=False)
    before = _files(root)
    generate("small", root, seed=5, limit=2, workers=1, progress=False)  # same request: no-op
    assert _files(root) == before
    with pytest.raises(SynthError, match="different dataset.*--force"):
        generate("small", root, seed=9, limit=2, workers=1, progress=False)
    assert _files(root) == before
    generate("small", root, seed=9, limit=2, workers=1, progress=False, force=True)
    assert json.loads((root / "dataset.json").read_text())["seed"] == 9
    assert not list(tmp_path.glob(".ds.*-*"))  # no temporary or old folders left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "huge"], "unknown preset 'huge'"),
        (["--seed", "-1"], "seed -1 out of range"),
        (["--seed", str(2**32)], "out of range"),
    ],
)
def test_bad_requests_fail_with_one_line_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "ds"
    assert main(["synth", "--out", str(out), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_unwritable_output_and_broken_fkg_are_refused(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["synth", "--out", str(blocker / "ds"), "--quiet"]) == 2
    assert "not a writable folder" in capsys.readouterr().err
    broken = tmp_path / "fkg.yaml"
    broken.write_text(DEFAULT_FKG_PATH.read_text().replace("weight: 9.5", "weight: 3.0", 1))
    out = tmp_path / "ds"
    assert main(["synth", "--out", str(out), "--fkg", str(broken), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "fkg.yaml" in err and "weight" in err
    assert not out.exists()
